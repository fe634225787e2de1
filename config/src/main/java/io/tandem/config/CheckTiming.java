package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * When and how often a health check runs, with HAProxy semantics: {@code rise} consecutive
 * passes mark a backend up, {@code fall} consecutive failures mark it down; {@code fastInterval}
 * applies while a backend is transitioning (some but not enough results), {@code downInterval}
 * while it is down. {@code jitter} is a fraction (0..0.5) of the interval added at random so
 * checks of many backends do not fire together.
 */
public record CheckTiming(Duration interval, Duration timeout, int rise, int fall, double jitter,
                          Duration fastInterval, Duration downInterval, Watch watch) {
    /** Millisecond-scale defaults: a dead backend is marked down within ~2 × 50 ms of checks. */
    public static final CheckTiming DEFAULTS = new CheckTiming(
            Duration.ofMillis(500), Duration.ofMillis(250), 2, 2, 0.1,
            Duration.ofMillis(50), Duration.ofMillis(500));

    /**
     * Whether the check holds a connection open to the backend between probes (a <em>watch</em>):
     * its FIN or RST — the kernel sends one the instant the backend process dies — starts a probe
     * at once instead of at the next interval, so a death is seen without traffic. {@code AUTO}:
     * on for {@code tcp} checks, off for the others (HTTP servers close idle connections; a UDP
     * check has no connection).
     */
    public enum Watch {
        AUTO, ON, OFF
    }

    public CheckTiming {
        requireNonNull(interval, "interval");
        requireNonNull(timeout, "timeout");
        requireNonNull(fastInterval, "fastInterval");
        requireNonNull(downInterval, "downInterval");
        requireNonNull(watch, "watch");
    }

    /** With the watch left to the check's type ({@link Watch#AUTO}). */
    public CheckTiming(Duration interval, Duration timeout, int rise, int fall, double jitter,
                       Duration fastInterval, Duration downInterval) {
        this(interval, timeout, rise, fall, jitter, fastInterval, downInterval, Watch.AUTO);
    }
}
