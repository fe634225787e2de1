package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.netty.channel.EventLoopGroup;
import io.tandem.config.ConfigResult;
import io.tandem.config.HostPort;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.NodeView.BackendView;
import io.tandem.core.control.Transaction.Proposal;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.ha.HaView;
import io.tandem.health.check.HealthChecker;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one owner of all mutable control-plane state (DESIGN §3.2), as a thin shell around the
 * pure {@link Reconciler}: everything that changes that state — a reload, an operator action, a
 * health verdict, a passive signal, a discovery snapshot, a DNS answer, a timer, a listener bound —
 * is posted to this loop's single thread as the reconciler's input, and the {@link Action}s it
 * returns are executed here by {@link Effects}. Only this thread publishes {@link
 * io.tandem.core.pool.BackendPool} snapshots to the data path, and nothing here waits: binds,
 * listener closes and DNS lookups complete elsewhere and post their results back.
 *
 * <p>A reload is validate → compile → swap: the new config is read, parsed and validated whole
 * and its backend host names are looked up <em>off</em> this loop ({@link ReloadPipeline},
 * {@link NameLookups}), so a huge file or a slow DNS server never delays a health verdict. The
 * reconciler binds the new listeners first and swaps only when all are bound; if any fails the
 * previous config stays in force untouched. Every difference is either applied or reported as
 * needing a restart ({@link ConfigChanges}). Existing connections are never cut by a reload.
 *
 * <p>Backends written as host names follow their DNS answers for as long as the node runs
 * ({@link NameKeeper}, {@link NameTable}).
 */
