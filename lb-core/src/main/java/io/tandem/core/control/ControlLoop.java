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
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.tcp.TcpListener;
import io.tandem.core.transport.Transport;
import io.tandem.core.udp.UdpListener;
import io.tandem.core.udp.UdpSettings;
import io.tandem.core.vip.Vip;
import io.tandem.ha.HaView;
import io.tandem.health.HealthFlag;
import io.tandem.health.check.HealthChecker;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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
 * <p>A reload is validate → compile → swap: the new config is read, parsed and validated whole
 * and its backend host names are looked up <em>off</em> this loop ({@link ReloadPipeline},
 * {@link NameKeeper}), so a huge file or a slow DNS server never delays a health verdict; only
 * the swap runs here. New listeners are bound before anything is swapped, and if any step fails
 * the previous config stays in force untouched. Every difference is either applied or reported
 * as needing a restart ({@link ConfigChanges}). Existing connections are never cut by a reload
 * — they keep the snapshot they were accepted with, and removing a VIP only closes its listening
 * sockets.
 *
 * <p>Backends written as host names follow their DNS answers for as long as the node runs: each
 * address of a name is a backend (Envoy {@code STRICT_DNS}); an address that goes away leaves
 * the pool while its connections finish, a new one joins; a name without an address is shown as
 * an {@code UNRESOLVED} placeholder with the reason ({@link NameTable} has the rules).
 */
