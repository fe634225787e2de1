package io.tandem.core.metrics;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendStats;
import io.tandem.core.udp.UdpStats;
import io.tandem.core.vip.LocalErrors;
import io.tandem.core.vip.Vip;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.ToDoubleFunction;

/**
 * The node's Prometheus registry and the bridge from live counters to meters.
 *
 * <p>The data path only bumps the LongAdders in {@link io.tandem.core.vip.VipStats} and
 * {@link BackendStats}; every per-VIP and per-backend meter here is a {@link FunctionCounter}
 * or {@link Gauge} that reads those counters when Prometheus scrapes, so there is no
 * Micrometer call on the hot path.
 *
 * <p>Meters read their source through a small holder that this class keeps strongly (Micrometer
 * itself only keeps a weak reference). Binding the same VIP or backend name again just repoints
 * the holder at the new object: the series never duplicate, never vanish between two scrapes,
 * and a counter bound to fresh stats shows up as an ordinary counter reset. Unbinding removes
 * every meter carrying the name's tags, so a removed backend's series disappear.
 *
 * <p>Bind and unbind are called by the control loop; they are synchronized so tests and other
 * callers are safe too. Scrapes may run on any thread.
 */
public final class Metrics implements AutoCloseable {
    static final String VIP_TAG = "vip";
    static final String BACKEND_TAG = "backend";
    static final String ZONE_TAG = "zone";
    /** The zone label of backends whose zone is not known. */
    static final String UNKNOWN_ZONE = "unknown";