public final class ControlLoop implements NodeControl, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlLoop.class);

    /** A config waiting for its outcome, with the lookups made for it. */
    private record Pending(CompletableFuture<ReloadOutcome> answer, NameLookups.Prepared names) {
    }

    /** Where work that must not hold the control loop or an event loop runs (connection listing). */
    private static final java.util.concurrent.Executor OFF_LOOP = task -> Thread.ofVirtual()
            .name("tandem-admin-list").start(task);
    private volatile Thread loopThread;
    private final ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread t = Thread.ofPlatform().name("tandem-control").daemon(true).unstarted(task);
        loopThread = t;
        return t;
    });
    private final String nodeName;
    private final Transport transport;
    private final Metrics metrics;
    private final Supplier<ConfigResult> configSource;
    private final String configSourceName;
    private final Clock clock;
    private final NameLookups lookups;
    private final ReloadPipeline reloads;
    private final Discovery discovery = new Discovery();
    private final PassiveSignals signals;
    private final Effects effects;
    /** The single-point-of-failure report, recomputed on the loop at most once a second after a change. */
    private final PostureWatch posture;
    private final List<Consumer<TandemConfig>> applyListeners = new CopyOnWriteArrayList<>();
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private final AtomicLong requests = new AtomicLong();
    /** Confined to the loop thread. */
    private final Reconciler reconciler;
    /** An input is being handled (loop thread): what it posts waits its turn. */
    private boolean handling;
    /** The config in force and its generation, for other threads (the reconciler's, as last applied). */
    private volatile TandemConfig config;
    private volatile long generation;
    /** The HA group's view; null until {@link #attachHa} (a node without an {@code ha} section). */
    private volatile Supplier<HaView> haView;
    /** The announcer's view in BGP mode; null otherwise. */
    private volatile Supplier<io.tandem.ha.announce.Announcer.AnnounceView> announceView;

    /**
     * @param configSource re-read on every reload (the file behind {@code --config}); quick mode
     *                     passes a source that always returns the same config
     */
    public ControlLoop(String nodeName, Transport transport, EventLoopGroup workers, Metrics metrics,
                       Supplier<ConfigResult> configSource, String configSourceName, Clock clock) {
        this.nodeName = requireNonNull(nodeName, "nodeName");
        this.transport = requireNonNull(transport, "transport");
        this.metrics = requireNonNull(metrics, "metrics");
        this.configSource = requireNonNull(configSource, "configSource");
        this.configSourceName = requireNonNull(configSourceName, "configSourceName");
        this.clock = requireNonNull(clock, "clock");
        this.reconciler = new Reconciler(clock.instant());
        // Checks run on the data-path loops (timers, never a thread per check); their verdicts
        // arrive on this control loop, in order.
        HealthChecker checker = new HealthChecker(requireNonNull(workers, "workers"), transport.socketChannel(),
                transport.datagramChannel(), loop, clock);
        DnsClient.HostsFile hosts = DnsClient.HostsFile.system();
        this.lookups = new NameLookups(dns -> new DnsClient(dns, workers, transport.datagramChannel(),
                transport.socketChannel(), hosts));
        this.reloads = new ReloadPipeline(this::runReload, this::reloadCrashed);
        this.signals = new PassiveSignals(clock, this::post);
        this.effects = new Effects(loop, this::post, workers, transport, signals, checker, metrics, lookups, discovery,
                this::reply, this::onApplied);
        this.posture = new PostureWatch(metrics);
        loop.scheduleWithFixedDelay(this::postureTick, 1, 1, TimeUnit.SECONDS);
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

    /** Connects the HA group: its view for the admin API and where to report passive ejections. */
    public void attachHa(Supplier<HaView> view, EjectionListener ejections) {
        this.haView = requireNonNull(view, "view");
        effects.onEjection(requireNonNull(ejections, "ejections"));
    }

    /** The announcer's view ({@code ha.announce: {mode: bgp}}), for {@code /api/ha}. */
    public void attachAnnounce(Supplier<io.tandem.ha.announce.Announcer.AnnounceView> view) {
        this.announceView = requireNonNull(view, "view");
    }

    /**
     * For {@code ha.announce.withdraw_without_backends}: per VIP listen address, whether any VIP on
     * it has a backend eligible by its own health now (panic routing aside: a pool in panic routes
     * to backends that are not eligible, and that is what the announcer must not advertise). Asks
     * the loop; throws when it does not answer within a second (the announcer keeps its last verdicts).
     */
    public Map<String, Boolean> eligibleByAddress() {
        try {
            return ask((r, now) -> {
                Map<String, Boolean> out = new java.util.HashMap<>();
                for (VipState vs : r.vips()) {
                    boolean any = vs.backends.values().stream().anyMatch(BackendState::eligible);
                    out.merge(vs.config.listen().host(), any, Boolean::logicalOr);
                }
                return Map.copyOf(out);
            }).get(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading backend eligibility", e);
        } catch (Exception e) {
            throw new IllegalStateException("control loop did not answer: " + e, e);
        }
    }

    @Override
    public Optional<io.tandem.ha.announce.Announcer.AnnounceView> announceView() {
        Supplier<io.tandem.ha.announce.Announcer.AnnounceView> v = announceView;
        return v == null ? Optional.empty() : Optional.of(v.get());
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
        post((r, now) -> r.peerEjected(vip, backend, reason, now));
    }

    /** The passive signals the data path reports into this loop. */
    public ConnectionEvents connectionEvents() {
        return signals;
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

    /**
     * Looks the config's host names up here (off the loop), then proposes it to the reconciler and
     * waits — here, on the reload thread — until its listeners are bound and it is applied or rejected.
     */
    private ReloadOutcome prepareAndApply(TandemConfig next, String why) {
        NameLookups.Prepared prepared = lookups.prepare(next);
        long request = requests.incrementAndGet();
        CompletableFuture<ReloadOutcome> answer = new CompletableFuture<>();
        pending.put(request, new Pending(answer, prepared));
        if (!post((r, now) -> r.propose(new Proposal(request, next, why, prepared.answers()), now))) {
            pending.remove(request);
            throw new IllegalStateException("the node is stopping");
        }
        try {
            return answer.join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /** On the loop: a config's outcome for the caller waiting for it. */
    private void reply(long request, ReloadOutcome outcome) {
        Pending p = pending.remove(request);
        if (p != null) {
            p.answer().complete(outcome);
        }
    }

    /** On the loop: a config is in force. */
    private void onApplied(Action.Applied a) {
        config = a.config();
        generation = a.generation();
        Pending p = pending.get(a.request());
        if (p != null) {
            lookups.adopt(p.names());
        }
        for (Consumer<TandemConfig> l : applyListeners) {
            try {
                l.accept(a.config());
            } catch (RuntimeException e) {
                log.warn("apply listener failed listener={} error=\"{}\"", l, e.toString());
            }
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
            return ask((r, now) -> Views.node(nodeName, transport.name(), configSourceName, r, discovery, now))
                    .get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the node view", e);
        } catch (Exception e) {
            throw new IllegalStateException("control loop did not answer: " + e, e);
        }
    }

    /** A fresh single-point-of-failure report ({@code GET /api/posture}, {@code tandem doctor}). */
    @Override
    public PostureReport posture() {
        try {
            return ask((r, now) -> posture.now(r, discovery, now)).get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading the posture", e);
        } catch (Exception e) {
            throw new IllegalStateException("control loop did not answer: " + e, e);
        }
    }

    /** The posture timer (loop thread, between inputs): recomputes when an input changed something. */
    private void postureTick() {
        try {
            posture.tick(reconciler, discovery, clock.instant());
        } catch (RuntimeException e) {
            log.warn("posture failed error=\"{}\"", e.toString(), e);
        }
    }

    @Override
    public CompletableFuture<BackendView> backendAction(String vipName, String backend, BackendAction action) {
        requireNonNull(vipName, "vip");
        requireNonNull(backend, "backend");
        requireNonNull(action, "action");
        return ask((r, now) -> Views.backend(r.vip(vipName), r.operator(vipName, backend, action, now)));
    }

    @Override
    public CompletableFuture<BackendView> setWeight(String vipName, String backend, int weight) {
        requireNonNull(vipName, "vip");
        requireNonNull(backend, "backend");
        return ask((r, now) -> {
            BackendState bs = r.setWeight(vipName, backend, weight, now);
            return Views.backend(r.vip(vipName), bs);
        });
    }

    @Override
    public CompletableFuture<BackendView> addBackend(String vipName, RuntimeBackend backend) {
        requireNonNull(vipName, "vip");
        requireNonNull(backend, "backend");
        return ask((r, now) -> Views.backend(r.vip(vipName), r.addBackend(vipName, backend, now)));
    }

    @Override
    public CompletableFuture<BackendView> removeBackend(String vipName, String backend) {
        requireNonNull(vipName, "vip");
        requireNonNull(backend, "backend");
        return ask((r, now) -> Views.backend(r.removeBackend(vipName, backend, now)));
    }

    @Override
    public CompletableFuture<ConnectionPage> connections(String vipName, String backend, int limit, long after) {
        requireNonNull(vipName, "vip");
        return ask((r, now) -> {
            VipState vs = r.vip(vipName);
            if (vs == null) {
                throw new IllegalArgumentException("no VIP named \"" + vipName + "\"");
            }
            if (vs.config.protocol() != io.tandem.config.Protocol.TCP) {
                throw new UnsupportedOperationException("VIP \"" + vipName + "\" is UDP: its sessions are not listed"
                        + " (tandem_udp_sessions_active counts them)");
            }
            HostPort b = null;
            if (backend != null) {
                b = HostPort.parse(backend);
                HostPort hp = b;
                if (!vs.backends.containsKey(b) && vs.vip.connections().stream()
                        .noneMatch(c -> c.backend() != null && c.backend().address().equals(hp))) {
                    throw new IllegalArgumentException("VIP \"" + vipName + "\" has no backend " + b);
                }
            }
            return java.util.Map.entry(vs.vip, Optional.ofNullable(b));
            // Off this loop (and off the event loops): walking a big connection set is nobody's hot path.
        }).thenComposeAsync(e -> ConnectionListing.page(e.getKey(), e.getValue().orElse(null), limit, after,
                clock.instant(), OFF_LOOP), OFF_LOOP);
    }

    /**
     * Graceful shutdown, step one: mark the node not ready and close every listener so no new
     * connection is accepted; completes when they are closed (or gave up, after a few seconds).
     * Existing connections are left to finish (the caller waits).
     */
    public CompletableFuture<Void> stopAccepting() {
        return ask((r, now) -> {
            r.stopAccepting(now);
            return effects.run(r.actions());
        }).thenCompose(closes -> CompletableFuture.allOf(closes.toArray(CompletableFuture[]::new)));
    }

    /** Live client connections over all VIPs (any thread). */
    public int activeConnections() {
        try {
            return ask((r, now) -> r.vips().stream().mapToInt(v -> v.vip.connections().size()).sum()).get();
        } catch (Exception e) {
            return 0;
        }
    }

    /**
     * Cuts every remaining connection of every VIP (end of a drain deadline): both peers get a
     * reset, so none mistakes a cut stream for a complete one.
     */
    public CompletableFuture<Integer> closeAllConnections() {
        return ask((r, now) -> {
            int n = 0;
            for (VipState vs : r.vips()) {
                for (var c : List.copyOf(vs.vip.connections())) {
                    c.reset();
                    n++;
                }
            }
            return n;
        });
    }

    /**
     * Resets every live TCP connection proxied on {@code address}, and ends every UDP session on
     * it (closing its upstream socket, so a backend's late answer does not go out from here too):
     * a VIP address this node no longer holds (released to a peer, fenced, isolated, drained). A
     * connection kept would be
     * an orphan: its client's packets now reach the new owner, which answers them with resets,
     * while here it lingers until the idle timeout and holds up the next drain. Each reset runs on
     * the connection's own event loop (a task handed to it; nothing on the data path waits or
     * locks). A VIP that listens on the wildcard address has each connection look at its own
     * local address on its loop and reset itself when it is {@code address}; VIPs whose listen
     * address is another one are left alone.
     *
     * @return the number of connections reset and sessions ended, per VIP name (VIPs listening on
     *         the address or on the wildcard; for the latter, once every connection has looked;
     *         UDP sessions of a wildcard VIP are not ended: they do not record their address)
     */
    public CompletableFuture<Map<String, Integer>> resetConnectionsOn(String address) {
        java.net.InetAddress target;
        try {
            target = java.net.InetAddress.ofLiteral(requireNonNull(address, "address"));
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        }
        return ask((r, now) -> {
            Map<String, CompletableFuture<Integer>> reset = new java.util.TreeMap<>();
            for (VipState vs : r.vips()) {
                if (listensOn(vs, target)) {
                    int n = 0;
                    for (var c : List.copyOf(vs.vip.connections())) {
                        c.reset();
                        n++;
                    }
                    CompletableFuture<Integer> sessions = vs.listener == null ? CompletableFuture.completedFuture(0)
                            : vs.listener.endSessions(); // UDP: its sessions end (no reset to send)
                    int tcp = n;
                    reset.put(vs.vip.name(), sessions.thenApply(u -> tcp + u));
                } else if (listensOnWildcard(vs, target)) {
                    List<CompletableFuture<Boolean>> looks = new ArrayList<>();
                    for (var c : List.copyOf(vs.vip.connections())) {
                        looks.add(c.resetIfArrivedOn(target));
                    }
                    reset.put(vs.vip.name(), CompletableFuture.allOf(looks.toArray(CompletableFuture[]::new))
                            .thenApply(v -> (int) looks.stream().filter(CompletableFuture::join).count()));
                }
            }
            return reset;
        }).thenCompose(byVip -> CompletableFuture.allOf(byVip.values().toArray(CompletableFuture[]::new))
                .thenApply(v -> {
                    Map<String, Integer> out = new java.util.TreeMap<>();
                    byVip.forEach((name, n) -> out.put(name, n.join()));
                    return out;
                }));
    }

    /** A VIP on 0.0.0.0 takes IPv4 connections to any address; one on :: takes both families. */
    private static boolean listensOnWildcard(VipState vs, java.net.InetAddress target) {
        try {
            java.net.InetAddress listen = java.net.InetAddress.ofLiteral(vs.vip.pool().config().listen().host());
            return listen.isAnyLocalAddress()
                    && (listen instanceof java.net.Inet6Address || target instanceof java.net.Inet4Address);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean listensOn(VipState vs, java.net.InetAddress target) {
        try {
            return java.net.InetAddress.ofLiteral(vs.vip.pool().config().listen().host()).equals(target);
        } catch (IllegalArgumentException e) {
            return false; // not a literal: validation names it; such a VIP never bound
        }
    }

    /** The bound address of a VIP's listener (tests, the demo); empty when not bound. */
    public Optional<InetSocketAddress> listenAddress(String vipName) {
        try {
            return ask((r, now) -> {
                VipState vs = r.vip(vipName);
                return vs == null || vs.listener == null ? Optional.<InetSocketAddress>empty()
                        : Optional.of(vs.listener.localAddress());
            }).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        reloads.close();
        try {
            List<CompletableFuture<Void>> stops = ask((r, now) -> {
                r.close(now);
                List<CompletableFuture<Void>> started = new ArrayList<>(effects.run(r.actions()));
                started.add(discovery.stopAll());
                effects.close();
                return started;
            }).get(10, TimeUnit.SECONDS);
            // Wait here, on the caller's thread: each listener close and source stop is bounded.
            CompletableFuture.allOf(stops.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("control loop close failed error=\"{}\"", e.toString());
        } finally {
            IllegalStateException stopping = new IllegalStateException("the node is stopping");
            pending.values().forEach(p -> p.answer().completeExceptionally(stopping));
            pending.clear();
            loop.shutdownNow();
        }
    }

    // ---------------------------------------------------------------- the loop

    /**
     * Hands {@code input} to the reconciler on the loop: at once when called there between inputs
     * (a timer, a check's verdict), else queued behind the inputs before it.
     *
     * @return false when the loop has stopped
     */
    private boolean post(Effects.Input input) {
        if (Thread.currentThread() == loopThread && !handling) {
            handle(input);
            return true;
        }
        try {
            loop.execute(() -> handle(input));
            return true;
        } catch (RejectedExecutionException e) {
            return false; // the node is stopping
        }
    }

    private void handle(Effects.Input input) {
        handling = true;
        try {
            input.to(reconciler, clock.instant());
        } catch (RuntimeException e) {
            log.error("control input failed error=\"{}\"", e.toString(), e);
        } finally {
            try {
                flush();
            } finally {
                handling = false;
                posture.changed();
            }
        }
    }

    /** Executes what the reconciler decided, until it has nothing more to say. Loop thread. */
    private void flush() {
        List<Action> batch;
        while (!(batch = reconciler.actions()).isEmpty()) {
            effects.run(batch);
        }
    }

    /**
     * Runs {@code question} on the loop; its answer (or what it threw) completes the future once
     * what it decided has been done (an operator's drain is in the published pool when it answers).
     */
    private <T> CompletableFuture<T> ask(BiFunction<Reconciler, Instant, T> question) {
        CompletableFuture<T> answer = new CompletableFuture<>();
        boolean posted = post((r, now) -> {
            T value;
            try {
                value = question.apply(r, now);
            } catch (RuntimeException e) {
                flush();
                answer.completeExceptionally(e);
                return;
            }
            flush();
            answer.complete(value);
        });
        if (!posted) {
            answer.completeExceptionally(new IllegalStateException("the node is stopping"));
        }
        return answer;
    }
}
