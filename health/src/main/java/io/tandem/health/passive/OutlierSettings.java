package io.tandem.health.passive;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * How passive outlier detection ejects backends (Envoy's {@code outlier_detection}, nginx's
 * {@code max_fails}/{@code fail_timeout}, HAProxy's {@code observe layer4} + {@code error-limit}).
 *
 * @param consecutiveFailures failures in a row (no success between, none older than
 *                            {@code decay}) that eject a backend; 1 = the first refused connect
 * @param baseEjection        how long the first ejection lasts; ejection n lasts
 *                            {@code baseEjection × 2^(n-1)}
 * @param maxEjection         cap on one ejection's length
 * @param maxEjectedFraction  at most this fraction of the backend set is ejected at once
 *                            (rounded down); a failure that would exceed it is reported, not acted on
 * @param decay               a failure streak is forgotten when its last failure is older than this;
 *                            the back-off level drops by one for every {@code decay} a backend spends
 *                            in rotation without being ejected
 */
public record OutlierSettings(int consecutiveFailures, Duration baseEjection, Duration maxEjection,
                              double maxEjectedFraction, Duration decay) {

    /** Eject on the first failure for 1 s, doubling to 60 s; at most half the set; 10 s decay. */
    public static final OutlierSettings DEFAULTS = new OutlierSettings(
            1, Duration.ofSeconds(1), Duration.ofSeconds(60), 0.5, Duration.ofSeconds(10));

    public OutlierSettings {
        requireNonNull(baseEjection, "baseEjection");
        requireNonNull(maxEjection, "maxEjection");
        requireNonNull(decay, "decay");
        if (consecutiveFailures < 1) {
            throw new IllegalArgumentException("consecutiveFailures: " + consecutiveFailures + " (expected >= 1)");
        }
        if (baseEjection.isNegative() || baseEjection.isZero()) {
            throw new IllegalArgumentException("baseEjection: " + baseEjection + " (expected > 0)");
        }
        if (maxEjection.compareTo(baseEjection) < 0) {
            throw new IllegalArgumentException("maxEjection: " + maxEjection + " (expected >= baseEjection " + baseEjection + ")");
        }
        if (!(maxEjectedFraction >= 0 && maxEjectedFraction <= 1)) {
            throw new IllegalArgumentException("maxEjectedFraction: " + maxEjectedFraction + " (expected 0..1)");
        }
        if (decay.isNegative() || decay.isZero()) {
            throw new IllegalArgumentException("decay: " + decay + " (expected > 0)");
        }
    }
}
