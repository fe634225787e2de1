package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Passive (outlier) detection from live traffic, per VIP (Envoy {@code outlier_detection}, HAProxy
 * {@code observe layer4}). A backend that fails {@code consecutiveFailures} connects in a row is
 * ejected for {@code baseEjectionTime}, doubling for repeat offenders up to {@code maxEjectionTime};
 * never more than {@code maxEjectionPercent} of a VIP's backends are ejected at once, so a cascade
 * cannot empty a pool. An ejection also triggers an immediate active re-probe.
 *
 * @param consecutiveFailures 0 = passive detection off; 1 (default) ejects on the first refused connect
 * @param responseTimeout     hung-backend detection: {@link Duration#ZERO} = off
 * @param closedBeforeResponse which end of a connection by the backend before its first byte (after
 *                             the client's) is a failure: {@link ClosedBeforeResponse#RESET} by default
 * @param latency             latency outlier ejection (off by default)
 */
public record OutlierDetection(int consecutiveFailures, Duration baseEjectionTime, Duration maxEjectionTime,
                               int maxEjectionPercent, Duration responseTimeout,
                               ResponseTimeoutMode responseTimeoutMode, ClosedBeforeResponse closedBeforeResponse,
                               LatencyEjection latency) {
    public static final OutlierDetection DEFAULTS = new OutlierDetection(1, Duration.ofSeconds(1),
            Duration.ofSeconds(60), 50, Duration.ZERO, ResponseTimeoutMode.FIRST_RESPONSE);

    public OutlierDetection {
        requireNonNull(baseEjectionTime, "baseEjectionTime");
        requireNonNull(maxEjectionTime, "maxEjectionTime");
        requireNonNull(responseTimeout, "responseTimeout");
        requireNonNull(responseTimeoutMode, "responseTimeoutMode");
        requireNonNull(closedBeforeResponse, "closedBeforeResponse");
        requireNonNull(latency, "latency");
    }

    /** The settings before closed-before-response and latency ejection, with their defaults. */
    public OutlierDetection(int consecutiveFailures, Duration baseEjectionTime, Duration maxEjectionTime,
                            int maxEjectionPercent, Duration responseTimeout, ResponseTimeoutMode responseTimeoutMode) {
        this(consecutiveFailures, baseEjectionTime, maxEjectionTime, maxEjectionPercent, responseTimeout,
                responseTimeoutMode, ClosedBeforeResponse.RESET, LatencyEjection.DEFAULTS);
    }

    /** These settings with {@code closedBeforeResponse}. */
    public OutlierDetection withClosedBeforeResponse(ClosedBeforeResponse closedBeforeResponse) {
        return new OutlierDetection(consecutiveFailures, baseEjectionTime, maxEjectionTime, maxEjectionPercent,
                responseTimeout, responseTimeoutMode, closedBeforeResponse, latency);
    }

    /** These settings with {@code latency}. */
    public OutlierDetection withLatency(LatencyEjection latency) {
        return new OutlierDetection(consecutiveFailures, baseEjectionTime, maxEjectionTime, maxEjectionPercent,
                responseTimeout, responseTimeoutMode, closedBeforeResponse, latency);
    }

    public boolean enabled() {
        return consecutiveFailures > 0;
    }
}
