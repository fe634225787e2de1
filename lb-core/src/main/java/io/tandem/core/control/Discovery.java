package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.DiscoverySettings;
import io.tandem.config.HostPort;
import io.tandem.config.VipConfig;
import io.tandem.discovery.DiscoverySource;
import io.tandem.discovery.Endpoint;
import io.tandem.discovery.SourceState;
import io.tandem.discovery.marathon.MarathonAuth;
import io.tandem.discovery.marathon.MarathonSettings;
import io.tandem.discovery.marathon.MarathonSource;
import io.tandem.discovery.marathon.MarathonVip;
import io.tandem.discovery.zookeeper.ZooKeeperSettings;
import io.tandem.discovery.zookeeper.ZooKeeperSource;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's side of discovery: turns config into running sources, resolves what they report
 * (off the control loop: resolution may block), and keeps the last snapshot of each source; the
 * {@link Reconciler} gets their merge ({@link #endpoints()}) and the VIPs they declare as its input.
 * Snapshot bookkeeping is confined to the control loop thread; sources call back on their own
 * threads and only post.
 *
 * <p>A source that loses its upstream keeps repeating its last membership marked stale; the
 * control loop never empties a pool because a source went away.
 */
final class Discovery implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Discovery.class);

    /** One resolved endpoint, ready for a {@link io.tandem.core.pool.Backend}. */
    record Resolved(Endpoint endpoint, InetSocketAddress socketAddress) {
    }

    /** The last snapshot of one source. */
    record Snapshot(Map<String, List<Resolved>> services, boolean stale, Instant at) {
    }

    /** Starts and stops sources (each may wait seconds for its upstream), in order, off the control loop. */
    private final ExecutorService lifecycle = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("tandem-discovery").daemon(true).factory());
    private final List<DiscoverySource> sources = new ArrayList<>();
    private final Map<String, Snapshot> snapshots = new LinkedHashMap<>();
    private DiscoverySettings settings = DiscoverySettings.NONE;

    /**
     * Replaces the running sources when {@code next} differs from the current settings. Snapshots
     * of a source name are kept across the restart, so pools stay populated until the restarted
     * source reports. Control loop thread only; the sources' own start and stop (a ZooKeeper
     * session to open or close, a Marathon stream to join) run on the discovery lifecycle thread,
     * in order, never here. A stopped source's late reports are ignored.
     */
    void configure(DiscoverySettings next, Executor loop, Consumer<String> changed) {
        requireNonNull(next, "next");
        if (next.equals(settings)) {
            return;
        }
        List<DiscoverySource> stopping = List.copyOf(sources);
        sources.clear();
        settings = next;
        try {
            next.zookeeper().ifPresent(zk -> sources.add(new ZooKeeperSource(zooKeeperSettings(zk, next.stateDir()))));
            next.marathon().ifPresent(m -> sources.add(new MarathonSource(marathonSettings(m, next.stateDir()))));
        } catch (RuntimeException e) { // validation agrees with the sources (DiscoveryConfigAgreementTest)
            log.warn("discovery source not started error=\"{}\"", e.toString());
        }
        snapshots.keySet().retainAll(sources.stream().map(DiscoverySource::name).toList());
        List<DiscoverySource> starting = List.copyOf(sources);
        lifecycle(() -> {
            stop(stopping);
            for (DiscoverySource s : starting) {
                try {
                    s.start((src, services, stale) -> {
                        Map<String, List<Resolved>> resolved = resolve(src.name(), services);
                        loop.execute(() -> {
                            if (sources.contains(src)) {
                                snapshots.put(src.name(), new Snapshot(resolved, stale, Instant.now()));
                                changed.accept(src.name());
                            }
                        });
                    });
                    log.info("discovery source started source={} settings={}", s.name(),
                            s instanceof MarathonSource ? next.marathon().orElseThrow() : next.zookeeper().orElseThrow());
                } catch (RuntimeException e) {
                    log.warn("discovery source start failed source={} error=\"{}\"", s.name(), e.toString());
                }
            }
        });
    }

    /** Every service's endpoints over all sources, in source order (a source never seen yet adds nothing). */
    Map<String, List<Resolved>> endpoints() {
        Map<String, List<Resolved>> out = new LinkedHashMap<>();
        for (Snapshot s : snapshots.values()) {
            s.services().forEach((service, list) -> out.computeIfAbsent(service, k -> new ArrayList<>()).addAll(list));
        }
        return out;
    }

    /**
     * VIPs declared by Marathon apps (DC/OS VIP labels, Marathon-LB service ports), as VIP configs
     * that bind to their service; the source names and builds them ({@link MarathonSource#declaredVips}).
     */
    Map<String, VipConfig> declaredVips() {
        Map<String, VipConfig> out = new TreeMap<>();
        for (DiscoverySource s : sources) {
            if (s instanceof MarathonSource m) {
                out.putAll(m.declaredVips());
            }
        }
        return out;
    }

    /** Marathon's named-VIP allocations (name → address:port), for the admin API. */
    Map<String, String> namedVips() {
        Map<String, String> out = new TreeMap<>();
        for (DiscoverySource s : sources) {
            if (s instanceof MarathonSource m) {
                for (MarathonVip v : m.vips().values()) {
                    v.name().ifPresent(n -> out.put(n + ":" + v.port() + "/" + v.protocol().name()
                            .toLowerCase(Locale.ROOT), v.listen().toString()));
                }
            }
        }
        return out;
    }

    /** Source states for the admin API. */
    List<NodeView.SourceView> views() {
        List<NodeView.SourceView> out = new ArrayList<>();
        for (DiscoverySource s : sources) {
            SourceState st = s.state();
            Snapshot snap = snapshots.get(s.name());
            out.add(new NodeView.SourceView(s.name(), st.connected(), snap != null && snap.stale(), st.staleSince(),
                    st.lastError(), st.lastEventAt(), st.droppedEntries(),
                    snap == null ? 0 : snap.services().size(),
                    snap == null ? 0 : snap.services().values().stream().mapToInt(List::size).sum(),
                    st.restored(), st.notes(), s.stats()));
        }
        return out;
    }

    boolean hasSources() {
        return !sources.isEmpty();
    }

    /**
     * Stops every source (on the lifecycle thread) and forgets their snapshots. Control loop
     * thread; the future completes when the sources are stopped — wait for it elsewhere.
     */
    CompletableFuture<Void> stopAll() {
        List<DiscoverySource> stopping = List.copyOf(sources);
        sources.clear();
        snapshots.clear();
        settings = DiscoverySettings.NONE;
        CompletableFuture<Void> stopped = new CompletableFuture<>();
        lifecycle(() -> {
            stop(stopping);
            stopped.complete(null);
        });
        lifecycle.shutdown();
        return stopped;
    }

    @Override
    public void close() {
        stopAll();
    }

    private void lifecycle(Runnable task) {
        try {
            lifecycle.execute(task);
        } catch (RejectedExecutionException e) {
            log.debug("discovery lifecycle task skipped: the node is stopping");
        }
    }

    private static void stop(List<DiscoverySource> stopping) {
        for (DiscoverySource s : stopping) {
            try {
                s.close();
            } catch (RuntimeException e) {
                log.warn("discovery source close failed source={} error=\"{}\"", s.name(), e.toString());
            }
        }
    }

    /** Runs on the source's thread: DNS may block there, never on the control loop. */
    private static Map<String, List<Resolved>> resolve(String source, Map<String, Set<Endpoint>> services) {
        Map<String, List<Resolved>> out = new LinkedHashMap<>();
        for (var e : services.entrySet()) {
            List<Resolved> list = new ArrayList<>(e.getValue().size());
            for (Endpoint ep : e.getValue()) {
                HostPort a = ep.address();
                try {
                    list.add(new Resolved(ep, new InetSocketAddress(InetAddress.getByName(a.host()), a.port())));
                } catch (UnknownHostException ex) {
                    log.warn("discovered endpoint dropped source={} service={} endpoint={} reason=\"unresolvable "
                            + "host\"", source, e.getKey(), a);
                }
            }
            out.put(e.getKey(), List.copyOf(list));
        }
        return out;
    }

    static ZooKeeperSettings zooKeeperSettings(DiscoverySettings.ZooKeeper zk, Optional<java.nio.file.Path> stateDir) {
        ZooKeeperSettings s = zooKeeperSettings(zk);
        return stateDir.isPresent() ? s.withStateDir(stateDir.get()) : s;
    }

    static ZooKeeperSettings zooKeeperSettings(DiscoverySettings.ZooKeeper zk) {
        ZooKeeperSettings s = ZooKeeperSettings.of(zk.connect(), zk.basePath())
                .withTimeouts(zk.sessionTimeout(), zk.connectionTimeout())
                .withLayout(zk.layout() == DiscoverySettings.Layout.PLAIN ? ZooKeeperSettings.Layout.PLAIN
                        : ZooKeeperSettings.Layout.CURATOR)
                .withRemovalDebounce(zk.removalDebounce());
        if (zk.namespace().isPresent()) {
            s = s.withNamespace(zk.namespace().get());
        }
        if (zk.digestAuth().isPresent()) {
            s = s.withDigestAuth(zk.digestAuth().get());
        }
        if (zk.tls().isPresent()) {
            DiscoverySettings.Tls t = zk.tls().get();
            s = s.withTls(new ZooKeeperSettings.Tls(t.trustStore(), t.trustStorePassword(), t.keyStore(),
                    t.keyStorePassword(), true));
        }
        return s;
    }

    static MarathonSettings marathonSettings(DiscoverySettings.Marathon m) {
        return marathonSettings(m, Optional.empty());
    }

    static MarathonSettings marathonSettings(DiscoverySettings.Marathon m, Optional<java.nio.file.Path> stateDir) {
        MarathonSettings.Builder b = MarathonSettings.builder(m.urls().stream().map(URI::create).toList())
                .silenceTimeout(m.silenceTimeout())
                .resyncInterval(m.resyncInterval())
                .namedVipBlock(m.namedVipBlock())
                .unreachable(m.keepUnreachable() ? MarathonSettings.UnreachablePolicy.KEEP
                        : MarathonSettings.UnreachablePolicy.REMOVE)
                .marathonLb(java.util.Set.copyOf(m.groups()), m.bindAddress(), m.strictMode())
                .healthChecks(m.marathonHealthChecks());
        m.labelSelector().ifPresent(b::labelSelector);
        stateDir.ifPresent(b::stateDir);
        m.basicAuth().ifPresent(a -> {
            int colon = a.indexOf(':');
            b.auth(new MarathonAuth.Basic(a.substring(0, colon), a.substring(colon + 1)));
        });
        m.token().ifPresent(t -> b.auth(new MarathonAuth.Bearer(t)));
        return b.build();
    }
}
