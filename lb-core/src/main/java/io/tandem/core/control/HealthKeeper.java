package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Timer;
import io.tandem.config.HealthCheckSpec;
import io.tandem.config.HostPort;
import io.tandem.config.OutlierDetection;
import io.tandem.config.VipConfig;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.pool.Backend;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.sys.Errno;
import io.tandem.core.vip.Vip;
import io.tandem.health.HealthFlag;
import io.tandem.health.check.HealthChecker;
import io.tandem.health.check.HealthTransition;
import io.tandem.health.check.InitialState;
import io.tandem.health.passive.OutlierDetector;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The health half of the control loop: active checks started and stopped to match each VIP's
 * config, passive signals from the data path turned into ejections (and their expiry), the
 * consequences of every flag change (slow start, close-on-down, drain deadlines) and the
 * detection-time metrics. Confined to the control loop's thread like the {@link VipState}s it
 * works on; {@link ControlLoop} owns those and decides when a pool is published.
 */
final class HealthKeeper {
    private static final Logger log = LoggerFactory.getLogger(HealthKeeper.class);

    private final ScheduledExecutorService loop;
    private final HealthChecker checker;
    private final Metrics metrics;
    private final Clock clock;
    private final Function<String, VipState> current;
    private final Consumer<VipState> publish;
    private final Supplier<Duration> drainTimeout;
    private final WarnEvery cappedWarning = new WarnEvery(Duration.ofSeconds(5));
    private final ConnectionEvents signals = new PassiveSignals();
    private volatile ControlLoop.EjectionListener ejectionListener = (vip, backend, reason) -> { };

    /**
     * @param current the VIP state now registered under a name (verdicts for a replaced one are dropped)
     * @param publish builds and publishes a VIP's pool after a flag change
     * @param drainTimeout the drain deadline of the config in force
     */
    HealthKeeper(ScheduledExecutorService loop, HealthChecker checker, Metrics metrics, Clock clock,
                 Function<String, VipState> current, Consumer<VipState> publish, Supplier<Duration> drainTimeout) {
        this.loop = requireNonNull(loop, "loop");
        this.checker = requireNonNull(checker, "checker");
        this.metrics = requireNonNull(metrics, "metrics");
        this.clock = requireNonNull(clock, "clock");
        this.current = requireNonNull(current, "current");
        this.publish = requireNonNull(publish, "publish");
        this.drainTimeout = requireNonNull(drainTimeout, "drainTimeout");
    }

    /** The passive signals the data path reports (they hop onto the control loop here). */
    ConnectionEvents connectionEvents() {
        return signals;
    }

    void onEjection(ControlLoop.EjectionListener listener) {
        this.ejectionListener = requireNonNull(listener, "listener");
    }

    /** Probes {@code bs} at once if it has an active check; whether it had one. */
    boolean probeNow(BackendState bs) {
        return bs.checkSpec != null && checker.probeNow(bs.backend().socketAddress(), bs.checkSpec);
    }

    void close() {
        checker.close();
    }

    /**
     * Starts, restarts or stops active checks and passive detection so they match the VIP's
     * config. A backend already checked with the same spec keeps its check and its verdict.
     */
    void syncHealth(VipState vs, VipConfig previous, Instant now) {
        VipConfig c = vs.config;
        OutlierDetection od = c.health().outlierDetection();
        if (!od.enabled()) {
            if (vs.outliers != null) {
                for (HostPort hp : vs.backends.keySet()) {
                    BackendState bs = vs.backends.get(hp);
                    boolean was = bs.eligible();
                    if (bs.flag(HealthFlag.EJECTED_PASSIVE, false, "passive detection switched off", now)) {
                        afterFlagChange(vs, bs, was, false);
                    }
                }
            }
            vs.outliers = null;
        } else if (vs.outliers == null || !previous.health().outlierDetection().equals(od)) {
            vs.outliers = new OutlierDetector<>(od, clock);
        }
        if (vs.outliers != null) {
            vs.outliers.setMembers(vs.backends.keySet());
        }
        Optional<HealthCheckSpec> spec = c.healthCheck();
        boolean trust = c.health().trustNewBackends();
        for (var e : vs.backends.entrySet()) {
            BackendState bs = e.getValue();
            if (spec.isPresent() && spec.get().equals(bs.checkSpec)) {
                continue;
            }
            boolean was = bs.eligible();
            boolean hadCheck = bs.check != null;
            bs.stopCheck();
            bs.flag(HealthFlag.FAILED_ACTIVE_CHECK, false, hadCheck ? "health check changed" : "no health check", now);
            bs.flag(HealthFlag.PENDING_FIRST_CHECK, false, "health check changed", now);
            if (spec.isPresent()) {
                // A backend already serving keeps serving while its new check makes up its mind.
                boolean pending = !trust && !(hadCheck && was);
                if (pending) {
                    bs.flag(HealthFlag.PENDING_FIRST_CHECK, true, "waiting for first check", now);
                }
                startCheck(vs, bs, spec.get(), pending ? InitialState.PENDING : InitialState.TRUSTED);
            }
            if (was != bs.eligible()) {
                afterFlagChange(vs, bs, was, true);
            }
        }
    }

