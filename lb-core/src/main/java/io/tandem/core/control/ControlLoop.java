package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.netty.channel.EventLoopGroup;
import io.tandem.config.BackendConfig;
import io.tandem.config.ConfigResult;
import io.tandem.config.HostPort;
import io.tandem.config.Protocol;
import io.tandem.config.TandemConfig;
import io.tandem.config.VipConfig;
import io.tandem.core.control.NodeView.BackendView;
import io.tandem.core.control.NodeView.VipView;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.policy.Policies;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.proxy.ConnectionEvents;
import io.tandem.core.proxy.TcpListener;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.Vip;
import io.tandem.health.HealthFlag;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one owner of all mutable control-plane state (DESIGN §3.2): the current config, every
 * VIP's backends and their health flags, and the listeners. Everything that changes that
 * state — a reload, an operator action, later health results and discovery snapshots — is
 * posted to this loop's single thread, and only this thread publishes new
 * {@link BackendPool} snapshots to the data path.
 *
 * <p>A reload is validate → compile → swap: the new config is parsed and validated whole,
 * new listeners are bound before anything is swapped, and if any step fails the previous
 * config stays in force untouched. Existing connections are never cut by a reload — they keep
 * the snapshot they were accepted with, and removing a VIP only closes its listening sockets.
 */
