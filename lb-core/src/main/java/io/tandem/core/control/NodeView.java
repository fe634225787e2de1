package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.discovery.SourceStats;
import io.tandem.health.HealthFlag;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
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
                       boolean warming, List<VipView> vips, List<SourceView> sources,
                       Map<String, String> namedVips, String locality) {

    /**
     * @param ready    listeners bound, not draining, and not {@code warming}
     * @param warming  the node has just started and some backends still await their first
     *                 health check (bounded; see docs/health.md "Start-up"): {@code /ready} says 503
     * @param locality the node's {@code region/zone/rack} ({@code -} for an unknown part; {@code -}
     *                 when nothing is known)
     */
    public NodeView {
        locality = locality == null ? "-" : locality;
        vips = List.copyOf(vips);
        sources = List.copyOf(sources == null ? List.of() : sources);
        namedVips = Map.copyOf(namedVips == null ? Map.of() : namedVips);
    }

    /** A node of unknown locality. */
    public NodeView(String node, Instant startedAt, String transport, String configSource,
                    long configGeneration, Instant configLoadedAt, boolean ready, boolean draining,
                    boolean warming, List<VipView> vips, List<SourceView> sources,
                    Map<String, String> namedVips) {
        this(node, startedAt, transport, configSource, configGeneration, configLoadedAt, ready, draining, warming,
                vips, sources, namedVips, "-");
    }

    /** A node that is not warming. */
    public NodeView(String node, Instant startedAt, String transport, String configSource, long configGeneration,
                    Instant configLoadedAt, boolean ready, boolean draining, List<VipView> vips,
                    List<SourceView> sources, Map<String, String> namedVips) {
        this(node, startedAt, transport, configSource, configGeneration, configLoadedAt, ready, draining, false, vips,
                sources, namedVips);
    }

    /** A node without discovery sources. */
    public NodeView(String node, Instant startedAt, String transport, String configSource, long configGeneration,
                    Instant configLoadedAt, boolean ready, boolean draining, List<VipView> vips) {
        this(node, startedAt, transport, configSource, configGeneration, configLoadedAt, ready, draining, false, vips,
                List.of(), Map.of());
    }

    /**
     * A discovery source: whether its upstream is live, since when it serves last-known (stale)
     * membership, its last error and event, malformed entries dropped, and what it currently knows.
     *
     * @param restored the membership served was read from the state directory at start (the source
     *                 has not answered since): stale by definition
     * @param notes    per app, what the source could not honour as written (Marathon-LB labels
     *                 without an L4 meaning...)
     * @param stats    the source's counters (resyncs, reconnects, drops by reason, last update,
     *                 propagation); in a node, the live object the metrics read
     */
    public record SourceView(String name, boolean connected, boolean stale, Optional<Instant> staleSince,
                             Optional<String> lastError, Optional<Instant> lastEventAt, long droppedEntries,
                             int services, int endpoints, boolean restored, Map<String, List<String>> notes,
                             SourceStats stats) {
        public SourceView {
            notes = notes == null ? Map.of() : Map.copyOf(notes);
            stats = stats == null ? new SourceStats() : stats;
        }

        /** A source without restore, notes or counters (older nodes, tests). */
        public SourceView(String name, boolean connected, boolean stale, Optional<Instant> staleSince,
                          Optional<String> lastError, Optional<Instant> lastEventAt, long droppedEntries,
                          int services, int endpoints) {
            this(name, connected, stale, staleSince, lastError, lastEventAt, droppedEntries, services, endpoints,
                    false, Map.of(), new SourceStats());
        }
    }

    public Optional<VipView> vip(String name) {
        return vips.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    /**
     * One VIP: its listener, policy, whether it is in panic mode or warming, counters and backends.
     *
     * @param panic    too few backends are eligible: the pool routes to every backend an operator has
     *                 not taken out
     * @param warming  no backend has passed a check yet and some still await their first one: the
     *                 pool routes to those (start-up, or a new check); not a panic
     * @param eligible backends that may take new connections by their own health (no flag set)
     */
    public record VipView(String name, String listen, String protocol, String policy, String relay,
                          String proxyProtocol, boolean listening, boolean panic, boolean warming,
                          long poolGeneration, int eligible, int activeConnections, long totalConnections,
                          long bytesIn, long bytesOut, long connectRetries, long noBackend, long limitHits,
                          List<BackendView> backends, boolean zoneAware, Double localSharePercent,
                          List<GroupView> groups) {
        public VipView {
            backends = List.copyOf(backends);
            groups = List.copyOf(groups == null ? List.of() : groups);
        }

        /** A VIP not split by locality. */
        public VipView(String name, String listen, String protocol, String policy, String relay,
                       String proxyProtocol, boolean listening, boolean panic, boolean warming,
                       long poolGeneration, int eligible, int activeConnections, long totalConnections,
                       long bytesIn, long bytesOut, long connectRetries, long noBackend, long limitHits,
                       List<BackendView> backends) {
            this(name, listen, protocol, policy, relay, proxyProtocol, listening, panic, warming, poolGeneration,
                    eligible, activeConnections, totalConnections, bytesIn, bytesOut, connectRetries, noBackend,
                    limitHits, backends, false, null, List.of());
        }

        /** A VIP that is not warming. */
        public VipView(String name, String listen, String protocol, String policy, String relay,
                       String proxyProtocol, boolean listening, boolean panic, long poolGeneration,
                       int eligible, int activeConnections, long totalConnections, long bytesIn,
                       long bytesOut, long connectRetries, long noBackend, long limitHits,
                       List<BackendView> backends) {
            this(name, listen, protocol, policy, relay, proxyProtocol, listening, panic, false, poolGeneration,
                    eligible, activeConnections, totalConnections, bytesIn, bytesOut, connectRetries, noBackend,
                    limitHits, backends);
        }
    }

    /**
     * One group of a VIP's split by priority level and zone ({@link io.tandem.core.pool.LocalityRouting}):
     * {@code sharePercent} of new connections are drawn to its {@code backends} healthy backends (0 =
     * only a retry goes there). {@code region}/{@code zone} are null when the level is not split.
     */
    public record GroupView(int priority, String region, String zone, boolean local, int backends,
                            double sharePercent) {
    }

    /**
     * One backend of one VIP: the state an operator should read it as, its flags (empty =
     * eligible), counters and recent transitions.
     *
     * @param state one of {@link #STATES}, derived by {@link #stateOf}: {@code up} only when an
     *              active check vouches for the backend; {@code unchecked} when nothing is known
     *              against it but nothing checks it either (no {@code health_check} on its VIP)
     * @param region its region, null when unknown (also {@code zone}, {@code rack})
     * @param priority its priority level (0 = primary)
     */
    public record BackendView(String address, int weight, String origin, String state, Set<HealthFlag> flags,
                              boolean eligible, int activeConnections, long totalConnections,
                              long bytesIn, long bytesOut, long connectFailures,
                              List<TransitionView> recentTransitions, String region, String zone, String rack,
                              int priority, List<String> runtime, AgentView agent, List<String> sniRoutes,
                              LatencyView latency) {
        /**
         * Every value {@link #state} takes, most telling first (the order {@link #stateOf} decides in);
         * a health flag added later shows as its own name in lower case.
         */
        public static final List<String> STATES =
                List.of("disabled", "maint", "draining", "self-loop", "unresolved", "down", "ejected", "unhealthy", "pending", "up",
                        "unchecked");

        public BackendView {
            flags = Set.copyOf(flags);
            recentTransitions = List.copyOf(recentTransitions);
            runtime = runtime == null ? List.of() : List.copyOf(runtime); // null: a node from before run-time changes
            sniRoutes = sniRoutes == null ? List.of() : List.copyOf(sniRoutes); // null: no sni, or an older node
            if (state == null) {
                // A node from before this field: it could not say whether a check watched the backend.
                state = stateOf(flags, true);
            }
        }

        /** A backend of a VIP without {@code sni} routes (or from a node before them). */
        public BackendView(String address, int weight, String origin, String state, Set<HealthFlag> flags,
                           boolean eligible, int activeConnections, long totalConnections,
                           long bytesIn, long bytesOut, long connectFailures,
                           List<TransitionView> recentTransitions, String region, String zone, String rack,
                           int priority, List<String> runtime, AgentView agent) {
            this(address, weight, origin, state, flags, eligible, activeConnections, totalConnections, bytesIn,
                    bytesOut, connectFailures, recentTransitions, region, zone, rack, priority, runtime, agent, null,
                    null);
        }

        /** A backend without latency figures (or from a node before them). */
        public BackendView(String address, int weight, String origin, String state, Set<HealthFlag> flags,
                           boolean eligible, int activeConnections, long totalConnections,
                           long bytesIn, long bytesOut, long connectFailures,
                           List<TransitionView> recentTransitions, String region, String zone, String rack,
                           int priority, List<String> runtime, AgentView agent, List<String> sniRoutes) {
            this(address, weight, origin, state, flags, eligible, activeConnections, totalConnections, bytesIn,
                    bytesOut, connectFailures, recentTransitions, region, zone, rack, priority, runtime, agent,
                    sniRoutes, null);
        }

        /** A backend without an agent check (or from a node before agent checks). */
        public BackendView(String address, int weight, String origin, String state, Set<HealthFlag> flags,
                           boolean eligible, int activeConnections, long totalConnections,
                           long bytesIn, long bytesOut, long connectFailures,
                           List<TransitionView> recentTransitions, String region, String zone, String rack,
                           int priority, List<String> runtime) {
            this(address, weight, origin, state, flags, eligible, activeConnections, totalConnections, bytesIn,
                    bytesOut, connectFailures, recentTransitions, region, zone, rack, priority, runtime, null);
        }

        /** A backend without run-time changes. */
        public BackendView(String address, int weight, String origin, String state, Set<HealthFlag> flags,
                           boolean eligible, int activeConnections, long totalConnections,
                           long bytesIn, long bytesOut, long connectFailures,
                           List<TransitionView> recentTransitions, String region, String zone, String rack,
                           int priority) {
            this(address, weight, origin, state, flags, eligible, activeConnections, totalConnections, bytesIn,
                    bytesOut, connectFailures, recentTransitions, region, zone, rack, priority, List.of());
        }

        /** A primary backend of unknown locality. */
        public BackendView(String address, int weight, String origin, String state, Set<HealthFlag> flags,
                           boolean eligible, int activeConnections, long totalConnections,
                           long bytesIn, long bytesOut, long connectFailures,
                           List<TransitionView> recentTransitions) {
            this(address, weight, origin, state, flags, eligible, activeConnections, totalConnections, bytesIn,
                    bytesOut, connectFailures, recentTransitions, null, null, null, 0);
        }

        /** {@code region/zone/rack} as {@code tandem status} shows it; {@code -} when nothing is known. */
        public String locality() {
            if (region == null && zone == null && rack == null) {
                return "-";
            }
            return (region == null ? "-" : region) + "/" + (zone == null ? "-" : zone)
                    + (rack == null ? "" : "/" + rack);
        }

        /** A backend whose state follows from its flags alone, as if an active check watched it. */
        public BackendView(String address, int weight, String origin, Set<HealthFlag> flags,
                           boolean eligible, int activeConnections, long totalConnections,
                           long bytesIn, long bytesOut, long connectFailures,
                           List<TransitionView> recentTransitions) {
            this(address, weight, origin, stateOf(flags, true), flags, eligible, activeConnections,
                    totalConnections, bytesIn, bytesOut, connectFailures, recentTransitions);
        }

        /**
         * The one word for a backend's health, like HAProxy's status column ({@code MAINT},
         * {@code DRAIN}, {@code DOWN}, {@code UP}, {@code no check}): an operator's flag first, then a
         * failed check, a passive ejection, the discovery source's verdict, a first check still
         * pending; with no flag, {@code up} if an active check passes, else {@code unchecked} — a
         * backend nothing has looked at is not reported as up (a crashed one whose passive
         * ejection expired looks exactly like this).
         *
         * @param activeCheck whether an active health check watches the backend
         */
        public static String stateOf(Set<HealthFlag> flags, boolean activeCheck) {
            if (flags.contains(HealthFlag.DISABLED)) {
                return "disabled";
            }
            if (flags.contains(HealthFlag.AGENT_MAINT)) {
                return "maint"; // HAProxy's MAINT (via agent); the flags say whose
            }
            if (flags.contains(HealthFlag.DRAINING) || flags.contains(HealthFlag.AGENT_DRAIN)) {
                return "draining";
            }
            if (flags.contains(HealthFlag.SELF_LOOP)) {
                return "self-loop";
            }
            if (flags.contains(HealthFlag.UNRESOLVED)) {
                return "unresolved";
            }
            if (flags.contains(HealthFlag.FAILED_ACTIVE_CHECK) || flags.contains(HealthFlag.AGENT_DOWN)) {
                return "down";
            }
            if (flags.contains(HealthFlag.EJECTED_PASSIVE)) {
                return "ejected";
            }
            if (flags.contains(HealthFlag.UNHEALTHY_IN_SOURCE)) {
                return "unhealthy";
            }
            if (flags.contains(HealthFlag.PENDING_FIRST_CHECK)) {
                return "pending";
            }
            if (!flags.isEmpty()) {
                // A flag newer than this list: still not up; say which.
                return flags.stream().sorted().findFirst().orElseThrow().name().toLowerCase(Locale.ROOT)
                        .replace('_', '-');
            }
            return activeCheck ? "up" : "unchecked";
        }
    }

    /**
     * What a backend's agent (HAProxy {@code agent-check}) has said: null in {@link BackendView#agent}
     * when its VIP has no {@code agent_check}.
     *
     * @param health     {@code up}, {@code down}, {@code fail} or {@code stopped} (up until it says otherwise)
     * @param admin      {@code ready}, {@code drain} or {@code maint}
     * @param weight     the weight it asks for ({@code 50%}, {@code weight:10}); null: none (the configured weight)
     * @param reason     the text after {@code #} with its last health word; null when none
     * @param lastAnswer its last line, quoted; null before the first
     * @param problem    what was wrong with the last exchange (unreachable, a word not understood); null when nothing
     * @param reachable  whether the last exchange got a line
     */
    /**
     * A backend's latency over the last minute ({@code LatencyHistogram}): connect time and time to
     * its first byte, p50/p90/p99 in ms (-1 without samples in the window), and the sample counts.
     */
    public record LatencyView(long connectSamples, double connectP50Ms, double connectP90Ms, double connectP99Ms,
                              long firstByteSamples, double firstByteP50Ms, double firstByteP90Ms,
                              double firstByteP99Ms) {
    }

    public record AgentView(String health, String admin, String weight, String reason, String lastAnswer,
                            String problem, boolean reachable) {
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
