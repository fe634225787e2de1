package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Timer;
import io.netty.channel.EventLoopGroup;
import io.tandem.config.Durations;
import io.tandem.config.Protocol;
import io.tandem.config.VipConfig;
import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.tcp.TcpListener;
import io.tandem.core.transport.Transport;
import io.tandem.core.udp.UdpListener;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.vip.Vip;
import io.tandem.health.check.CheckHandle;
import io.tandem.health.check.HealthChecker;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes the {@link Reconciler}'s {@link Action}s, on the control loop's thread, and never waits
 * there: a bind, a listener close, a DNS lookup and a timer complete elsewhere and post their
 * result back as the reconciler's next input. Holds what only I/O needs: check handles, timer
 * futures. Logs go to the {@link ControlLoop} logger, in the reconciler's words.
 */
final class Effects {
    private static final Logger log = LoggerFactory.getLogger(ControlLoop.class);
    /** How long a listener may take to close before the loop stops waiting for it (it goes on closing). */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(5);

    /** An input for the reconciler, posted to the loop; {@code now} is when the loop takes it. */
    @FunctionalInterface
    interface Input {
        void to(Reconciler reconciler, Instant now);
    }

    /** Hands an input to the loop: at once when called on it outside a batch, else queued; false once stopped. */
    @FunctionalInterface
    interface Post {
        boolean post(Input input);
    }

    private final ScheduledExecutorService loop;
    private final Post post;
    private final EventLoopGroup workers;
    private final Transport transport;
    private final ConnectionEvents events;
    private final HealthChecker checker;
    private final Metrics metrics;
    private final NameLookups lookups;
    private final Discovery discovery;
    private final BiConsumer<Long, ReloadOutcome> replies;
    private final Consumer<Action.Applied> applied;
    private final Map<Long, CheckHandle> checks = new HashMap<>();
    private final Map<Long, io.tandem.health.check.AgentHandle> agents = new HashMap<>();
    private final Map<Action.Timer, ScheduledFuture<?>> timers = new HashMap<>();
    private volatile ControlLoop.EjectionListener ejections = (vip, backend, reason) -> { };

    Effects(ScheduledExecutorService loop, Post post, EventLoopGroup workers, Transport transport,
            ConnectionEvents events, HealthChecker checker, Metrics metrics, NameLookups lookups, Discovery discovery,
            BiConsumer<Long, ReloadOutcome> replies, Consumer<Action.Applied> applied) {
        this.loop = requireNonNull(loop, "loop");
        this.post = requireNonNull(post, "post");
        this.workers = requireNonNull(workers, "workers");
        this.transport = requireNonNull(transport, "transport");
        this.events = requireNonNull(events, "events");
        this.checker = requireNonNull(checker, "checker");
        this.metrics = requireNonNull(metrics, "metrics");
        this.lookups = requireNonNull(lookups, "lookups");
        this.discovery = requireNonNull(discovery, "discovery");
        this.replies = requireNonNull(replies, "replies");
        this.applied = requireNonNull(applied, "applied");
    }

    void onEjection(ControlLoop.EjectionListener listener) {
        this.ejections = requireNonNull(listener, "listener");
    }

    /**
     * Executes {@code actions} in order.
     *
     * @return the listener closes started (they complete off the loop; the caller may wait elsewhere)
     */
    List<CompletableFuture<Void>> run(List<Action> actions) {
        List<CompletableFuture<Void>> closes = new ArrayList<>();
        for (Action a : actions) {
            try {
                execute(a, closes);
            } catch (RuntimeException e) {
                // One action failing (a check that cannot start, a meter) must not lose the others.
                log.warn("control action failed action={} error=\"{}\"", a.getClass().getSimpleName(), e.toString(), e);
            }
        }
        return closes;
    }

    private void execute(Action action, List<CompletableFuture<Void>> closes) {
        switch (action) {
            case Action.Bind b -> bind(b);
            case Action.CloseListener c -> closes.add(close(c));
            case Action.Publish p -> p.vip().publish(p.pool());
            case Action.CloseConnections c -> cut(c);
            case Action.StartCheck s -> checks.put(s.id(), checker.watch(s.target(), s.spec(), s.initial(),
                    t -> post.post((r, now) -> r.verdict(s.id(), t, now))));
            case Action.StopCheck s -> {
                CheckHandle h = checks.remove(s.id());
                if (h != null) {
                    h.close();
                }
            }
            case Action.ProbeNow p -> checker.probeNow(p.target(), p.spec());
            case Action.StartAgent s -> agents.put(s.id(), checker.watchAgent(s.target(), s.spec(),
                    state -> post.post((r, now) -> r.agent(s.id(), state, now))));
            case Action.StopAgent s -> {
                io.tandem.health.check.AgentHandle h = agents.remove(s.id());
                if (h != null) {
                    h.close();
                }
            }
            case Action.AgentMeters m -> metrics.agent(m.vip(), m.backend(), m.state());
            case Action.ShareEjection s -> ejections.ejected(s.vip(), s.backend(), s.reason());
            case Action.Schedule s -> schedule(s);
            case Action.Cancel c -> {
                ScheduledFuture<?> f = timers.remove(c.timer());
                if (f != null) {
                    f.cancel(false);
                }
            }
            case Action.Lookup l -> lookups.lookup(l.name())
                    .thenAccept(answer -> post.post((r, now) -> r.nameAnswer(l.name(), l.epoch(), answer, now)));
            case Action.Count c -> metrics.counter(c.name(), c.tags().toArray(String[]::new)).increment();
            case Action.Detected d -> detectionTimer(d.vip(), d.cause()).record(d.latency());
            case Action.BindVip b -> {
                metrics.bindVip(b.vip());
                b.listener().udpStats().ifPresent(stats -> metrics.bindUdp(b.vip().name(), stats));
            }
            case Action.UnbindVip u -> metrics.unbindVip(u.vip());
            case Action.BindBackend b -> metrics.bindBackend(b.vip(), b.backend(), b.eligible());
            case Action.BackendRemoved r -> {
                metrics.unbindBackend(r.vip().name(), r.backend().address().toString());
                log.info("backend removed vip={} backend={} origin={} open_connections={}", r.vip().name(),
                        r.backend().address(), r.origin(), r.vip().connectionsTo(r.backend()));
            }
            case Action.Log l -> log.atLevel(l.level()).log(l.line());
            case Action.ConfigureDiscovery c -> {
                discovery.configure(c.settings(), loop, source -> post.post((r, now) ->
                        r.discovered(source, discovery.endpoints(), discovery.declaredVips(), now)));
                post.post((r, now) -> r.discoveryRestarted(discovery.endpoints()));
            }
            case Action.Applied a -> applied.accept(a);
            case Action.Reply r -> replies.accept(r.request(), r.outcome());
        }
    }

