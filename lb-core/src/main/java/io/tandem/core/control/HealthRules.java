package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HealthCheckSpec;
import io.tandem.config.HostPort;
import io.tandem.config.LatencyEjection;
import io.tandem.config.OutlierDetection;
import io.tandem.config.VipConfig;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendStats;
import io.tandem.core.vip.Vip;
import io.tandem.health.HealthFlag;
import io.tandem.health.check.HealthTransition;
import io.tandem.health.check.InitialState;
import io.tandem.health.passive.LatencyOutliers;
import io.tandem.health.passive.OutlierDetector;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The health half of the {@link Reconciler}: which active checks run (to match each VIP's
 * config), what a check's verdict and a passive signal from the data path do to the flags it owns
 * ({@code FAILED_ACTIVE_CHECK}, {@code PENDING_FIRST_CHECK}, {@code EJECTED_PASSIVE},
 * {@code SELF_LOOP}), when ejections run out, and what every flag change entails (slow start,
 * a new pool, drain deadlines). Pure like the reconciler: its effects are {@link Action}s, its
 * time is the input's.
 */
final class HealthRules {
    /** At most one "ejection capped" warning per this long: a cascade must not flood the log. */
    private static final Duration CAPPED_WARNING_EVERY = Duration.ofSeconds(5);

    /** A running check: which backend of which VIP incarnation its verdicts are for. */
    private record Watched(VipState vip, BackendState backend) {
    }

    private final List<Action> out;
    private final InstantSource clock;
    private final Function<String, VipState> current;
    private final Consumer<VipState> publish;
    private final Map<Long, Watched> checks = new HashMap<>();
    /** Running agent checks (HAProxy agent-check), by id: which backend of which VIP incarnation. */
    private final Map<Long, Watched> agents = new HashMap<>();
    private long nextCheckId = 1;
    private Instant lastCappedWarning;

    /**
     * @param clock   the reconciler's current input time (the outlier detectors read it)
     * @param current the VIP state now registered under a name (anything for a replaced one is dropped)
     * @param publish builds and publishes a VIP's pool after a flag change
     */
    HealthRules(List<Action> out, InstantSource clock, Function<String, VipState> current,
                Consumer<VipState> publish) {
        this.out = requireNonNull(out, "out");
        this.clock = requireNonNull(clock, "clock");
        this.current = requireNonNull(current, "current");
        this.publish = requireNonNull(publish, "publish");
    }

