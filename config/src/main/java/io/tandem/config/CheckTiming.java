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
                          Duration fastInterval, Duration downInterval) {
    /** Millisecond-scale defaults: a dead backend is marked down within ~2 × 50 ms of checks. */
    public static final CheckTiming DEFAULTS = new CheckTiming(
            Duration.ofMillis(500), Duration.ofMillis(250), 2, 2, 0.1,
            Duration.ofMillis(50), Duration.ofMillis(500));

    public CheckTiming {
        requireNonNull(interval, "interval");
        requireNonNull(timeout, "timeout");
        requireNonNull(fastInterval, "fastInterval");
        requireNonNull(downInterval, "downInterval");
    }
}
