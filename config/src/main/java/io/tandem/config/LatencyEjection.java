package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Latency outlier ejection ({@code outlier_detection.latency}): every {@code interval}, each
 * backend's mean time to first byte over that interval is compared with the median of the VIP's
 * backends; one at least {@code factor} times the median and at least {@code minLatency} is
 * ejected like any passive ejection (back-off, {@code max_ejection_percent}). Only backends with
 * {@code minSamples} connections in the interval take part, and only when {@code minBackends}
 * do. Off by default: at layer 4 the time to first byte is a latency only for protocols whose
 * client speaks first and whose server answers at once; on a long poll or a pub/sub stream it
 * measures how long the client waited for news.
 *
 * @param enabled     whether latency ejection runs
 * @param factor      how many times the median a mean must be to count as slow (> 1)
 * @param minLatency  a mean below this is never slow, whatever the median (a 2 ms backend among 0.5 ms ones)
 * @param minSamples  connections a backend needs in an interval to be judged or counted in the median
 * @param minBackends backends with enough samples needed before anything is judged
 * @param interval    the evaluation period and window
 */
public record LatencyEjection(boolean enabled, double factor, Duration minLatency, int minSamples, int minBackends,
                              Duration interval) {
    public static final LatencyEjection DEFAULTS = new LatencyEjection(false, 3.0, Duration.ofMillis(100), 20, 3,
            Duration.ofSeconds(5));

    public LatencyEjection {
        requireNonNull(minLatency, "minLatency");
        requireNonNull(interval, "interval");
        if (!(factor > 1.0)) {
            throw new IllegalArgumentException("factor: " + factor + " (expected > 1)");
        }
        if (minSamples < 1) {
            throw new IllegalArgumentException("minSamples: " + minSamples + " (expected >= 1)");
        }
        if (minBackends < 2) {
            throw new IllegalArgumentException("minBackends: " + minBackends + " (expected >= 2)");
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval: " + interval + " (expected > 0)");
        }
    }
}