    private void startCheck(VipState vs, BackendState bs, HealthCheckSpec spec, InitialState initial) {
        bs.checkSpec = spec;
        String vipName = vs.vip.name();
        bs.check = checker.watch(bs.backend().socketAddress(), spec, initial, t -> {
            // Runs on this loop. Ignore verdicts from a check that has since been replaced.
            if (current.apply(vipName) == vs && vs.backends.get(bs.backend().address()) == bs && bs.checkSpec == spec) {
                onCheckTransition(vs, bs, t);
            }
        });
    }

    private void onCheckTransition(VipState vs, BackendState bs, HealthTransition t) {
        Instant now = t.at();
        boolean was = bs.eligible();
        boolean changed = bs.flag(HealthFlag.PENDING_FIRST_CHECK, false, "first check " + (t.up() ? "passed" : "failed"),
                now);
        changed |= bs.flag(HealthFlag.FAILED_ACTIVE_CHECK, !t.up(), t.reason(), now);
        if (!changed) {
            return;
        }
        long afterMs = t.detectionLatency().toMillis();
        log.info("backend {} vip={} backend={} flag=FAILED_ACTIVE_CHECK cause=active-check reason=\"{}\" after_ms={} "
                + "eligible={}", t.up() ? "up" : "down", vs.vip.name(), bs.backend().address(), t.reason(), afterMs,
                bs.eligible());
        metrics.counter("tandem.health.transitions", "vip", vs.vip.name(), "flag", "FAILED_ACTIVE_CHECK",
                "action", t.up() ? "clear" : "set").increment();
        if (!t.up()) {
            detectionTimer(vs.vip.name(), "active").record(t.detectionLatency());
        } else if (vs.outliers != null && bs.has(HealthFlag.EJECTED_PASSIVE)) {
            // The backend answers its check again: no reason to keep it ejected.
            vs.outliers.onSuccess(bs.backend().address());
        }
        afterFlagChange(vs, bs, was, false);
    }

    private void onPassiveFailure(Vip vip, Backend backend, String reason, Instant signalAt, String kind) {
        VipState vs = current.apply(vip.name());
        if (vs == null || vs.vip != vip || vs.outliers == null) {
            return;
        }
        BackendState bs = vs.backends.get(backend.address());
        if (bs == null) {
            return;
        }
        metrics.counter("tandem.passive.signals", "vip", vs.vip.name(), "kind", kind).increment();
        if (bs.firstFailureAt == null) {
            bs.firstFailureAt = signalAt;
        }
        OutlierDetector.Decision<HostPort> d = vs.outliers.onFailure(backend.address(), reason);
        switch (d.outcome()) {
            case EJECTED -> {
                Instant now = clock.instant();
                boolean was = bs.eligible();
                bs.flag(HealthFlag.EJECTED_PASSIVE, true, d.reason(), now);
                Duration after = Duration.between(bs.firstFailureAt, now);
                bs.firstFailureAt = null;
                log.info("backend ejected vip={} backend={} flag=EJECTED_PASSIVE cause=passive reason=\"{}\" "
                        + "consecutive={} until={} after_ms={}", vs.vip.name(), backend.address(), d.reason(),
                        d.consecutiveFailures(), d.until().map(Instant::toString).orElse("?"), after.toMillis());
                metrics.counter("tandem.health.transitions", "vip", vs.vip.name(), "flag", "EJECTED_PASSIVE",
                        "action", "set").increment();
                detectionTimer(vs.vip.name(), "passive").record(after);
                if (bs.checkSpec != null) {
                    checker.probeNow(backend.socketAddress(), bs.checkSpec); // confirm at once
                }
                afterFlagChange(vs, bs, was, false);
                scheduleEjectionExpiry(vs);
                try {
                    ejectionListener.ejected(vs.vip.name(), backend.address(), d.reason());
                } catch (RuntimeException e) {
                    log.warn("ejection listener failed vip={} backend={} error=\"{}\"", vs.vip.name(),
                            backend.address(), e.toString());
                }
            }
            case CAPPED -> {
                if (cappedWarning.allow()) {
                    log.warn("ejection capped vip={} backend={} reason=\"{}\"", vs.vip.name(), backend.address(),
                            d.reason());
                }
            }
            default -> {
            }
        }
    }

