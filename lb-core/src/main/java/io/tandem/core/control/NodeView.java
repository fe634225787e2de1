package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.health.HealthFlag;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A read-only picture of the node for the admin API and {@code tandem status}. Built on
 * demand from the control loop's state plus live counters; plain records so it serialises
 * to JSON as-is.
 */
public record NodeView(String node, Instant startedAt, String transport, String configSource,
                       long configGeneration, Instant configLoadedAt, boolean ready, boolean draining,
                       List<VipView> vips, List<SourceView> sources, Map<String, String> namedVips) {

    public NodeView {
        vips = List.copyOf(vips);
        sources = List.copyOf(sources == null ? List.of() : sources);
        namedVips = Map.copyOf(namedVips == null ? Map.of() : namedVips);
    }

    /** A node without discovery sources. */
    public NodeView(String node, Instant startedAt, String transport, String configSource, long configGeneration,
                    Instant configLoadedAt, boolean ready, boolean draining, List<VipView> vips) {
        this(node, startedAt, transport, configSource, configGeneration, configLoadedAt, ready, draining, vips,
                List.of(), Map.of());
    }

    /**
     * A discovery source: whether its upstream is live, since when it serves last-known (stale)
     * membership, its last error and event, malformed entries dropped, and what it currently knows.
     */
    public record SourceView(String name, boolean connected, boolean stale, Optional<Instant> staleSince,
                             Optional<String> lastError, Optional<Instant> lastEventAt, long droppedEntries,
                             int services, int endpoints) {
    }

    public Optional<VipView> vip(String name) {
        return vips.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    /** One VIP: its listener, policy, whether it is in panic mode, counters and backends. */
    public record VipView(String name, String listen, String protocol, String policy, String relay,
                          String proxyProtocol, boolean listening, boolean panic, long poolGeneration,
                          int eligible, int activeConnections, long totalConnections, long bytesIn,
                          long bytesOut, long connectRetries, long noBackend, long limitHits,
                          List<BackendView> backends) {
        public VipView {
            backends = List.copyOf(backends);
        }
    }

    /** One backend of one VIP: its flags (empty = eligible), counters and recent transitions. */
    public record BackendView(String address, int weight, String origin, Set<HealthFlag> flags,
                              boolean eligible, int activeConnections, long totalConnections,
                              long bytesIn, long bytesOut, long connectFailures,
                              List<TransitionView> recentTransitions) {
        public BackendView {
            flags = Set.copyOf(flags);
            recentTransitions = List.copyOf(recentTransitions);
        }
    }

    /** A health transition: a flag set or cleared, when, and why. */
    public record TransitionView(Instant at, HealthFlag flag, boolean set, String reason) {
        public TransitionView {
            requireNonNull(at, "at");
            requireNonNull(flag, "flag");
            requireNonNull(reason, "reason");
        }
    }
}
