package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import io.tandem.config.VipConfig;
import io.tandem.core.vip.Vip;
import io.tandem.health.passive.OutlierDetector;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;

/** The control loop's record of one VIP. Confined to the control loop thread. */
final class VipState {
    VipConfig config;
    final Vip vip;
    Bound listener;
    final Map<HostPort, BackendState> backends = new LinkedHashMap<>();
    long poolGeneration;
    /**
     * Static backends written as a host name that has no address now, each held as an ineligible
     * placeholder with flag {@code UNRESOLVED} and its reason: shown, never in a pool, never checked.
     */
    final Map<HostPort, BackendState> unresolved = new LinkedHashMap<>();
    boolean panic;
    /** No backend has passed a check and some await their first: the pool routes to those (not panic). */
    boolean warming;
    java.time.Instant warmingSince;
    /** Passive detection; null when the VIP has it switched off. */
    OutlierDetector<HostPort> outliers;
    ScheduledFuture<?> ejectionTimer;
    ScheduledFuture<?> rampTimer;

    /** A bound listener of either protocol: where it listens, and how to stop it. */
    record Bound(java.util.function.Supplier<java.net.InetSocketAddress> address,
                 java.util.function.Supplier<java.util.concurrent.CompletableFuture<Void>> closer) {
        java.net.InetSocketAddress localAddress() {
            return address.get();
        }

        java.util.concurrent.CompletableFuture<Void> close() {
            return closer.get();
        }
    }

    VipState(VipConfig config, Vip vip) {
        this.config = requireNonNull(config, "config");
        this.vip = requireNonNull(vip, "vip");
    }
}