    private void onConnectSucceeded(Vip vip, Backend backend) {
        VipState vs = current.apply(vip.name());
        if (vs != null && vs.vip == vip && vs.outliers != null) {
            vs.outliers.onSuccess(backend.address());
            BackendState bs = vs.backends.get(backend.address());
            if (bs != null) {
                bs.firstFailureAt = null;
            }
        }
    }

    private void scheduleEjectionExpiry(VipState vs) {
        if (vs.ejectionTimer != null) {
            vs.ejectionTimer.cancel(false);
            vs.ejectionTimer = null;
        }
        if (vs.outliers == null) {
            return;
        }
        vs.outliers.nextExpiry().ifPresent(at -> {
            long delay = Math.max(0, Duration.between(clock.instant(), at).toMillis());
            vs.ejectionTimer = loop.schedule(() -> {
                vs.ejectionTimer = null;
                if (current.apply(vs.vip.name()) != vs || vs.outliers == null) {
                    return;
                }
                Instant now = clock.instant();
                for (HostPort hp : vs.outliers.expired()) {
                    BackendState bs = vs.backends.get(hp);
                    if (bs != null) {
                        boolean was = bs.eligible();
                        if (bs.flag(HealthFlag.EJECTED_PASSIVE, false, "ejection time over", now)) {
                            log.info("backend ejection over vip={} backend={} eligible={}", vs.vip.name(), hp,
                                    bs.eligible());
                            metrics.counter("tandem.health.transitions", "vip", vs.vip.name(), "flag",
                                    "EJECTED_PASSIVE", "action", "clear").increment();
                            afterFlagChange(vs, bs, was, false);
                        }
                    }
                }
                scheduleEjectionExpiry(vs);
            }, delay + 1, TimeUnit.MILLISECONDS);
        });
    }

    /**
     * After any flag change: note when the backend became eligible (slow start) and publish
     * unless told not to. Publishing also cuts the connections of a backend that went down when
     * the VIP asks for that ({@code close_on_backend_down}, see {@link PoolBuilder}).
     */
    void afterFlagChange(VipState vs, BackendState bs, boolean wasEligible, boolean deferPublish) {
        boolean is = bs.eligible();
        if (is && !wasEligible) {
            bs.eligibleSince = clock.instant();
        } else if (!is) {
            bs.eligibleSince = null;
        }
        if (!deferPublish) {
            publish.accept(vs);
        }
    }

    void scheduleDrainDeadline(VipState vs, BackendState bs) {
        if (bs.drainDeadline != null) {
            bs.drainDeadline.cancel(false);
        }
        Duration deadline = drainTimeout.get();
        bs.drainDeadline = loop.schedule(() -> {
            bs.drainDeadline = null;
            if (current.apply(vs.vip.name()) == vs && bs.has(HealthFlag.DRAINING)) {
                int closed = vs.vip.closeConnectionsTo(bs.backend());
                log.info("drain deadline vip={} backend={} closed={} deadline={}", vs.vip.name(),
                        bs.backend().address(), closed, io.tandem.config.Durations.format(deadline));
            }
        }, deadline.toMillis(), TimeUnit.MILLISECONDS);
    }

    void stopHealth(VipState vs) {
        vs.backends.values().forEach(bs -> {
            bs.stopCheck();
            if (bs.drainDeadline != null) {
                bs.drainDeadline.cancel(false);
            }
        });
        if (vs.ejectionTimer != null) {
            vs.ejectionTimer.cancel(false);
        }
        if (vs.rampTimer != null) {
            vs.rampTimer.cancel(false);
        }
    }