    /** Binds on an event loop; the result comes back to the loop (a listener of a stopped node is closed). */
    private void bind(Action.Bind b) {
        CompletableFuture<BoundListener> bound;
        try {
            bound = bindListener(b.config(), b.vip());
        } catch (RuntimeException e) {
            bound = CompletableFuture.failedFuture(e);
        }
        bound.whenComplete((l, e) -> {
            String vip = b.config().name();
            Input input = e == null ? (r, now) -> r.bound(b.transaction(), vip, l, now)
                    : (r, now) -> r.bindFailed(b.transaction(), vip, reason(e), now);
            if (!post.post(input) && l != null) {
                l.close(); // the node stopped while this bound: nobody else will close it
            }
        });
    }

    private CompletableFuture<BoundListener> bindListener(VipConfig v, Vip vip) {
        if (v.protocol() == Protocol.UDP) {
            return UdpListener.bind(vip, workers, transport, events, v.udp()).thenApply(l ->
                    new BoundListener(l.localAddress(), l::close, Optional.of(l.stats()), l::endSessions));
        }
        return TcpListener.bind(vip, workers, transport, events).thenApply(l ->
                new BoundListener(l.localAddress(), l::close, Optional.empty()));
    }

    /** Closes off the loop, bounded; the reconciler hears back either way. */
    private CompletableFuture<Void> close(Action.CloseListener c) {
        CompletableFuture<Void> closing;
        try {
            closing = c.listener().close();
        } catch (RuntimeException e) {
            closing = CompletableFuture.failedFuture(e);
        }
        return closing.orTimeout(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS).handle((v, e) -> {
            if (e != null) {
                log.warn("listener close failed vip={} error=\"{}\"", c.vip(), reason(e));
            }
            post.post((r, now) -> r.listenerClosed(now));
            return null;
        });
    }

    private void cut(Action.CloseConnections c) {
        int closed = c.vip().closeConnectionsTo(c.backend());
        switch (c.why()) {
            case BACKEND_DOWN -> {
                if (closed > 0) {
                    log.info("connections closed vip={} backend={} count={} reason=\"backend down, "
                            + "close_on_backend_down\"", c.vip().name(), c.backend().address(), closed);
                }
            }
            case DRAIN_DEADLINE -> log.info("drain deadline vip={} backend={} closed={} deadline={}", c.vip().name(),
                    c.backend().address(), closed, Durations.format(c.drainTimeout()));
        }
    }

    /** Sets {@code s.timer()}, replacing one already set: a replaced or cancelled timer never fires. */
    private void schedule(Action.Schedule s) {
        Action.Timer key = s.timer();
        ScheduledFuture<?>[] self = new ScheduledFuture<?>[1];
        // Runs on the loop, so never before self[0] is set (this method runs there too).
        self[0] = loop.schedule(() -> {
            if (timers.remove(key, self[0])) {
                post.post((r, now) -> r.timer(key, now));
            }
        }, Math.max(0, s.delay().toMillis()), TimeUnit.MILLISECONDS);
        ScheduledFuture<?> old = timers.put(key, self[0]);
        if (old != null) {
            old.cancel(false);
        }
    }

    private Timer detectionTimer(String vip, String cause) {
        return Timer.builder("tandem.health.detection").description("first failing signal to backend out of rotation")
                .tags("vip", vip, "cause", cause).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(metrics.registry());
    }

    /** Stops every timer and check (the node is closing). */
    void close() {
        timers.values().forEach(f -> f.cancel(false));
        timers.clear();
        checks.values().forEach(CheckHandle::close);
        checks.clear();
        agents.values().forEach(io.tandem.health.check.AgentHandle::close);
        agents.clear();
        checker.close();
    }

    static String reason(Throwable t) {
        Throwable c = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return c instanceof java.util.concurrent.TimeoutException ? "no answer within " + CLOSE_WAIT.toMillis() + " ms"
                : c.getMessage() == null ? c.toString() : c.getMessage();
    }
}
