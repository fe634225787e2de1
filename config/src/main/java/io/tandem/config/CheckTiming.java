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
    /**
     * Sized for issue 18's goals on an idle VIP, from the fault: a silent host or a hung process
     * (an application check) is marked down at worst interval × 1.1 + timeout + fast_interval × 1.1
     * + timeout = 110 + 75 + 22 + 75 ≈ 282 ms after it stops answering (≤ 300 ms); a dead process
     * within milliseconds (the watch connection). That is ~10 probes/s per backend: affordable since
     * a probe costs little beside its connect (perf/results/detection-latest; was 500/250/50 ms).
     */
    public static final CheckTiming DEFAULTS = new CheckTiming(
            Duration.ofMillis(100), Duration.ofMillis(75), 2, 2, 0.1,
            Duration.ofMillis(20), Duration.ofMillis(500));

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