    /**
     * Starts, restarts or stops active checks and passive detection so they match the VIP's
     * config. A backend already checked with the same spec keeps its check and its verdict; the
     * same for agent checks. Publishes nothing: the caller publishes the VIP's pool once, after.
     *
     * @return true when a weight an agent had asked for was dropped (its agent check stopped or
     *         changed): the caller recomputes the weights ({@link BackendSync#sync}) before publishing
     */
    boolean sync(VipState vs, VipConfig previous, Instant now) {
        VipConfig c = vs.config;
        OutlierDetection od = c.health().outlierDetection();
        if (!od.enabled()) {
            if (vs.outliers != null) {
                clearEjections(vs, "passive detection switched off", now);
            }
            vs.outliers = null;
            cancelEjectionTimer(vs);
        } else if (vs.outliers == null || !previous.health().outlierDetection().equals(od)) {
            if (vs.outliers != null) {
                // A new detector knows none of the old one's ejections and would never end them.
                clearEjections(vs, "passive detection settings changed", now);
                cancelEjectionTimer(vs);
            }
            vs.outliers = new OutlierDetector<>(od, clock);
        }
        if (vs.outliers != null) {
            vs.outliers.setMembers(vs.backends.keySet());
        }
        syncLatencyReview(vs, previous);
        Optional<HealthCheckSpec> spec = c.healthCheck();
        boolean trust = c.health().trustNewBackends();
        for (BackendState bs : vs.backends.values()) {
            if (spec.isPresent() && spec.get().equals(bs.checkSpec)) {
                continue;
            }
            boolean was = bs.eligible();
            boolean hadCheck = bs.checkId != 0;
            stopCheck(bs);
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
                afterFlagChange(vs, bs, was, true, now);
            }
        }
        return syncAgents(vs, now);
    }

    /**
     * Starts, restarts or stops the VIP's agent checks to match {@code health.agent_check}. A backend
     * whose agent check goes or changes loses what the old one set (flags, weight): only an agent
     * undoes what it set, and that agent is no longer asked.
     */
    private boolean syncAgents(VipState vs, Instant now) {
        Optional<io.tandem.config.AgentCheck> spec = vs.config.health().agentCheck();
        boolean reweigh = false;
        for (BackendState bs : vs.backends.values()) {
            if (spec.isPresent() ? spec.get().equals(bs.agentSpec) : bs.agentSpec == null) {
                continue;
            }
            boolean was = bs.eligible();
            reweigh |= bs.agent != null && bs.agent.weight().isPresent();
            stopAgent(bs);
            String why = spec.isPresent() ? "agent check changed" : "no agent check";
            for (HealthFlag f : new HealthFlag[] {HealthFlag.AGENT_DOWN, HealthFlag.AGENT_DRAIN, HealthFlag.AGENT_MAINT}) {
                bs.flag(f, false, why, now);
            }
            if (spec.isPresent()) {
                long id = nextCheckId++;
                bs.agentId = id;
                bs.agentSpec = spec.get();
                agents.put(id, new Watched(vs, bs));
                out.add(new Action.StartAgent(id, bs.backend().socketAddress(), spec.get()));
            }
            if (was != bs.eligible()) {
                afterFlagChange(vs, bs, was, true, now);
            }
        }
        return reweigh;
    }

    /** Stops {@code bs}'s agent check, if it has one, and forgets what its agent said. */
    void stopAgent(BackendState bs) {
        long id = bs.dropAgent();
        if (id != 0) {
            agents.remove(id);
            out.add(new Action.StopAgent(id));
        }
    }

    /**
     * What agent check {@code id} found ({@link io.tandem.health.check.AgentState}, folded over the
     * agent's replies): its {@code down}/{@code fail}/{@code stopped} sets {@code AGENT_DOWN} with the
     * agent's words as the reason, {@code up} clears it; {@code drain} and {@code maint} set
     * {@code AGENT_DRAIN} / {@code AGENT_MAINT}, {@code ready} clears them. Dropped when that check
     * has since been stopped or replaced.
     *
     * @return the VIP when the weight the agent asks for changed (the caller recomputes weights and
     *         publishes); null otherwise (a flag change was published here)
     */
    VipState agent(long id, io.tandem.health.check.AgentState s, Instant now) {
        Watched w = agents.get(id);
        if (w == null || current.apply(w.vip().name()) != w.vip() || w.backend().agentId != id) {
            return null;
        }
        VipState vs = w.vip();
        BackendState bs = w.backend();
        io.tandem.health.check.AgentState before = bs.agent == null ? io.tandem.health.check.AgentState.INITIAL
                : bs.agent;
        bs.agent = s;
        out.add(new Action.AgentMeters(vs.name(), bs.backend().address().toString(), s));
        boolean was = bs.eligible();
        String said = "agent says " + s.health().word() + (s.reason().isEmpty() ? "" : ": " + s.reason());
        boolean changed = bs.flag(HealthFlag.AGENT_DOWN, s.health().down(), said, now);
        String admin = "agent says " + s.admin().word();
        changed |= bs.flag(HealthFlag.AGENT_DRAIN, s.admin() == io.tandem.health.check.AgentReply.Admin.DRAIN, admin, now);
        changed |= bs.flag(HealthFlag.AGENT_MAINT, s.admin() == io.tandem.health.check.AgentReply.Admin.MAINT, admin, now);
        boolean reweigh = !s.weight().equals(before.weight());
        if (changed || reweigh) {
            out.add(Action.Log.info("backend agent vip=" + vs.name() + " backend=" + bs.backend().address() + " "
                    + s.effect() + " answer=" + s.lastAnswer().orElse("-") + " flags=" + bs.flags() + " eligible="
                    + bs.eligible()));
        }
        if (changed) {
            out.add(Action.counter("tandem.health.transitions", "vip", vs.name(), "flag", "AGENT", "action",
                    bs.eligible() ? "clear" : "set"));
            afterFlagChange(vs, bs, was, reweigh, now);
        }
        return reweigh ? vs : null;
    }

    /** Part of a sync: the caller publishes once it is done (a pool half-synced is never published). */
    private void clearEjections(VipState vs, String reason, Instant now) {
        for (BackendState bs : vs.backends.values()) {
            boolean was = bs.eligible();
            if (bs.flag(HealthFlag.EJECTED_PASSIVE, false, reason, now)) {
                afterFlagChange(vs, bs, was, true, now);
            }
        }
    }

    private void startCheck(VipState vs, BackendState bs, HealthCheckSpec spec, InitialState initial) {
        long id = nextCheckId++;
        bs.checkId = id;
        bs.checkSpec = spec;
        checks.put(id, new Watched(vs, bs));
        out.add(new Action.StartCheck(id, bs.backend().socketAddress(), spec, initial));
    }

    /** Stops {@code bs}'s active check, if it has one. */
    void stopCheck(BackendState bs) {
        long id = bs.dropCheck();
        if (id != 0) {
            checks.remove(id);
            out.add(new Action.StopCheck(id));
        }
    }

    /** A verdict of check {@code id}; dropped when that check has since been stopped or replaced. */
    void verdict(long id, HealthTransition t) {
        Watched w = checks.get(id);
        if (w == null || current.apply(w.vip().name()) != w.vip() || w.backend().checkId != id) {
            return;
        }
        VipState vs = w.vip();
        BackendState bs = w.backend();
        Instant now = t.at();
        boolean was = bs.eligible();
        boolean changed = bs.flag(HealthFlag.PENDING_FIRST_CHECK, false, "first check " + (t.up() ? "passed" : "failed"),
                now);
        changed |= bs.flag(HealthFlag.FAILED_ACTIVE_CHECK, !t.up(), t.reason(), now);
        if (!changed) {
            return;
        }
        out.add(Action.Log.info("backend " + (t.up() ? "up" : "down") + " vip=" + vs.name() + " backend="
                + bs.backend().address() + " flag=FAILED_ACTIVE_CHECK cause=active-check reason=\"" + t.reason()
                + "\" after_ms=" + t.detectionLatency().toMillis() + " eligible=" + bs.eligible()));
        out.add(Action.counter("tandem.health.transitions", "vip", vs.name(), "flag", "FAILED_ACTIVE_CHECK",
                "action", t.up() ? "clear" : "set"));
        if (!t.up()) {
            out.add(new Action.Detected(vs.name(), "active", t.detectionLatency()));
        } else if (vs.outliers != null && bs.has(HealthFlag.EJECTED_PASSIVE)) {
            // The backend answers its check again: no reason to keep it ejected.
            vs.outliers.onSuccess(bs.backend().address());
        }
        afterFlagChange(vs, bs, was, false, clock.instant());
    }

    /**
     * Starts, restarts or stops the VIP's latency reviews to match its config. A changed interval
     * starts a new window; an unchanged one keeps the window running.
     */
    private void syncLatencyReview(VipState vs, VipConfig previous) {
        LatencyEjection le = vs.config.health().outlierDetection().latency();
        boolean on = vs.outliers != null && le.enabled();
        boolean same = previous.health().outlierDetection().latency().equals(le);
        if (vs.latencyTimer && (!on || !same)) {
            vs.latencyTimer = false;
            out.add(new Action.Cancel(vs.latencyKey()));
        }
        if (on && !vs.latencyTimer) {
            vs.backends.values().forEach(HealthRules::latencyBaseline);
            vs.latencyTimer = true;
            out.add(new Action.Schedule(vs.latencyKey(), le.interval()));
        }
    }

    /** Counts the latency window of {@code bs} from now: whatever its counters say is already seen. */
    private static void latencyBaseline(BackendState bs) {
        BackendStats st = bs.backend().stats();
        bs.latencyStats = st;
        bs.latencySeenNanos = st.latencyNanos.sum();
        bs.latencySeenCount = st.latencySamples.sum();
    }

    /**
     * A latency window of {@code vs} is over: each backend in rotation is judged on the growth of
     * its latency counters since the last review ({@link LatencyOutliers}), and a slow one is
     * ejected like any passive ejection. The counters are the data path's; reading them is this
     * rule's only look outside its inputs, and a window is whatever they grew by, so a late
     * review judges a longer window, never a wrong one.
     */
    void latencyReview(VipState vs, Instant now) {
        vs.latencyTimer = false;
        LatencyEjection le = vs.config.health().outlierDetection().latency();
        if (vs.outliers == null || !le.enabled()) {
            return;
        }
        Map<HostPort, LatencyOutliers.Sample> window = new LinkedHashMap<>();
        for (BackendState bs : vs.backends.values()) {
            BackendStats st = bs.backend().stats();
            long sum = st.latencyNanos.sum();
            long count = st.latencySamples.sum();
            long dn = count - bs.latencySeenCount;
            long ds = sum - bs.latencySeenNanos;
            boolean sameCounters = bs.latencyStats == st;
            bs.latencyStats = st;
            bs.latencySeenNanos = sum;
            bs.latencySeenCount = count;
            if (sameCounters && dn > 0 && ds >= 0 && bs.eligible() && !vs.outliers.isEjected(bs.backend().address())) {
                window.put(bs.backend().address(), new LatencyOutliers.Sample(dn, ds));
            }
        }
        for (LatencyOutliers.Verdict<HostPort> v : LatencyOutliers.slow(le, window)) {
            BackendState bs = vs.backends.get(v.backend());
            out.add(Action.counter("tandem.passive.signals", "vip", vs.name(), "kind", "latency"));
            OutlierDetector.Decision<HostPort> d = vs.outliers.eject(v.backend(), v.reason());
            switch (d.outcome()) {
                case EJECTED -> ejected(vs, bs, d, "latency", Duration.ZERO, now);
                case CAPPED -> cappedWarning(vs, v.backend(), d, now);
                default -> {
                }
            }
        }
        vs.latencyTimer = true;
        out.add(new Action.Schedule(vs.latencyKey(), le.interval()));
    }

    /** A passive failure the data path saw at {@code signalAt} (detection latency counts the hop here). */
    void passiveFailure(Vip vip, Backend backend, String reason, Instant signalAt, String kind, Instant now) {
        VipState vs = current.apply(vip.name());
        if (vs == null || vs.vip != vip || vs.outliers == null) {
            return;
        }
        BackendState bs = vs.backends.get(backend.address());
        if (bs == null) {
            return;
        }
        out.add(Action.counter("tandem.passive.signals", "vip", vs.name(), "kind", kind));
        if (bs.firstFailureAt == null) {
            bs.firstFailureAt = signalAt;
        }
        OutlierDetector.Decision<HostPort> d = vs.outliers.onFailure(backend.address(), reason);
        switch (d.outcome()) {
            case EJECTED -> {
                Duration after = Duration.between(bs.firstFailureAt, now);
                bs.firstFailureAt = null;
                ejected(vs, bs, d, "passive", after, now);
            }
            case CAPPED -> cappedWarning(vs, backend.address(), d, now);
            default -> {
            }
        }
    }

    /**
     * {@code bs} was just ejected ({@code d}): flag, log, count, confirm by an active probe, publish,
     * time the expiry, tell the peer. {@code cause} is {@code passive} (failures on connections) or
     * {@code latency} (a window's verdict, {@code after} zero: it has no first failure to count from).
     */
    private void ejected(VipState vs, BackendState bs, OutlierDetector.Decision<HostPort> d, String cause,
                         Duration after, Instant now) {
        Backend backend = bs.backend();
        boolean was = bs.eligible();
        bs.flag(HealthFlag.EJECTED_PASSIVE, true, d.reason(), now);
        out.add(Action.Log.info("backend ejected vip=" + vs.name() + " backend=" + backend.address()
                + " flag=EJECTED_PASSIVE cause=" + cause + " reason=\"" + d.reason() + "\" consecutive="
                + d.consecutiveFailures() + " until=" + d.until().map(Instant::toString).orElse("?")
                + " after_ms=" + after.toMillis()));
        out.add(Action.counter("tandem.health.transitions", "vip", vs.name(), "flag", "EJECTED_PASSIVE",
                "action", "set"));
        if (cause.equals("passive")) {
            out.add(new Action.Detected(vs.name(), "passive", after));
        }
        if (bs.checkSpec != null) {
            out.add(new Action.ProbeNow(backend.socketAddress(), bs.checkSpec)); // confirm at once
        }
        afterFlagChange(vs, bs, was, false, now);
        scheduleEjectionExpiry(vs, now);
        out.add(new Action.ShareEjection(vs.name(), backend.address(), d.reason()));
    }

    private void cappedWarning(VipState vs, HostPort backend, OutlierDetector.Decision<HostPort> d, Instant now) {
        if (lastCappedWarning == null || !now.isBefore(lastCappedWarning.plus(CAPPED_WARNING_EVERY))) {
            lastCappedWarning = now;
            out.add(Action.Log.warn("ejection capped vip=" + vs.name() + " backend=" + backend
                    + " reason=\"" + d.reason() + "\""));
        }
    }

    /** A connect that ended a failure streak: the streak no longer counts. */
    void connectSucceeded(Vip vip, Backend backend) {
        VipState vs = current.apply(vip.name());
        if (vs != null && vs.vip == vip && vs.outliers != null) {
            vs.outliers.onSuccess(backend.address());
            BackendState bs = vs.backends.get(backend.address());
            if (bs != null) {
                bs.firstFailureAt = null;
            }
        }
    }

    /**
     * {@code backend} of {@code vip} leads back into this node: flag it {@link HealthFlag#SELF_LOOP}
     * (never routed, not even in panic) and say so once. Not an ejection: no back-off, no share
     * of the ejection cap, no expiry; the flag goes with the backend.
     */
    void selfLoop(Vip vip, Backend backend, Instant now) {
        VipState vs = current.apply(vip.name());
        if (vs == null || vs.vip != vip) {
            return;
        }
        BackendState bs = vs.backends.get(backend.address());
        if (bs == null || bs.has(HealthFlag.SELF_LOOP)) {
            return;
        }
        boolean was = bs.eligible();
        bs.flag(HealthFlag.SELF_LOOP, true, "the backend leads back into this node", now);
        out.add(Action.Log.warn("backend self-loop vip=" + vs.name() + " backend=" + backend.address() + " address="
                + backend.socketAddress() + " flag=SELF_LOOP eligible=false reason=\"connections to it come back "
                + "into this node; it can never serve this VIP: fix or remove it and reload\""));
        out.add(Action.counter("tandem.health.transitions", "vip", vs.name(), "flag", "SELF_LOOP", "action", "set"));
        afterFlagChange(vs, bs, was, false, now);
    }

    /** Probes {@code bs} at once if it has an active check; whether it had one. */
    boolean probeNow(BackendState bs) {
        if (bs.checkSpec == null) {
            return false;
        }
        out.add(new Action.ProbeNow(bs.backend().socketAddress(), bs.checkSpec));
        return true;
    }

    private void scheduleEjectionExpiry(VipState vs, Instant now) {
        Optional<Instant> next = vs.outliers == null ? Optional.empty() : vs.outliers.nextExpiry();
        if (next.isEmpty()) {
            cancelEjectionTimer(vs);
            return;
        }
        long delay = Math.max(0, Duration.between(now, next.get()).toMillis());
        vs.ejectionTimer = true;
        out.add(new Action.Schedule(vs.ejectionKey(), Duration.ofMillis(delay + 1)));
    }

    private void cancelEjectionTimer(VipState vs) {
        if (vs.ejectionTimer) {
            vs.ejectionTimer = false;
            out.add(new Action.Cancel(vs.ejectionKey()));
        }
    }

    /** The ejection timer of {@code vs} ran out: return the backends whose ejection is over. */
    void ejectionsExpired(VipState vs, Instant now) {
        vs.ejectionTimer = false;
        if (vs.outliers == null) {
            return;
        }
        for (HostPort hp : vs.outliers.expired()) {
            BackendState bs = vs.backends.get(hp);
            if (bs == null) {
                continue;
            }
            boolean was = bs.eligible();
            if (bs.flag(HealthFlag.EJECTED_PASSIVE, false, "ejection time over", now)) {
                out.add(Action.Log.info("backend ejection over vip=" + vs.name() + " backend=" + hp + " eligible="
                        + bs.eligible()));
                out.add(Action.counter("tandem.health.transitions", "vip", vs.name(), "flag", "EJECTED_PASSIVE",
                        "action", "clear"));
                afterFlagChange(vs, bs, was, false, now);
            }
        }
        scheduleEjectionExpiry(vs, now);
    }

    /**
     * After any flag change: note when the backend became eligible (slow start) and publish
     * unless told not to. Publishing also cuts the connections of a backend that went down when
     * the VIP asks for that ({@code close_on_backend_down}, see {@link VipState#publish}).
     */
    void afterFlagChange(VipState vs, BackendState bs, boolean wasEligible, boolean deferPublish, Instant now) {
        boolean is = bs.eligible();
        if (is && !wasEligible) {
            bs.eligibleSince = now;
        } else if (!is) {
            bs.eligibleSince = null;
        }
        if (!deferPublish) {
            publish.accept(vs);
        }
    }

    /** An operator drained {@code bs}: cut what still runs to it after {@code timeout}. */
    void scheduleDrainDeadline(VipState vs, BackendState bs, Duration timeout) {
        bs.drainDeadline = true;
        out.add(new Action.Schedule(vs.drainKey(bs.backend().address()), timeout));
    }

    void cancelDrainDeadline(VipState vs, BackendState bs) {
        if (bs.drainDeadline) {
            bs.drainDeadline = false;
            out.add(new Action.Cancel(vs.drainKey(bs.backend().address())));
        }
    }

    /** The drain deadline of {@code backend} ran out: cut its connections if it is still draining. */
    void drainDeadline(VipState vs, HostPort backend, Duration timeout) {
        BackendState bs = vs.backends.get(backend);
        if (bs == null || !bs.drainDeadline) {
            return;
        }
        bs.drainDeadline = false;
        if (bs.has(HealthFlag.DRAINING)) {
            out.add(new Action.CloseConnections(vs.vip, bs.backend(), Action.Cut.DRAIN_DEADLINE, timeout));
        }
    }

    /** A backend leaves its VIP: its check and its timers go with it. */
    void forget(VipState vs, BackendState bs) {
        stopCheck(bs);
        stopAgent(bs);
        cancelDrainDeadline(vs, bs);
    }

    /** A VIP goes (removed, or replaced by a new listener): its checks and timers go with it. */
    void forget(VipState vs) {
        vs.backends.values().forEach(bs -> forget(vs, bs));
        cancelEjectionTimer(vs);
        if (vs.latencyTimer) {
            vs.latencyTimer = false;
            out.add(new Action.Cancel(vs.latencyKey()));
        }
        if (vs.rampTimer) {
            vs.rampTimer = false;
            out.add(new Action.Cancel(vs.rampKey()));
        }
    }
}