public final class ControlLoop implements NodeControl, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlLoop.class);

    private final ExecutorService loop = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("tandem-control").daemon(true).factory());
    private final String nodeName;
    private final Transport transport;
    private final EventLoopGroup workers;
    private final Metrics metrics;
    private final Supplier<ConfigResult> configSource;
    private final String configSourceName;
    private final Clock clock;
    private final Instant startedAt;

    // Confined to the loop thread.
    private final Map<String, VipState> vips = new LinkedHashMap<>();
    private TandemConfig config;
    private long generation;
    private Instant configLoadedAt;
    private boolean draining;

    /**
     * @param configSource re-read on every reload (the file behind {@code --config}); quick mode
     *                     passes a source that always returns the same config
     */
    public ControlLoop(String nodeName, Transport transport, EventLoopGroup workers, Metrics metrics,
                       Supplier<ConfigResult> configSource, String configSourceName, Clock clock) {
        this.nodeName = requireNonNull(nodeName, "nodeName");
        this.transport = requireNonNull(transport, "transport");
        this.workers = requireNonNull(workers, "workers");
        this.metrics = requireNonNull(metrics, "metrics");
        this.configSource = requireNonNull(configSource, "configSource");
        this.configSourceName = requireNonNull(configSourceName, "configSourceName");
        this.clock = requireNonNull(clock, "clock");
        this.startedAt = clock.instant();
    }

    /** Applies the first config. Completes exceptionally if it cannot be applied (e.g. a port in use). */
    public CompletableFuture<ReloadOutcome> start(TandemConfig initial) {
        requireNonNull(initial, "initial");
        return CompletableFuture.supplyAsync(() -> apply(initial, "start"), loop);
    }

    @Override
    public CompletableFuture<ReloadOutcome> reload() {
        return CompletableFuture.supplyAsync(() -> {
            ConfigResult result = configSource.get();
            return switch (result) {
                case ConfigResult.Invalid invalid -> {
                    List<String> errors = invalid.errors().stream().map(Object::toString).toList();
                    log.warn("reload rejected source={} errors={} first=\"{}\"", configSourceName,
                            errors.size(), errors.getFirst());
                    metrics.counter("tandem.reloads", "result", "rejected").increment();
                    yield new ReloadOutcome(false, generation, List.of(), errors);
                }
                case ConfigResult.Valid valid -> apply(valid.config(), "reload");
            };
        }, loop);
    }

    @Override
    public NodeView view() {
        try {
            return CompletableFuture.supplyAsync(this::buildView, loop).get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the node view", e);
        } catch (Exception e) {
            throw new IllegalStateException("control loop did not answer: " + e, e);
        }
    }

    @Override
    public CompletableFuture<BackendView> backendAction(String vipName, String backend, BackendAction action) {
        requireNonNull(vipName, "vip");
        requireNonNull(backend, "backend");
        requireNonNull(action, "action");
        return CompletableFuture.supplyAsync(() -> {
            VipState vs = vips.get(vipName);
            if (vs == null) {
                throw new IllegalArgumentException("no VIP named \"" + vipName + "\"");
            }
            HostPort address;
            try {
                address = HostPort.parse(backend);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("backend: " + e.getMessage());
            }
            BackendState bs = vs.backends.get(address);
            if (bs == null) {
                throw new IllegalArgumentException("VIP \"" + vipName + "\" has no backend " + address);
            }
            Instant now = clock.instant();
            boolean changed = switch (action) {
                case DRAIN -> bs.flag(HealthFlag.DRAINING, true, "operator drain", now);
                case DISABLE -> bs.flag(HealthFlag.DISABLED, true, "operator disable", now);
                case ENABLE -> bs.flag(HealthFlag.DRAINING, false, "operator enable", now)
                        | bs.flag(HealthFlag.DISABLED, false, "operator enable", now);
            };
            log.info("backend action vip={} backend={} action={} changed={} flags={}", vipName, address,
                    action.name().toLowerCase(java.util.Locale.ROOT), changed, bs.flags());
            if (changed) {
                publish(vs);
            }
            return backendView(bs);
        }, loop);
    }

    /**
     * Graceful shutdown, step one: mark the node not ready and close every listener so no new
     * connection is accepted. Existing connections are left to finish (the caller waits).
     */
    public CompletableFuture<Void> stopAccepting() {
        return CompletableFuture.runAsync(() -> {
            draining = true;
            for (VipState vs : vips.values()) {
                closeListener(vs);
            }
        }, loop);
    }

    /** Live client connections over all VIPs (any thread). */
    public int activeConnections() {
        // Vip objects are safely published through the loop; the map itself is read on the loop.
        try {
            return CompletableFuture.supplyAsync(
                    () -> vips.values().stream().mapToInt(v -> v.vip.connections().size()).sum(), loop).get();
        } catch (Exception e) {
            return 0;
        }
    }

    /** Closes every remaining client connection of every VIP (end of a drain deadline). */
    public CompletableFuture<Integer> closeAllConnections() {
        return CompletableFuture.supplyAsync(() -> {
            int n = 0;
            for (VipState vs : vips.values()) {
                for (var ch : List.copyOf(vs.vip.connections())) {
                    ch.close();
                    n++;
                }
            }
            return n;
        }, loop);
    }

    /** The bound address of a VIP's listener (tests, the demo); empty when not bound. */
    public java.util.Optional<InetSocketAddress> listenAddress(String vipName) {
        try {
            return CompletableFuture.supplyAsync(() -> {
                VipState vs = vips.get(vipName);
                return vs == null || vs.listener == null
                        ? java.util.Optional.<InetSocketAddress>empty()
                        : java.util.Optional.of(vs.listener.localAddress());
            }, loop).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        try {
            CompletableFuture.runAsync(() -> {
                for (VipState vs : vips.values()) {
                    closeListener(vs);
                    metrics.unbindVip(vs.vip.name());
                }
                vips.clear();
            }, loop).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("control loop close failed error=\"{}\"", e.toString());
        } finally {
            loop.shutdownNow();
        }
    }

    // ---------------------------------------------------------------- on the loop thread

    /**
     * Diffs {@code next} against the current state and swaps. Listeners for new VIPs are bound
     * first; if any bind fails, the ones just bound are closed and nothing else changes.
     */
    private ReloadOutcome apply(TandemConfig next, String why) {
        List<String> changes = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        Map<String, VipConfig> wanted = new LinkedHashMap<>();
        for (VipConfig v : next.vips()) {
            wanted.put(v.name(), v);
        }

        // Phase 1: everything that can fail, without touching the running state.
        Map<String, Map<HostPort, InetSocketAddress>> resolved = new HashMap<>();
        for (VipConfig v : next.vips()) {
            if (v.protocol() == Protocol.UDP) {
                errors.add("vips[" + v.name() + "].protocol: udp (expected tcp: UDP VIPs are not supported yet)");
                continue;
            }
            Map<HostPort, InetSocketAddress> addrs = new LinkedHashMap<>();
            for (BackendConfig b : v.backends()) {
                try {
                    InetAddress ip = InetAddress.getByName(b.address().host());
                    addrs.put(b.address(), new InetSocketAddress(ip, b.address().port()));
                } catch (UnknownHostException e) {
                    errors.add("vips[" + v.name() + "].backends: " + b.address() + " (expected a resolvable host: "
                            + e.getMessage() + ")");
                }
            }
            resolved.put(v.name(), addrs);
        }
        Map<String, VipState> fresh = new LinkedHashMap<>();
        if (errors.isEmpty()) {
            for (VipConfig v : next.vips()) {
                VipState current = vips.get(v.name());
                boolean rebind = current == null || !current.config.listen().equals(v.listen())
                        || current.config.protocol() != v.protocol() || current.listener == null;
                if (draining || !rebind) {
                    continue; // a draining node binds nothing new; an unchanged listener stays
                }
                VipState vs = new VipState(v, new Vip(v.name(), emptyPool(v)));
                try {
                    vs.listener = TcpListener.bind(vs.vip, workers, transport, events()).join();
                    fresh.put(v.name(), vs);
                } catch (CompletionException e) {
                    Throwable cause = e.getCause() == null ? e : e.getCause();
                    errors.add("vips[" + v.name() + "].listen: " + v.listen() + " (expected a bindable address: "
                            + cause.getMessage() + ")");
                }
            }
        }
        if (!errors.isEmpty()) {
            fresh.values().forEach(this::closeListener);
            metrics.counter("tandem.reloads", "result", "rejected").increment();
            log.warn("config rejected why={} errors={} first=\"{}\"", why, errors.size(), errors.getFirst());
            return new ReloadOutcome(false, generation, List.of(), errors);
        }

        // Phase 2: swap. Nothing below can fail for config reasons.
        Instant now = clock.instant();
        for (var it = vips.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            VipConfig v = wanted.get(e.getKey());
            boolean replaced = fresh.containsKey(e.getKey());
            if (v == null || replaced) {
                closeListener(e.getValue());
                metrics.unbindVip(e.getKey());
                it.remove();
                if (v == null) {
                    changes.add("removed vip " + e.getKey());
                    log.info("vip removed vip={} listen={}", e.getKey(), e.getValue().config.listen());
                }
            }
        }
        for (VipConfig v : next.vips()) {
            VipState vs = fresh.get(v.name());
            if (vs != null) {
                vips.put(v.name(), vs);
                metrics.bindVip(vs.vip);
                changes.add("listening vip " + v.name() + " on " + vs.listener.localAddress());
                log.info("vip listening vip={} listen={} protocol={} policy={} backends={}", v.name(),
                        vs.listener.localAddress(), v.protocol().name().toLowerCase(java.util.Locale.ROOT),
                        v.policy().configName(), v.backends().size());
            } else {
                vs = vips.get(v.name());
                if (vs == null) {
                    continue; // draining node: no new VIPs
                }
                if (!vs.config.equals(v)) {
                    changes.add("updated vip " + v.name());
                }
            }
            vs.config = v;
            syncBackends(vs, resolved.get(v.name()), now, changes);
            publish(vs);
        }
        vips.keySet().retainAll(wanted.keySet());
        config = next;
        generation++;
        configLoadedAt = now;
        metrics.counter("tandem.reloads", "result", "applied").increment();
        log.info("config applied why={} generation={} vips={} changes={}", why, generation, vips.size(),
                changes.size());
        return new ReloadOutcome(true, generation, changes, List.of());
    }

    /** Adds, keeps (same counters, maybe a new weight) and removes backends to match the config. */
    private void syncBackends(VipState vs, Map<HostPort, InetSocketAddress> addrs, Instant now, List<String> changes) {
        Map<HostPort, Integer> weights = new LinkedHashMap<>();
        for (BackendConfig b : vs.config.backends()) {
            weights.put(b.address(), b.weight());
        }
        for (var it = vs.backends.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!weights.containsKey(e.getKey())) {
                it.remove();
                metrics.unbindBackend(vs.vip.name(), e.getKey().toString());
                changes.add("removed backend " + e.getKey() + " from " + vs.vip.name());
                log.info("backend removed vip={} backend={}", vs.vip.name(), e.getKey());
            }
        }
        for (var w : weights.entrySet()) {
            BackendState bs = vs.backends.get(w.getKey());
            if (bs == null) {
                Backend b = Backend.of(w.getKey(), addrs.get(w.getKey()), w.getValue());
                BackendState fresh = new BackendState(b, "static");
                vs.backends.put(w.getKey(), fresh);
                metrics.bindBackend(vs.vip, b, fresh::eligible);
                changes.add("added backend " + w.getKey() + " to " + vs.vip.name());
                log.info("backend added vip={} backend={} weight={} origin=static", vs.vip.name(), w.getKey(),
                        w.getValue());
            } else if (bs.backend().weight() != w.getValue()) {
                bs.backend(bs.backend().withWeight(w.getValue()));
                changes.add("reweighted backend " + w.getKey() + " of " + vs.vip.name());
            }
        }
    }

    /** Builds and publishes a new immutable snapshot for {@code vs}. */
    private void publish(VipState vs) {
        List<Backend> eligible = new ArrayList<>();
        for (BackendState bs : vs.backends.values()) {
            if (bs.eligible()) {
                eligible.add(bs.backend());
            }
        }
        BackendPool pool = new BackendPool(vs.config, eligible, Policies.create(vs.config.policy(), eligible),
                false, ++vs.poolGeneration);
        vs.vip.publish(pool);
        log.debug("pool published vip={} generation={} eligible={}/{}", vs.vip.name(), pool.generation(),
                eligible.size(), vs.backends.size());
    }

    private static BackendPool emptyPool(VipConfig v) {
        return new BackendPool(v, List.of(), Policies.create(v.policy(), List.of()), false, 0);
    }

    private void closeListener(VipState vs) {
        if (vs.listener != null) {
            try {
                vs.listener.close().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                log.warn("listener close failed vip={} error=\"{}\"", vs.vip.name(), e.toString());
            }
            vs.listener = null;
        }
    }

    private ConnectionEvents events() {
        return ConnectionEvents.NONE;
    }

    private NodeView buildView() {
        List<VipView> vv = new ArrayList<>();
        for (VipState vs : vips.values()) {
            BackendPool pool = vs.vip.pool();
            var st = vs.vip.stats();
            List<BackendView> bv = vs.backends.values().stream().map(ControlLoop::backendView).toList();
            vv.add(new VipView(vs.vip.name(), vs.config.listen().toString(),
                    vs.config.protocol().name().toLowerCase(java.util.Locale.ROOT), vs.config.policy().configName(),
                    vs.config.relay().name().toLowerCase(java.util.Locale.ROOT),
                    vs.config.proxyProtocol().name().toLowerCase(java.util.Locale.ROOT), vs.listener != null,
                    pool.panic(), pool.generation(), pool.backends().size(), st.active.get(),
                    st.totalConnections.sum(), st.bytesIn.sum(), st.bytesOut.sum(), st.connectRetries.sum(),
                    st.noBackend.sum(), st.limitHits.sum(), bv));
        }
        boolean ready = config != null && !draining && vips.values().stream().allMatch(v -> v.listener != null);
        return new NodeView(nodeName, startedAt, transport.name(), configSourceName, generation,
                Objects.requireNonNullElse(configLoadedAt, startedAt), ready, draining, vv);
    }

    private static BackendView backendView(BackendState bs) {
        Backend b = bs.backend();
        var s = b.stats();
        return new BackendView(b.address().toString(), b.weight(), bs.origin(), bs.flags(), bs.eligible(),
                s.active.get(), s.totalConnections.sum(), s.bytesIn.sum(), s.bytesOut.sum(),
                s.connectFailures.sum(), bs.recentTransitions());
    }
}
