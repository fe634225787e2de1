package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;

/**
 * How a VIP routes around failing backends, beyond the active check itself.
 *
 * @param trustNewBackends      with an active check: false (default) = a new backend takes no traffic
 *                              until its first check passes; true = eligible at once
 * @param outlierDetection      passive detection from live traffic
 * @param panicThresholdPercent when fewer than this share of the VIP's backends are eligible, route to
 *                              all of them (except those an operator drained or disabled) rather than
 *                              overload the few left; 0 (default) = only when none is eligible
 * @param slowStart             a backend that becomes eligible again ramps its weight up over this window
 *                              ({@link Duration#ZERO} = off)
 * @param closeOnBackendDown    close established connections to a backend when it is marked down or
 *                              ejected (HAProxy {@code on-marked-down shutdown-sessions}), so clients stuck
 *                              on a hung backend reconnect to a healthy one
 * @param agentCheck            an agent on each backend that reports its state and weight (HAProxy
 *                              {@code agent-check}), beside the active check
 */
public record HealthPolicy(boolean trustNewBackends, OutlierDetection outlierDetection, int panicThresholdPercent,
                           Duration slowStart, boolean closeOnBackendDown, Optional<AgentCheck> agentCheck) {
    public static final HealthPolicy DEFAULTS =
            new HealthPolicy(false, OutlierDetection.DEFAULTS, 0, Duration.ZERO, false);

    public HealthPolicy {
        requireNonNull(outlierDetection, "outlierDetection");
        requireNonNull(slowStart, "slowStart");
        requireNonNull(agentCheck, "agentCheck");
    }

    /** Without an agent check. */
    public HealthPolicy(boolean trustNewBackends, OutlierDetection outlierDetection, int panicThresholdPercent,
                        Duration slowStart, boolean closeOnBackendDown) {
        this(trustNewBackends, outlierDetection, panicThresholdPercent, slowStart, closeOnBackendDown,
                Optional.empty());
    }
}