    /**
     * The bucket ladder of every {@code tandem_*} timer that asks for a percentile histogram, cut
     * to what detection and failover times need: a passive ejection takes well under a millisecond
     * to a few (one refused connect), an active check's verdict {@code fall} × ({@code timeout} +
     * {@code fast_interval}) — 50 ms to a few seconds with any sane timing (0.6 s by default) —
     * and anything past 10 s is "far too slow" whatever its exact value. Micrometer's own ladder
     * for 1 ms..30 s has ~70 buckets per series; each bucket costs a line on every scrape and a
     * series in Prometheus.
     */
    static final List<Duration> TIMER_BUCKETS = List.of(Duration.ofMillis(1), Duration.ofMillis(5),
            Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
            Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500),
            Duration.ofSeconds(5), Duration.ofSeconds(10));

    private static final MeterFilter SHORT_HISTOGRAMS = new MeterFilter() {
        @Override
        public DistributionStatisticConfig configure(Meter.Id id, DistributionStatisticConfig config) {
            if (!id.getName().startsWith("tandem.") || id.getType() != Meter.Type.TIMER
                    || !Boolean.TRUE.equals(config.isPercentileHistogram())) {
                return config;
            }
            double[] slos = TIMER_BUCKETS.stream().mapToDouble(Duration::toNanos).toArray();
            return DistributionStatisticConfig.builder().percentilesHistogram(false).serviceLevelObjectives(slos)
                    .build().merge(config);
        }
    };

    private final PrometheusMeterRegistry registry;
    private final JvmGcMetrics gcMetrics;
    private final Map<String, VipHolder> vips = new ConcurrentHashMap<>();
    private final Map<String, UdpHolder> udp = new ConcurrentHashMap<>();
    /** vip name → backend address → holder. */
    private final Map<String, Map<String, BackendHolder>> backends = new ConcurrentHashMap<>();
    /** Agent check states by "vip backend" ({@link #agent}). */
    private final Map<String, AgentHolder> agentHolders = new ConcurrentHashMap<>();
    /** vip name → backend zone → what removed backends of that zone had counted. */
    private final Map<String, Map<String, ZoneHolder>> zones = new ConcurrentHashMap<>();
    /** Per VIP, the posture gauges' values (tandem_vip_backend_zones, _hosts, _posture_findings). */
    private final Map<String, PostureHolder> postures = new ConcurrentHashMap<>();
    /** The node-wide posture gauges' values by code; null until the first report. */
    private Map<String, java.util.concurrent.atomic.AtomicInteger> nodePosture;

    /** A fresh registry ({@link PrometheusConfig#DEFAULT}) with JVM and process meters bound. */
    public Metrics() {
        this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.config().meterFilter(SHORT_HISTOGRAMS).meterFilter(MetricHelp.FILTER);
        BuildInfo build = BuildInfo.current();
        Gauge.builder("tandem.build.info", () -> 1).description("Always 1: the version and git revision of this build")
                .tags("version", build.version(), "revision", build.revision()).strongReference(true)
                .register(registry);
        new JvmMemoryMetrics().bindTo(registry);
        this.gcMetrics = new JvmGcMetrics();
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        CpuLoad.bindTo(registry); // before ProcessorMetrics: the first meter of an id wins
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /**
     * Registers the meters of {@code vip} (tag {@code vip=<name>}). Binding a VIP of the same
     * name again repoints the meters at the new object.
     */
    public synchronized void bindVip(Vip vip) {
        requireNonNull(vip, "vip");
        VipHolder existing = vips.get(vip.name());
        if (existing != null) {
            existing.vip = vip;
            bindLocalErrors(existing);
            bindSniRoutes(existing);
            return;
        }
        VipHolder holder = new VipHolder(vip);
        Tags tags = Tags.of(VIP_TAG, vip.name());
        gauge("tandem.vip.connections.active", "Client connections open now", tags, holder,
                h -> h.vip.stats().active.get());
        counter("tandem.vip.connections", "Client connections accepted", tags, holder,
                h -> h.vip.stats().totalConnections.sum());
        counter("tandem.vip.received.bytes", "Bytes received from clients", tags, holder,
                h -> h.vip.stats().bytesIn.sum());
        counter("tandem.vip.sent.bytes", "Bytes sent to clients", tags, holder,
                h -> h.vip.stats().bytesOut.sum());
        counter("tandem.vip.connect.retries", "Backend connects retried on another backend", tags, holder,
                h -> h.vip.stats().connectRetries.sum());
        counter("tandem.vip.no.backend", "Connections refused because no backend could take them", tags,
                holder, h -> h.vip.stats().noBackend.sum());
        counter("tandem.vip.limit.hits", "Connections refused by limits.max_connections", tags, holder,
                h -> h.vip.stats().limitHits.sum());
        counter("tandem.vip.refused", REFUSED_HELP, tags.and("reason", "acl"), holder,
                h -> h.vip.stats().aclRefused.sum());
        counter("tandem.vip.refused", REFUSED_HELP, tags.and("reason", "client_connections"), holder,
                h -> h.vip.stats().clientConnectionsRefused.sum());
        counter("tandem.vip.refused", REFUSED_HELP, tags.and("reason", "client_rate"), holder,
                h -> h.vip.stats().clientRateRefused.sum());
        counter("tandem.vip.refused", REFUSED_HELP, tags.and("reason", "proxy_header"), holder,
                h -> h.vip.stats().proxyHeaderRefused.sum());
        counter("tandem.vip.refused", REFUSED_HELP, tags.and("reason", "sni_malformed"), holder,
                h -> h.vip.stats().sniMalformedRefused.sum());
        counter("tandem.vip.refused", REFUSED_HELP, tags.and("reason", "sni_missing"), holder,
                h -> h.vip.stats().sniMissingRefused.sum());
        counter("tandem.vip.refused", REFUSED_HELP, tags.and("reason", "sni_timeout"), holder,
                h -> h.vip.stats().sniTimeoutRefused.sum());
        counter("tandem.vip.refused", REFUSED_HELP, tags.and("reason", "sni_no_route"), holder,
                h -> h.vip.stats().sniNoRouteRefused.sum());
        gauge("tandem.vip.tracked.clients", "Clients tracked now for limits.per_client (bounded by max_clients)", tags,
                holder, h -> h.vip.clients().tracked());
        counter("tandem.vip.accept.handoffs", "TCP connections handed by the accepting event loop to a less loaded one",
                tags, holder, h -> h.vip.stats().acceptHandOffs.sum());
        gauge("tandem.vip.panic", "1 when too few backends are eligible and the VIP routes to all known ones",
                tags, holder, h -> h.vip.pool().panic() ? 1 : 0);
        gauge("tandem.vip.backends.eligible", "Backends that may take new connections", tags, holder,
                h -> eligibleCount(h.vip));
        counter("tandem.vip.local.connections", "Connections proxied to backends in this node's zone", tags, holder,
                this::localConnections);
        gauge("tandem.vip.local.share", "Planned share (0..1) of new connections to backends in this node's zone; "
                + "NaN when the node's zone is unknown", tags, holder, h -> {
                    int share = h.vip.pool().routing().localShare();
                    return share < 0 ? Double.NaN : share / 10_000.0;
                });
        counter("tandem.self.loops", "Connections and UDP sessions cut because the backend leads back into this node",
                tags, holder, h -> h.vip.stats().selfLoops.sum());
        vips.put(vip.name(), holder);
        bindLocalErrors(holder);
        bindSniRoutes(holder);
    }

    /**
     * {@code tandem_vip_sni_connections_total{vip,route}}: connections {@code sni} routing sent to
     * each route, registered per route when the first connection takes it.
     */
    private void bindSniRoutes(VipHolder holder) {
        Vip vip = holder.vip;
        vip.stats().sniRoutes.onNewRoute(route -> sniRouteCounter(vip.name(), holder, route));
        vip.stats().sniRoutes.routes().forEach(route -> sniRouteCounter(vip.name(), holder, route));
    }

    private void sniRouteCounter(String vip, VipHolder holder, String route) {
        if (vips.get(vip) != holder) {
            return; // the VIP was unbound (or rebound) since: its series are gone
        }
        counter("tandem.vip.sni.connections", "Connections routed by the TLS server name (sni), by route; "
                + "default: the VIP's own backends", Tags.of(VIP_TAG, vip, "route", route), holder,
                h -> h.vip.stats().sniRoutes.count(route));
    }

    /**
     * {@code tandem_local_errors_total{vip,op,errno}}: the node's own resource errors (out of
     * descriptors, memory, source ports), registered per kind when it first occurs, so a node
     * that never runs short shows no such series.
     */
    private void bindLocalErrors(VipHolder holder) {
        Vip vip = holder.vip;
        vip.localErrors().onNewKind(kind -> localErrorCounter(vip.name(), holder, kind));
        vip.localErrors().kinds().forEach(kind -> localErrorCounter(vip.name(), holder, kind));
    }

    private void localErrorCounter(String vip, VipHolder holder, LocalErrors.Kind kind) {
        if (vips.get(vip) != holder) {
            return; // the VIP was unbound (or rebound) since: its series are gone
        }
        counter("tandem.local.errors", "Node's own resource errors (EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, "
                + "EAGAIN) on the data path; never counted against a backend", Tags.of(VIP_TAG, vip, "op",
                kind.op().label(), "errno", kind.errno()), holder, h -> h.vip.localErrors().count(kind));
    }

    /**
     * Registers the meters of one backend of {@code vip} (tags {@code vip}, {@code backend=host:port}).
     *
     * @param eligible read at scrape time; true when the backend may take new connections
     */
    public synchronized void bindBackend(Vip vip, Backend backend, BooleanSupplier eligible) {
        requireNonNull(vip, "vip");
        requireNonNull(backend, "backend");
        requireNonNull(eligible, "eligible");
        String address = backend.address().toString();
        Map<String, BackendHolder> ofVip = backends.computeIfAbsent(vip.name(), k -> new ConcurrentHashMap<>());
        BackendHolder existing = ofVip.get(address);
        if (existing != null) {
            existing.stats = backend.stats();
            existing.eligible = eligible;
            return;
        }
        String zone = backend.locality().zone().orElse(UNKNOWN_ZONE);
        BackendHolder holder = new BackendHolder(backend.stats(), eligible, zone);
        Tags tags = Tags.of(VIP_TAG, vip.name(), BACKEND_TAG, address);
        bindZone(vip.name(), zone);
        gauge("tandem.backend.connections.active", "Connections proxied to the backend now", tags, holder,
                h -> h.stats.active.get());
        counter("tandem.backend.connections", "Connections proxied to the backend", tags, holder,
                h -> h.stats.totalConnections.sum());
        counter("tandem.backend.received.bytes", "Bytes received from the backend", tags, holder,
                h -> h.stats.bytesIn.sum());
        counter("tandem.backend.sent.bytes", "Bytes sent to the backend", tags, holder,
                h -> h.stats.bytesOut.sum());
        counter("tandem.backend.connect.failures", "Failed connects to the backend", tags, holder,
                h -> h.stats.connectFailures.sum());
        counter("tandem.backend.limit.hits", "Picks refused by limits.max_connections_per_backend", tags,
                holder, h -> h.stats.limitHits.sum());
        gauge("tandem.backend.eligible", "1 when the backend may take new connections", tags, holder,
                h -> h.eligible.getAsBoolean() ? 1 : 0);
        gauge("tandem.backend.connect.time.p99.seconds", "99th percentile of the connect time to the backend over "
                + "the last minute (NaN without connections in it)", tags, holder,
                h -> p99Seconds(h.stats.connectTime));
        gauge("tandem.backend.first.byte.time.p99.seconds", "99th percentile of the time from the client's first "
                + "byte (or the connect, when the backend speaks first) to the backend's first byte, over the last "
                + "minute (NaN without answered connections in it)", tags, holder,
                h -> p99Seconds(h.stats.firstByteTime));
        ofVip.put(address, holder);
    }

    private static double p99Seconds(io.tandem.core.pool.LatencyHistogram h) {
        double ms = h.window(System.nanoTime()).quantileMs(0.99);
        return ms < 0 ? Double.NaN : Double.isInfinite(ms) ? 10.0 : ms / 1000.0;
    }

    /**
     * The agent meters of {@code backend} of {@code vip} (HAProxy {@code agent-check}): the weight
     * percentage it asks for ({@code tandem_backend_agent_weight_percent}, 100 until it gives one,
     * NaN for an absolute {@code weight:N}), whether its last exchange got a line
     * ({@code tandem_backend_agent_reachable}) and what it says ({@code tandem_backend_agent_down},
     * {@code _drain}, {@code _maint}: 1 while in force). Registered on the first state, removed with
     * the backend ({@link #unbindBackend}).
     */
    public synchronized void agent(String vip, String backend, io.tandem.health.check.AgentState state) {
        requireNonNull(vip, "vip");
        requireNonNull(backend, "backend");
        requireNonNull(state, "state");
        String key = vip + " " + backend;
        AgentHolder h = agentHolders.get(key);
        if (h == null) {
            h = new AgentHolder();
            agentHolders.put(key, h);
            Tags tags = Tags.of(VIP_TAG, vip, BACKEND_TAG, backend);
            gauge("tandem.backend.agent.weight.percent", "Weight percentage the backend's agent asks for (100: none "
                    + "given; NaN: an absolute weight)", tags, h, x -> x.state.weight()
                    .map(w -> w.percent() ? (double) w.value() : Double.NaN).orElse(100.0));
            gauge("tandem.backend.agent.reachable", "1 when the last agent check exchange got a line", tags, h,
                    x -> x.state.reachable() ? 1 : 0);
            gauge("tandem.backend.agent.down", "1 while the backend's agent reports down, fail or stopped", tags, h,
                    x -> x.state.health().down() ? 1 : 0);
            gauge("tandem.backend.agent.drain", "1 while the backend's agent reports drain", tags, h,
                    x -> x.state.admin() == io.tandem.health.check.AgentReply.Admin.DRAIN ? 1 : 0);
            gauge("tandem.backend.agent.maint", "1 while the backend's agent reports maint", tags, h,
                    x -> x.state.admin() == io.tandem.health.check.AgentReply.Admin.MAINT ? 1 : 0);
        }
        h.state = state;
    }

    /**
     * Registers the session and datagram meters of a UDP VIP (tag {@code vip}); rebinding the same
     * name repoints them at the new listener's stats. {@link #unbindVip} removes them.
     */
    public synchronized void bindUdp(String vip, UdpStats stats) {
        requireNonNull(vip, "vip");
        requireNonNull(stats, "stats");
        UdpHolder existing = udp.get(vip);
        if (existing != null) {
            existing.stats = stats;
            return;
        }
        UdpHolder h0 = new UdpHolder(stats);
        Tags tags = Tags.of(VIP_TAG, vip);
        gauge("tandem.udp.sessions.active", "UDP sessions open now", tags, h0, h -> h.stats.sessionsActive.get());
        counter("tandem.udp.sessions.opened", "UDP sessions opened", tags, h0, h -> h.stats.sessionsCreated.sum());
        counter("tandem.udp.sessions.expired", "UDP sessions ended by idling", tags, h0,
                h -> h.stats.sessionsExpired.sum());
        counter("tandem.udp.sessions.evicted", "UDP sessions evicted because the VIP reached udp.max_sessions",
                tags, h0, h -> h.stats.sessionsEvicted.sum());
        counter("tandem.udp.sessions.completed", "UDP sessions ended after their responses", tags, h0,
                h -> h.stats.sessionsCompleted.sum());
        counter("tandem.udp.sessions.repinned", "UDP sessions moved to another backend", tags, h0,
                h -> h.stats.sessionsRepinned.sum());
        counter("tandem.udp.received.datagrams", "Datagrams received from clients", tags, h0, h -> h.stats.datagramsIn.sum());
        counter("tandem.udp.sent.datagrams", "Datagrams sent to clients", tags, h0, h -> h.stats.datagramsOut.sum());
        counter("tandem.udp.forwarded.datagrams", "Datagrams forwarded to backends", tags, h0,
                h -> h.stats.datagramsForwarded.sum());
        counter("tandem.udp.received.bytes", "UDP payload bytes received from clients", tags, h0, h -> h.stats.bytesIn.sum());
        counter("tandem.udp.sent.bytes", "UDP payload bytes sent to clients", tags, h0, h -> h.stats.bytesOut.sum());
        for (var reason : Map.<String, ToDoubleFunction<UdpHolder>>of(
                "too_big", h -> h.stats.droppedTooBig.sum(),
                "no_backend", h -> h.stats.droppedNoBackend.sum(),
                "session_limit", h -> h.stats.droppedSessionLimit.sum(),
                "backend_unreachable", h -> h.stats.droppedBackendUnreachable.sum(),
                "congested", h -> h.stats.droppedCongested.sum(),
                "local_error", h -> h.stats.droppedLocalError.sum(),
                "self_loop", h -> h.stats.droppedSelfLoop.sum()).entrySet()) {
            counter("tandem.udp.dropped", "Datagrams dropped, by reason", tags.and("reason", reason.getKey()), h0,
                    reason.getValue());
        }
        udp.put(vip, h0);
    }

    /** Removes every meter tagged with this VIP and backend. Unknown names are ignored. */
    public synchronized void unbindBackend(String vip, String backend) {
        requireNonNull(vip, "vip");
        requireNonNull(backend, "backend");
        Map<String, BackendHolder> ofVip = backends.get(vip);
        if (ofVip != null) {
            BackendHolder gone = ofVip.remove(backend);
            if (gone != null) {
                retire(vip, gone);
            }
        }
        removeMatching(vip, backend);
        agentHolders.remove(vip + " " + backend);
    }

    /**
     * The per-zone series of a VIP ({@code tandem_backend_zone_*{vip,zone}}), registered with the
     * first backend of the zone. They sum the zone's current backends plus what its removed ones
     * had counted, so they never go down when a backend leaves.
     */
    private void bindZone(String vip, String zone) {
        Map<String, ZoneHolder> ofVip = zones.computeIfAbsent(vip, k -> new ConcurrentHashMap<>());
        if (ofVip.containsKey(zone)) {
            return;
        }
        ZoneHolder z = new ZoneHolder(vip, zone);
        Tags tags = Tags.of(VIP_TAG, vip, ZONE_TAG, zone);
        counter("tandem.backend.zone.connections", "Connections proxied to the VIP's backends in this zone", tags, z,
                h -> h.connections.sum() + sumOfZone(h, s -> s.totalConnections.sum()));
        counter("tandem.backend.zone.received.bytes", "Bytes received from the VIP's backends in this zone", tags, z,
                h -> h.bytesIn.sum() + sumOfZone(h, s -> s.bytesIn.sum()));
        counter("tandem.backend.zone.sent.bytes", "Bytes sent to the VIP's backends in this zone", tags, z,
                h -> h.bytesOut.sum() + sumOfZone(h, s -> s.bytesOut.sum()));
        ofVip.put(zone, z);
    }

    private double sumOfZone(ZoneHolder z, java.util.function.ToLongFunction<BackendStats> f) {
        Map<String, BackendHolder> ofVip = backends.get(z.vip);
        long sum = 0;
        if (ofVip != null) {
            for (BackendHolder h : ofVip.values()) {
                if (h.zone.equals(z.zone)) {
                    sum += f.applyAsLong(h.stats);
                }
            }
        }
        return sum;
    }

    /** Keeps a removed backend's counts in its zone's (and the VIP's local) series. */
    private void retire(String vip, BackendHolder gone) {
        ZoneHolder z = zones.getOrDefault(vip, Map.of()).get(gone.zone);
        if (z != null) {
            z.connections.add(gone.stats.totalConnections.sum());
            z.bytesIn.add(gone.stats.bytesIn.sum());
            z.bytesOut.add(gone.stats.bytesOut.sum());
        }
        VipHolder v = vips.get(vip);
        if (v != null && gone.zone.equals(nodeZone(v))) {
            v.localRetired.add(gone.stats.totalConnections.sum());
        }
    }

    /** The zone the VIP's current snapshot was planned for; null when unknown. */
    private static String nodeZone(VipHolder h) {
        return h.vip.pool().routing().node().zone().orElse(null);
    }

    private double localConnections(VipHolder h) {
        String zone = nodeZone(h);
        long sum = h.localRetired.sum();
        Map<String, BackendHolder> ofVip = backends.get(h.vip.name());
        if (zone != null && ofVip != null) {
            for (BackendHolder b : ofVip.values()) {
                if (b.zone.equals(zone)) {
                    sum += b.stats.totalConnections.sum();
                }
            }
        }
        return sum;
    }

    /** Removes every meter tagged with this VIP, its backends' included. Unknown names are ignored. */
    public synchronized void unbindVip(String vip) {
        requireNonNull(vip, "vip");
        vips.remove(vip);
        backends.remove(vip);
        zones.remove(vip);
        postures.remove(vip);
        udp.remove(vip);
        agentHolders.keySet().removeIf(k -> k.startsWith(vip + " "));
        removeMatching(vip, null);
    }

    /**
     * Sets a VIP's posture gauges (registered on first use, every code present, at 0 when absent):
     * {@code tandem_vip_backend_zones}, {@code tandem_vip_backend_hosts} and
     * {@code tandem_vip_posture_findings{vip,code}}. Call after {@link #bindVip}; {@link #unbindVip}
     * removes them.
     *
     * @param findings each code the VIP can have ({@code one-zone}...) and whether it has it now
     */
    public synchronized void vipPosture(String vip, int zones, int hosts, Map<String, Boolean> findings) {
        requireNonNull(vip, "vip");
        PostureHolder h = postures.get(vip);
        if (h == null) {
            h = new PostureHolder();
            Tags tags = Tags.of(VIP_TAG, vip);
            gauge("tandem.vip.backend.zones", "Distinct zones of the VIP's eligible backends (0 when none is known)",
                    tags, h, x -> x.zones);
            gauge("tandem.vip.backend.hosts", "Distinct hosts of the VIP's eligible backends", tags, h, x -> x.hosts);
            for (String code : findings.keySet()) {
                java.util.concurrent.atomic.AtomicInteger v = new java.util.concurrent.atomic.AtomicInteger();
                h.codes.put(code, v);
                gauge("tandem.vip.posture.findings", "1 when the VIP has this single-point-of-failure finding "
                        + "(GET /api/posture says what to do), else 0", Tags.of(VIP_TAG, vip, "code", code), v,
                        java.util.concurrent.atomic.AtomicInteger::get);
            }
            postures.put(vip, h);
        }
        h.zones = zones;
        h.hosts = hosts;
        for (Map.Entry<String, Boolean> e : findings.entrySet()) {
            java.util.concurrent.atomic.AtomicInteger v = h.codes.get(e.getKey());
            if (v != null) {
                v.set(e.getValue() ? 1 : 0);
            }
        }
    }

    /** Sets {@code tandem_posture_findings{code}}, the node-wide findings (every code present, 0 when absent). */
    public synchronized void nodePosture(Map<String, Boolean> findings) {
        if (nodePosture == null) {
            nodePosture = new java.util.LinkedHashMap<>();
            for (String code : findings.keySet()) {
                java.util.concurrent.atomic.AtomicInteger v = new java.util.concurrent.atomic.AtomicInteger();
                nodePosture.put(code, v);
                gauge("tandem.posture.findings", "1 when the node has this node-wide single-point-of-failure finding "
                        + "(GET /api/posture says what to do), else 0", Tags.of("code", code), v,
                        java.util.concurrent.atomic.AtomicInteger::get);
            }
        }
        findings.forEach((code, on) -> {
            java.util.concurrent.atomic.AtomicInteger v = nodePosture.get(code);
            if (v != null) {
                v.set(on ? 1 : 0);
            }
        });
    }

    /**
     * A plain counter for control-plane events (reloads, health transitions, failovers).
     *
     * @param tags key/value pairs
     */
    public Counter counter(String name, String... tags) {
        return Counter.builder(requireNonNull(name, "name")).tags(tags).register(registry);
    }

    /**
     * A timer for control-plane durations (reload, check latency, failover).
     *
     * @param tags key/value pairs
     */
    public Timer timer(String name, String... tags) {
        return Timer.builder(requireNonNull(name, "name")).tags(tags).register(registry);
    }

    @Override
    public void close() {
        gcMetrics.close();
        registry.close();
    }

    /**
     * Counts the bound backends that are eligible: the pool is not that set in panic (every known
     * backend) nor while warming (the backends still awaiting their first check). A VIP without
     * bound backends falls back to the pool.
     */
    private double eligibleCount(Vip vip) {
        var pool = vip.pool();
        Map<String, BackendHolder> ofVip = backends.get(vip.name());
        if (ofVip == null || ofVip.isEmpty()) {
            return pool.panic() ? 0 : pool.backends().size();
        }
        int n = 0;
        for (BackendHolder h : ofVip.values()) {
            if (h.eligible.getAsBoolean()) {
                n++;
            }
        }
        return n;
    }

    private void removeMatching(String vip, String backend) {
        List<Meter> doomed = new ArrayList<>();
        for (Meter m : registry.getMeters()) {
            Meter.Id id = m.getId();
            if (vip.equals(id.getTag(VIP_TAG)) && (backend == null || backend.equals(id.getTag(BACKEND_TAG)))) {
                doomed.add(m);
            }
        }
        doomed.forEach(registry::remove);
    }

    private <T> void gauge(String name, String help, Tags tags, T holder, ToDoubleFunction<T> f) {
        Gauge.builder(name, holder, f).description(help).tags(tags).strongReference(true).register(registry);
    }

    private <T> void counter(String name, String help, Tags tags, T holder, ToDoubleFunction<T> f) {
        FunctionCounter.builder(name, holder, f).description(help).tags(tags).register(registry);
    }

    private static final String REFUSED_HELP = "Client connections (TCP) and new-session datagrams (UDP) refused "
            + "before any backend was contacted, by reason (acl: the VIP's acl; client_connections, client_rate: "
            + "limits.per_client; proxy_header: proxy_protocol_in; sni_malformed, sni_missing, sni_timeout: a TLS "
            + "ClientHello refused by sni.on_malformed; sni_no_route: no sni route and no default backends)";

    private static final class PostureHolder {
        volatile int zones;
        volatile int hosts;
        final Map<String, java.util.concurrent.atomic.AtomicInteger> codes = new java.util.LinkedHashMap<>();
    }

    private static final class VipHolder {
        volatile Vip vip;
        /** Connections of removed backends that were in this node's zone. */
        final java.util.concurrent.atomic.LongAdder localRetired = new java.util.concurrent.atomic.LongAdder();

        VipHolder(Vip vip) {
            this.vip = vip;
        }
    }

    /** Holds the current UdpStats of a VIP so a rebind can repoint its meters. */
    private static final class UdpHolder {
        volatile UdpStats stats;

        UdpHolder(UdpStats stats) {
            this.stats = stats;
        }
    }

    private static final class AgentHolder {
        volatile io.tandem.health.check.AgentState state = io.tandem.health.check.AgentState.INITIAL;
    }

    private static final class BackendHolder {
        volatile BackendStats stats;
        volatile BooleanSupplier eligible;
        /** The backend's zone when it was bound (its zone series count it there). */
        final String zone;

        BackendHolder(BackendStats stats, BooleanSupplier eligible, String zone) {
            this.stats = stats;
            this.eligible = eligible;
            this.zone = zone;
        }
    }

    /** What the removed backends of one zone of one VIP had counted. */
    private static final class ZoneHolder {
        final String vip;
        final String zone;
        final java.util.concurrent.atomic.LongAdder connections = new java.util.concurrent.atomic.LongAdder();
        final java.util.concurrent.atomic.LongAdder bytesIn = new java.util.concurrent.atomic.LongAdder();
        final java.util.concurrent.atomic.LongAdder bytesOut = new java.util.concurrent.atomic.LongAdder();

        ZoneHolder(String vip, String zone) {
            this.vip = vip;
            this.zone = zone;
        }
    }
}