    private Timer detectionTimer(String vip, String cause) {
        return Timer.builder("tandem.health.detection").description("first failing signal to backend out of rotation")
                .tags("vip", vip, "cause", cause).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(metrics.registry());
    }

    /** "connect(..) failed: Connection refused: /127.0.0.1:9001" becomes "connection refused". */
    static String describe(Throwable cause) {
        String m = cause.getMessage();
        if (m == null || m.isBlank()) {
            return cause.getClass().getSimpleName();
        }
        m = m.replaceFirst(":\\s*/?[0-9A-Za-z.:\\[\\]%-]*$", "").replaceFirst("^[a-z_]+\\(\\.\\.\\) failed: ", "");
        return m.isEmpty() ? cause.getClass().getSimpleName() : Character.toLowerCase(m.charAt(0)) + m.substring(1);
    }

    /**
     * {@code backend} of {@code vip} leads back into this node: flag it {@link HealthFlag#SELF_LOOP}
     * (never routed, not even in panic) and say so once. Not an ejection: no back-off, no share
     * of the ejection cap, no expiry; the flag goes with the backend.
     */
    private void onSelfLoop(Vip vip, Backend backend) {
        VipState vs = current.apply(vip.name());
        if (vs == null || vs.vip != vip) {
            return;
        }
        BackendState bs = vs.backends.get(backend.address());
        if (bs == null || bs.has(HealthFlag.SELF_LOOP)) {
            return;
        }
        boolean was = bs.eligible();
        bs.flag(HealthFlag.SELF_LOOP, true, "the backend leads back into this node", clock.instant());
        log.warn("backend self-loop vip={} backend={} address={} flag=SELF_LOOP eligible=false reason=\"connections "
                + "to it come back into this node; it can never serve this VIP: fix or remove it and reload\"",
                vs.vip.name(), backend.address(), backend.socketAddress());
        metrics.counter("tandem.health.transitions", "vip", vs.vip.name(), "flag", "SELF_LOOP", "action", "set")
                .increment();
        afterFlagChange(vs, bs, was, false);
    }

    /** Passive signals from the data path: counted there, decided here. */
    final class PassiveSignals implements ConnectionEvents {
        @Override
        public void connectFailed(Vip vip, Backend backend, Throwable cause, long elapsedNanos) {
            if (Errno.local(cause) != 0) {
                // The node's own resource error (out of descriptors, memory, ports): the data path
                // keeps these out already (LocalErrors); never let one count against a backend.
                return;
            }
            backend.stats().failureStreak.incrementAndGet();
            Instant at = clock.instant(); // detection latency counts the time the signal waits for the loop
            loop.execute(() -> onPassiveFailure(vip, backend, "connect failed: " + describe(cause), at, "connect"));
        }

        @Override
        public void responseTimedOut(Vip vip, Backend backend, long waitedNanos) {
            // Not part of the connect-failure streak: a hung backend still completes handshakes, and
            // those successful connects must not reset its count of unanswered requests.
            Instant at = clock.instant();
            long ms = java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(waitedNanos);
            loop.execute(() -> onPassiveFailure(vip, backend, "no response within " + ms + " ms of client data", at,
                    "response-timeout"));
        }

        @Override
        public void selfLoop(Vip vip, Backend backend) {
            loop.execute(() -> onSelfLoop(vip, backend));
        }

        @Override
        public void connected(Vip vip, Backend backend, long elapsedNanos) {
            // Only a success that ends a failure streak needs the control loop.
            if (backend.stats().failureStreak.get() > 0 && backend.stats().failureStreak.getAndSet(0) > 0) {
                loop.execute(() -> onConnectSucceeded(vip, backend));
            }
        }
    }

    /** Lets a warning through at most once per period. Loop thread only. */
    private static final class WarnEvery {
        private final long periodNanos;
        private long last = Long.MIN_VALUE / 2;

        WarnEvery(Duration period) {
            this.periodNanos = period.toNanos();
        }

        boolean allow() {
            long now = System.nanoTime();
            if (now - last >= periodNanos) {
                last = now;
                return true;
            }
            return false;
        }
    }
}