public final class ControlLoop implements NodeControl, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlLoop.class);

    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("tandem-control").daemon(true).factory());
    private final String nodeName;
    private final Transport transport;
    private final EventLoopGroup workers;
    private final Metrics metrics;
    private final Supplier<ConfigResult> configSource;
    private final String configSourceName;
    private final Clock clock;
    private final Instant startedAt;
    private final HealthKeeper health;
    private final NameKeeper names;
    private final ReloadPipeline reloads;
    private final List<Consumer<TandemConfig>> applyListeners = new CopyOnWriteArrayList<>();
    private final Discovery discovery = new Discovery();
    /** VIPs declared by discovery (Marathon labels), as last adopted. Loop thread. */
    private Map<String, VipConfig> declaredVips = Map.of();

    // Confined to the loop thread.
    private final Map<String, VipState> vips = new LinkedHashMap<>();
    /** The config in force (restart-only keys at their running values). Written on the loop only. */
    private volatile TandemConfig config;
    /** Written on the loop only; read by rejected reloads off it. */
    private volatile long generation;
    private Instant configLoadedAt;
    private boolean draining;
    /** The start-up warm-up is over (see {@link #startupWarming}); never goes back. */
    private boolean warmedUp;

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
        // Checks run on the data-path loops (timers, never a thread per check); their verdicts
        // arrive on this control loop, in order.
        HealthChecker checker = new HealthChecker(workers, transport.socketChannel(), transport.datagramChannel(), loop,
                clock);
        this.health = new HealthKeeper(loop, checker, metrics, clock, vips::get, this::publish,
                () -> config.runtime().drainTimeout());
        DnsClient.HostsFile hosts = DnsClient.HostsFile.system();
        this.names = new NameKeeper(loop, metrics, dns -> new DnsClient(dns, workers, transport.datagramChannel(),
                transport.socketChannel(), hosts), this::onNameChanged);
        this.reloads = new ReloadPipeline(this::runReload, this::reloadCrashed);
    }

    /**
     * Calls {@code listener} on the loop after every applied config (the start, each reload, each
     * discovery-declared VIP change) with the config now in force — e.g. the admin server takes a
     * rotated token from it. Must be idempotent and quick; what it throws is logged and ignored.
     */
    public void addApplyListener(Consumer<TandemConfig> listener) {
        applyListeners.add(requireNonNull(listener, "listener"));
    }

    /** The config in force: the last applied, with restart-only keys at their running values. */
    public TandemConfig config() {
        return config;
    }

    /** Receives this node's passive ejections (the HA peer link shares them with the other nodes). */
    @FunctionalInterface
    public interface EjectionListener {
        void ejected(String vip, HostPort backend, String reason);
    }

    /** The HA group's view; null until {@link #attachHa} (a node without an {@code ha} section). */
    private volatile Supplier<HaView> haView;

    /** Connects the HA group: its view for the admin API and where to report passive ejections. */
    public void attachHa(Supplier<HaView> view, EjectionListener ejections) {
        this.haView = requireNonNull(view, "view");
        health.onEjection(requireNonNull(ejections, "ejections"));
    }

    @Override
    public Optional<HaView> haView() {
        Supplier<HaView> v = haView;
        return v == null ? Optional.empty() : Optional.of(v.get());
    }

    /**
     * A peer node ejected {@code backend} of {@code vip} by passive detection: probe it here at once
     * (shared health view) so both nodes stop sending to a dead backend within milliseconds of each
     * other. The peer's verdict is a hint; this node's own check decides.
     */
    public void peerEjected(String vip, HostPort backend, String reason) {
        loop.execute(() -> {
            VipState vs = vips.get(vip);
            BackendState bs = vs == null ? null : vs.backends.get(backend);
            if (bs == null) {
                return;
            }
            boolean probed = health.probeNow(bs);
            log.info("peer ejected backend vip={} backend={} peer_reason=\"{}\" probed={}", vip, backend, reason,
                    probed);
            metrics.counter("tandem.ha.peer.ejections", "vip", vip).increment();
        });
    }

    /** The passive signals the data path reports into this loop. */
    public ConnectionEvents connectionEvents() {
        return health.connectionEvents();
    }

    /**
     * Applies the first config (its host names looked up first, off the loop). The outcome is not
     * applied when it cannot be (e.g. a port in use); a name that does not resolve is no reason.
     */
    public CompletableFuture<ReloadOutcome> start(TandemConfig initial) {
        requireNonNull(initial, "initial");
        return reloads.runAlone(() -> prepareAndApply(initial, "start"));
    }

    /**
     * Re-reads the source and applies it, off the loop but for the swap; coalesces with a reload
     * in flight ({@link ReloadPipeline}). Always answers: a source that throws — even an
     * {@link OutOfMemoryError} — is a rejected reload, logged with its reason whoever asked
     * (SIGHUP, the file watcher or the admin API).
     */
    @Override
    public CompletableFuture<ReloadOutcome> reload() {
        return reloads.request();
    }

    /** One reload, on the reload thread. */
    private ReloadOutcome runReload() {
        ConfigResult result;
        try {
            result = configSource.get();
        } catch (Throwable t) { // OutOfMemoryError and StackOverflowError included: the node lives on
            return rejected("cannot read the config", List.of(configSourceName + ": cannot read the config ("
                    + describe(t) + ")"), t);
        }
        return switch (result) {
            case ConfigResult.Invalid invalid -> {
                List<String> errors = invalid.errors().stream().map(Object::toString).toList();
                log.warn("reload rejected source={} errors={} first=\"{}\"", configSourceName, errors.size(),
                        errors.isEmpty() ? "?" : errors.getFirst());
                metrics.counter("tandem.reloads", "result", "rejected").increment();
                yield new ReloadOutcome(false, generation, List.of(), errors);
            }
            case ConfigResult.Valid valid -> prepareAndApply(valid.config(), "reload");
        };
    }

    /** Looks the config's host names up here (off the loop), then posts the swap to the loop and waits. */
    private ReloadOutcome prepareAndApply(TandemConfig next, String why) {
        NameKeeper.Prepared prepared = names.prepare(next);
        try {
            return CompletableFuture.supplyAsync(() -> apply(next, why, prepared), loop).join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /** A run that threw past its own handling (a bug, or memory running out while applying). */
    private ReloadOutcome reloadCrashed(Throwable t) {
        return rejected("reload failed", List.of(configSourceName + ": reload failed (" + describe(t) + ")"), t);
    }

    private ReloadOutcome rejected(String what, List<String> errors, Throwable t) {
        log.error("reload rejected source={} reason=\"{}: {}\"", configSourceName, what, describe(t), t);
        metrics.counter("tandem.reloads", "result", "rejected").increment();
        return new ReloadOutcome(false, generation, List.of(), errors);
    }

    /** "java.lang.OutOfMemoryError: Java heap space" — the class says what kind of trouble it is. */
    private static String describe(Throwable t) {
        Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        return c.getMessage() == null ? c.getClass().getName() : c.getClass().getName() + ": " + c.getMessage();
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
            boolean wasEligible = bs.eligible();
            boolean changed = switch (action) {
                case DRAIN -> {
                    bs.operatorDraining = true;
                    yield bs.flag(HealthFlag.DRAINING, true, "operator drain", now);
                }
                case DISABLE -> bs.flag(HealthFlag.DISABLED, true, "operator disable", now);
                case ENABLE -> {
                    bs.operatorDraining = false;
                    // A drain the discovery source asked for (TASK_KILLING) is not the operator's to lift.
                    yield bs.flag(HealthFlag.DRAINING, bs.sourceDraining, "operator enable", now)
                            | bs.flag(HealthFlag.DISABLED, false, "operator enable", now);
                }
            };
            log.info("backend action vip={} backend={} action={} changed={} flags={}", vipName, address,
                    action.name().toLowerCase(java.util.Locale.ROOT), changed, bs.flags());
            if (action == BackendAction.DRAIN && changed) {
                health.scheduleDrainDeadline(vs, bs);
            } else if (action == BackendAction.ENABLE && bs.drainDeadline != null) {
                bs.drainDeadline.cancel(false);
                bs.drainDeadline = null;
            }
            if (changed) {
                health.afterFlagChange(vs, bs, wasEligible, false);
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

    /**
     * Cuts every remaining connection of every VIP (end of a drain deadline): both peers get a
     * reset, so none mistakes a cut stream for a complete one.
     */
    public CompletableFuture<Integer> closeAllConnections() {
        return CompletableFuture.supplyAsync(() -> {
            int n = 0;
            for (VipState vs : vips.values()) {
                for (var c : List.copyOf(vs.vip.connections())) {
                    c.reset();
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
        reloads.close();
        try {
            CompletableFuture.runAsync(() -> {
                names.close();
                for (VipState vs : vips.values()) {
                    closeListener(vs);
                    vs.backends.values().forEach(BackendState::stopCheck);
                    metrics.unbindVip(vs.vip.name());
                }
                vips.clear();
                discovery.close();
                health.close();
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
     *
     * @param prepared the lookups of {@code next}'s host names, done off the loop; null when the
     *                 config in force is applied again (a discovery-declared VIP changed)
     */
    private ReloadOutcome apply(TandemConfig next, String why, NameKeeper.Prepared prepared) {
        List<String> changes = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        ConfigChanges.Report report = ConfigChanges.between(config == null ? next : config, next);
        List<String> needsRestart = new ArrayList<>(report.needsRestart());
        // A VIP that keeps its listener keeps the UDP options it was bound with (they size its
        // buffers and session table): a change there needs a restart, or a new listen address.
        List<VipConfig> fileVips = new ArrayList<>();
        for (VipConfig v : next.vips()) {
            VipState current = vips.get(v.name());
            if (current != null && keepsListener(current, v) && !current.config.udp().equals(v.udp())) {
                needsRestart.addAll(ConfigChanges.udpNeedsRestart(v.name(), current.config.udp(), v.udp()));
                v = ConfigChanges.withUdp(v, current.config.udp());
            }
            fileVips.add(v);
        }
        TandemConfig effective = new TandemConfig(report.effective().runtime(), report.effective().admin(),
                report.effective().discovery(), fileVips, report.effective().ha());
        // The VIPs to run: the file's, plus those discovery declares (Marathon VIP labels) that do
        // not clash with a file VIP. A declared VIP that cannot run is dropped alone, with a warning;
        // a file VIP that cannot run rejects the whole config.
        Map<String, VipConfig> wanted = new LinkedHashMap<>();
        Set<String> fileListens = new HashSet<>();
        for (VipConfig v : effective.vips()) {
            wanted.put(v.name(), v);
            fileListens.add(v.protocol() + " " + v.listen());
        }
        Set<String> declaredNames = new HashSet<>();
        for (VipConfig v : declaredVips.values()) {
            if (wanted.containsKey(v.name()) || fileListens.contains(v.protocol() + " " + v.listen())) {
                log.warn("declared vip ignored vip={} listen={} reason=\"a config file VIP has the same name or "
                        + "address\"", v.name(), v.listen());
                continue;
            }
            wanted.put(v.name(), v);
            declaredNames.add(v.name());
        }

        // Phase 1: everything that can fail, without touching the running state. (Host names
        // were looked up before; one that does not resolve is held as UNRESOLVED, not an error.)
        Map<String, VipState> fresh = new LinkedHashMap<>();
        for (VipConfig v : wanted.values()) {
            VipState current = vips.get(v.name());
            if (draining || (current != null && keepsListener(current, v))) {
                continue; // a draining node binds nothing new; an unchanged listener stays
            }
            VipState vs = new VipState(v, new Vip(v.name(), emptyPool(v)));
            try {
                vs.listener = bind(vs);
                fresh.put(v.name(), vs);
            } catch (CompletionException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                if (declaredNames.remove(v.name())) {
                    wanted.remove(v.name());
                    log.warn("declared vip ignored vip={} listen={} reason=\"cannot bind: {}\"", v.name(),
                            v.listen(), cause.getMessage());
                } else {
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
        if (prepared != null) {
            names.adopt(next.runtime().dns(), prepared);
        }
        changes.addAll(report.live());
        for (var it = vips.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            VipConfig v = wanted.get(e.getKey());
            boolean replaced = fresh.containsKey(e.getKey());
            if (v == null || replaced) {
                closeListener(e.getValue());
                health.stopHealth(e.getValue());
                metrics.unbindVip(e.getKey());
                it.remove();
                if (v == null) {
                    changes.add("removed vip " + e.getKey());
                    log.info("vip removed vip={} listen={}", e.getKey(), e.getValue().config.listen());
                }
            }
        }
        for (VipConfig v : wanted.values()) {
            VipState vs = fresh.get(v.name());
            if (vs != null) {
                vips.put(v.name(), vs);
                metrics.bindVip(vs.vip);
                changes.add("listening vip " + v.name() + " on " + vs.listener.localAddress());
                log.info("vip listening vip={} listen={} protocol={} policy={} backends={} service={} origin={}",
                        v.name(), vs.listener.localAddress(), v.protocol().name().toLowerCase(java.util.Locale.ROOT),
                        v.policy().configName(), v.backends().size(), v.service().orElse("-"),
                        declaredNames.contains(v.name()) ? "discovery" : "config");
            } else {
                vs = vips.get(v.name());
                if (vs == null) {
                    continue; // draining node: no new VIPs
                }
                List<String> fields = ConfigChanges.vipFields(vs.config, v);
                if (!fields.isEmpty()) {
                    changes.add("updated vip " + v.name() + " (" + String.join(", ", fields) + ")");
                }
            }
            VipConfig previous = vs.config;
            vs.config = v;
            syncBackends(vs, now, changes);
            health.syncHealth(vs, previous, now);
            publish(vs);
        }
        vips.keySet().retainAll(wanted.keySet());
        config = effective;
        generation++;
        configLoadedAt = now;
        discovery.configure(effective.discovery(), loop, this::onDiscoveryChanged);
        metrics.counter("tandem.reloads", "result", "applied").increment();
        log.info("config applied why={} generation={} vips={} changes={} needs_restart={}", why, generation,
                vips.size(), changes.size(), needsRestart.size());
        for (String line : needsRestart) {
            log.warn("config change not applied why={} change=\"{}\"", why, line);
        }
        for (Consumer<TandemConfig> l : applyListeners) {
            try {
                l.accept(effective);
            } catch (RuntimeException e) {
                log.warn("apply listener failed listener={} error=\"{}\"", l, e.toString());
            }
        }
        return new ReloadOutcome(true, generation, changes, needsRestart, List.of());
    }

    /** Whether {@code v} can keep {@code current}'s bound listener (same address and protocol). */
    private static boolean keepsListener(VipState current, VipConfig v) {
        return current.listener != null && current.config.listen().equals(v.listen())
                && current.config.protocol() == v.protocol();
    }

    /** Binds the VIP's listener (blocking this loop briefly; the bind itself runs on an event loop). */
    private VipState.Bound bind(VipState vs) {
        VipConfig v = vs.config;
        if (v.protocol() == Protocol.UDP) {
            var o = v.udp();
            UdpSettings settings = UdpSettings.DEFAULTS.withMaxDatagramSize(o.maxDatagramSize())
                    .withSessionIdle(o.sessionIdle()).withMaxSessions(o.maxSessions())
                    .withResponsesPerRequest(o.responsesPerRequest());
            UdpListener l = UdpListener.bind(vs.vip, workers, transport, health.connectionEvents(), settings).join();
            metrics.bindUdp(v.name(), l.stats());
            return new VipState.Bound(l::localAddress, l::close);
        }
        TcpListener l = TcpListener.bind(vs.vip, workers, transport, health.connectionEvents()).join();
        return new VipState.Bound(l::localAddress, l::close);
    }

    /**
     * A discovery source reported: adopt VIPs it declares (or drops), and re-sync the backends of
     * every VIP bound to a discovered service. Loop thread.
     */
    private void onDiscoveryChanged(String source) {
        if (config == null) {
            return;
        }
        Map<String, VipConfig> declared = discovery.declaredVips();
        if (!declared.equals(declaredVips)) {
            declaredVips = declared;
            ReloadOutcome o = apply(config, "discovery:" + source, null);
            if (!o.applied()) {
                log.warn("discovery update not applied source={} errors={}", source, o.errors());
            }
            return;
        }
        Instant now = clock.instant();
        List<String> changes = new ArrayList<>();
        for (VipState vs : vips.values()) {
            if (vs.config.service().isPresent()) {
                syncBackends(vs, now, changes);
                health.syncHealth(vs, vs.config, now);
                publish(vs);
            }
        }
        if (!changes.isEmpty()) {
            log.info("discovery applied source={} changes={}", source, changes.size());
        }
    }

    /** What a VIP's backends should be: its static backends plus its service's discovered endpoints. */
    private record Desired(InetSocketAddress socketAddress, int weight, String origin, boolean sourceDraining,
                           boolean unhealthyInSource) {
    }

    /**
     * A host name's addresses changed (its TTL ran out and DNS answered differently): re-sync
     * the VIPs that use it — an address gone leaves the pool (its connections finish), a new one
     * joins (checked first, when the VIP has a check). Loop thread.
     */
    private void onNameChanged(String name) {
        if (config == null) {
            return;
        }
        Instant now = clock.instant();
        List<String> changes = new ArrayList<>();
        for (VipState vs : vips.values()) {
            if (vs.config.backends().stream().anyMatch(b -> b.address().host().equals(name))) {
                syncBackends(vs, now, changes);
                health.syncHealth(vs, vs.config, now);
                publish(vs);
            }
        }
        if (!changes.isEmpty()) {
            log.info("dns applied name={} changes={}", name, changes);
        }
    }

    /**
     * What a VIP's backends should be: its static backends (a host name stands for each of its
     * current addresses) plus its service's discovered endpoints. An IP literal wins over the
     * same address reached through a name or discovery.
     */
    private Map<HostPort, Desired> desired(VipState vs) {
        Map<HostPort, Desired> out = new LinkedHashMap<>();
        for (BackendConfig b : vs.config.backends()) {
            InetAddress ip = NameKeeper.literal(b.address().host());
            if (ip != null) {
                out.put(b.address(), new Desired(new InetSocketAddress(ip, b.address().port()), b.weight(), "static",
                        false, false));
            }
        }
        for (BackendConfig b : vs.config.backends()) {
            names.backends(b).forEach((hp, socketAddress) -> out.putIfAbsent(hp, new Desired(socketAddress,
                    b.weight(), "dns:" + b.address().host(), false, false)));
        }
        vs.config.service().ifPresent(service -> {
            for (Discovery.Resolved r : discovery.endpoints(service)) {
                var ep = r.endpoint();
                out.putIfAbsent(ep.address(), new Desired(r.socketAddress(), Math.max(ep.weight(), 0), ep.origin(),
                        ep.draining() || ep.weight() == 0, !ep.healthyInSource()));
            }
        });
        return out;
    }

    /**
     * Adds, keeps (same counters, maybe a new weight) and removes backends to match the config and
     * discovery. A removed backend leaves the pool; its open connections finish on their own.
     */
    private void syncBackends(VipState vs, Instant now, List<String> changes) {
        Map<HostPort, Desired> want = desired(vs);
        for (var it = vs.backends.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!want.containsKey(e.getKey())) {
                it.remove();
                e.getValue().stopCheck();
                if (e.getValue().drainDeadline != null) {
                    e.getValue().drainDeadline.cancel(false);
                }
                metrics.unbindBackend(vs.vip.name(), e.getKey().toString());
                changes.add("removed backend " + e.getKey() + " from " + vs.vip.name());
                log.info("backend removed vip={} backend={} origin={} open_connections={}", vs.vip.name(), e.getKey(),
                        e.getValue().origin(), vs.vip.connectionsTo(e.getValue().backend()));
            }
        }
        for (var w : want.entrySet()) {
            Desired d = w.getValue();
            BackendState bs = vs.backends.get(w.getKey());
            if (bs == null) {
                Backend b = Backend.of(w.getKey(), d.socketAddress(), Math.max(1, d.weight()));
                bs = new BackendState(b, d.origin());
                bs.eligibleSince = now;
                vs.backends.put(w.getKey(), bs);
                metrics.bindBackend(vs.vip, b, bs::eligible);
                changes.add("added backend " + w.getKey() + " to " + vs.vip.name());
                log.info("backend added vip={} backend={} weight={} origin={}", vs.vip.name(), w.getKey(),
                        d.weight(), d.origin());
            } else if (bs.backend().weight() != Math.max(1, d.weight())) {
                bs.backend(bs.backend().withWeight(Math.max(1, d.weight())));
                changes.add("reweighted backend " + w.getKey() + " of " + vs.vip.name());
            }
            // Flags the discovery source owns: draining (TASK_KILLING, enabled=false) and its own health.
            boolean was = bs.eligible();
            bs.sourceDraining = d.sourceDraining();
            boolean changed = bs.flag(HealthFlag.DRAINING, bs.sourceDraining || bs.operatorDraining,
                    d.sourceDraining() ? "draining in source " + d.origin() : "source no longer draining", now);
            changed |= bs.flag(HealthFlag.UNHEALTHY_IN_SOURCE, d.unhealthyInSource(), d.unhealthyInSource()
                    ? "unhealthy in source " + d.origin() : "healthy in source", now);
            if (changed) {
                log.info("backend source flags vip={} backend={} flags={} origin={}", vs.vip.name(), w.getKey(),
                        bs.flags(), d.origin());
                health.afterFlagChange(vs, bs, was, true);
            }
        }
        names.syncUnresolved(vs, now, changes);
    }

    /** Builds and publishes a new immutable snapshot for {@code vs} (panic and slow start included). */
    private void publish(VipState vs) {
        List<PoolBuilder.Member> members = new ArrayList<>(vs.backends.size());
        for (BackendState bs : vs.backends.values()) {
            members.add(new PoolBuilder.Member(bs.backend(), bs.flags(), bs.eligibleSince));
        }
        PoolBuilder.Built built = PoolBuilder.build(vs.config, members, clock.instant(), ++vs.poolGeneration);
        BackendPool before = vs.vip.pool();
        vs.vip.publish(built.pool());
        // Cut after publishing, never before: a connection picking from the old snapshot in
        // between would reach the backend after the sweep and stay. One that still does (it read
        // the old snapshot just before the publish) sees this one when it connects and cuts itself.
        for (Backend b : built.pool().cut()) {
            if (!before.cuts(b)) {
                int closed = vs.vip.closeConnectionsTo(b);
                if (closed > 0) {
                    log.info("connections closed vip={} backend={} count={} reason=\"backend down, close_on_backend_down\"",
                            vs.vip.name(), b.address(), closed);
                }
            }
        }
        if (built.warming() != vs.warming) {
            // Not a panic: every VIP with a check starts like this (docs/health.md "Start-up").
            vs.warming = built.warming();
            if (built.warming()) {
                vs.warmingSince = clock.instant();
                log.info("vip warming vip={} awaiting_first_check={}/{} reason=\"no backend has passed a check yet: "
                        + "routing to the backends still awaiting their first check\"", vs.vip.name(), built.awaiting(),
                        built.known());
            } else {
                log.info("vip warm vip={} eligible={}/{} after_ms={}", vs.vip.name(), built.eligible(), built.known(),
                        java.time.Duration.between(vs.warmingSince, clock.instant()).toMillis());
            }
        }
        if (built.panic() != vs.panic) {
            vs.panic = built.panic();
            if (built.panic()) {
                log.warn("vip panic vip={} eligible={}/{} panic_threshold={}% routing_to={} reason=\"too few eligible "
                        + "backends: routing to every backend an operator has not drained\"", vs.vip.name(),
                        built.eligible(), built.known(), vs.config.health().panicThresholdPercent(),
                        built.pool().backends().size());
                metrics.counter("tandem.vip.panic.entered", "vip", vs.vip.name()).increment();
            } else {
                log.info("vip panic over vip={} eligible={}/{}", vs.vip.name(), built.eligible(), built.known());
            }
        }
        if (built.ramping() && vs.rampTimer == null) {
            long step = Math.max(100, vs.config.health().slowStart().toMillis() / 10);
            vs.rampTimer = loop.schedule(() -> {
                vs.rampTimer = null;
                if (vips.get(vs.vip.name()) == vs) {
                    publish(vs);
                }
            }, step, TimeUnit.MILLISECONDS);
        }
        log.debug("pool published vip={} generation={} eligible={}/{} panic={} warming={} ramping={}", vs.vip.name(),
                built.pool().generation(), built.eligible(), built.known(), built.panic(), built.warming(),
                built.ramping());
        startupWarming(clock.instant()); // ends the node's warm-up as soon as the last first verdict arrives
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

    private NodeView buildView() {
        List<VipView> vv = new ArrayList<>();
        for (VipState vs : vips.values()) {
            BackendPool pool = vs.vip.pool();
            var st = vs.vip.stats();
            List<BackendView> bv = java.util.stream.Stream.concat(vs.backends.values().stream(),
                    vs.unresolved.values().stream()).map(ControlLoop::backendView).toList();
            vv.add(new VipView(vs.vip.name(), vs.config.listen().toString(),
                    vs.config.protocol().name().toLowerCase(java.util.Locale.ROOT), vs.config.policy().configName(),
                    vs.config.relay().name().toLowerCase(java.util.Locale.ROOT),
                    vs.config.proxyProtocol().name().toLowerCase(java.util.Locale.ROOT), vs.listener != null,
                    pool.panic(), vs.warming, pool.generation(),
                    (int) vs.backends.values().stream().filter(BackendState::eligible).count(), st.active.get(),
                    st.totalConnections.sum(), st.bytesIn.sum(), st.bytesOut.sum(), st.connectRetries.sum(),
                    st.noBackend.sum(), st.limitHits.sum(), bv));
        }
        boolean warming = startupWarming(clock.instant());
        boolean ready = config != null && !draining && !warming
                && vips.values().stream().allMatch(v -> v.listener != null);
        return new NodeView(nodeName, startedAt, transport.name(), configSourceName, generation,
                Objects.requireNonNullElse(configLoadedAt, startedAt), ready, draining, warming, vv,
                discovery.views(), discovery.namedVips());
    }

    /**
     * Whether the node is still warming up (Envoy's cluster warming, for readiness only): just
     * started, and some backend still awaits its first check. Bounded per VIP by
     * {@code fall × (timeout + fast_interval) + interval} from the start, the longest a first
     * verdict takes, so a check that never concludes cannot hold readiness. Once over it stays
     * over: a reload or discovery adding backends later does not make a serving node unready.
     */
    private boolean startupWarming(Instant now) {
        if (warmedUp || config == null) {
            return false;
        }
        boolean awaiting = false;
        Instant deadline = startedAt;
        for (VipState vs : vips.values()) {
            var check = vs.config.healthCheck();
            if (check.isEmpty()) {
                continue;
            }
            var t = check.get().timing();
            Instant limit = startedAt.plus(t.timeout().plus(t.fastInterval()).multipliedBy(t.fall()))
                    .plus(t.interval());
            deadline = limit.isAfter(deadline) ? limit : deadline;
            awaiting |= vs.backends.values().stream().anyMatch(b -> b.has(HealthFlag.PENDING_FIRST_CHECK));
        }
        if (!awaiting || !now.isBefore(deadline)) {
            warmedUp = true;
            if (deadline.isAfter(startedAt)) { // some VIP has a check, so there was a warm-up
                log.info("node warm after_ms={} first_checks=\"{}\"",
                        java.time.Duration.between(startedAt, now).toMillis(),
                        awaiting ? "some still pending at the warm-up limit" : "all answered");
            }
            return false;
        }
        return true;
    }

    private static BackendView backendView(BackendState bs) {
        Backend b = bs.backend();
        var s = b.stats();
        return new BackendView(b.address().toString(), b.weight(), bs.origin(), bs.state(), bs.flags(),
                bs.eligible(), s.active.get(), s.totalConnections.sum(), s.bytesIn.sum(), s.bytesOut.sum(),
                s.connectFailures.sum(), bs.recentTransitions());
    }
}
