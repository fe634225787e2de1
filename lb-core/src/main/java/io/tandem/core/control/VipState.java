package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import io.tandem.config.VipConfig;
import io.tandem.core.policy.Policies;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.Vip;
import io.tandem.health.passive.OutlierDetector;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@link Reconciler}'s record of one VIP, and the rule for publishing its pool
 * ({@link #publish}). Confined to the control loop thread.
 */
final class VipState {
    /** Tells this VIP from an earlier one of the same name (a replaced listener): its timers carry it. */
    final long incarnation;
    VipConfig config;
    final Vip vip;
    BoundListener listener;
    final Map<HostPort, BackendState> backends = new LinkedHashMap<>();
    long poolGeneration;
    /** The snapshot last published (what the data path reads now). */
    BackendPool published;
    /**
     * Static backends written as a host name that has no address now, each held as an ineligible
     * placeholder with flag {@code UNRESOLVED} and its reason: shown, never in a pool, never checked.
     */
    final Map<HostPort, BackendState> unresolved = new LinkedHashMap<>();
    /**
     * The operator's run-time changes (admin API), kept until a reload changes this VIP's backends
     * or service, or replaces or removes the VIP ({@link Reconciler#dropRuntime}); never written
     * back to the config, so a restart forgets them. Weights apply to any backend of the VIP.
     */
    final Map<HostPort, Integer> runtimeWeights = new LinkedHashMap<>();
    /** Backends added at run time, in the order they were added. */
    final Map<HostPort, io.tandem.config.BackendConfig> runtimeAdded = new LinkedHashMap<>();
    /** Static backends of the config removed at run time. */
    final java.util.Set<HostPort> runtimeRemoved = new java.util.LinkedHashSet<>();
    boolean panic;
    /** {@code sni}: the backend sets (0: the default) whose own pool is in panic now. */
    private java.util.BitSet sniPanics = new java.util.BitSet();
    /** No backend has passed a check and some await their first: the pool routes to those (not panic). */
    boolean warming;
    Instant warmingSince;
    /** Passive detection; null when the VIP has it switched off. */
    OutlierDetector<HostPort> outliers;
    /** A passive ejection's expiry timer is set. */
    boolean ejectionTimer;
    /** A latency review is scheduled (outlier_detection.latency). */
    boolean latencyTimer;
    /** A slow-start step is scheduled. */
    boolean rampTimer;
    /** The planned local share last logged (basis points; -1 unknown, MIN_VALUE before the first). */
    private int lastLocalShare = Integer.MIN_VALUE;
    private String lastGroups = "[]";

    VipState(VipConfig config, long incarnation) {
        this.config = requireNonNull(config, "config");
        this.incarnation = incarnation;
        this.published = new BackendPool(config, List.of(), Policies.create(config.policy(), List.of()), false, 0);
        this.vip = new Vip(config.name(), published);
    }

    /**
     * {@code [p0:eu/eu-a:100.00%:2,p0:eu/eu-b:0.00%:2]} — level, locality, share, healthy backends
     * of each group: the split as one log field (no spaces or '=' inside).
     */
    static String groupsText(io.tandem.core.pool.LocalityRouting.Plan plan) {
        StringBuilder sb = new StringBuilder("[");
        for (var g : plan.groups()) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append('p').append(g.priority()).append(':').append(g.locality()).append(':')
                    .append(String.format(java.util.Locale.ROOT, "%.2f", g.share() / 100.0)).append("%:")
                    .append(g.backends().size());
        }
        return sb.append(']').toString();
    }

    String name() {
        return vip.name();
    }

    /** Whether the operator changed anything of this VIP at run time. */
    boolean hasRuntimeChanges() {
        return !runtimeWeights.isEmpty() || !runtimeAdded.isEmpty() || !runtimeRemoved.isEmpty();
    }

    Action.Timer.Ramp rampKey() {
        return new Action.Timer.Ramp(name(), incarnation);
    }

    Action.Timer.LatencyReview latencyKey() {
        return new Action.Timer.LatencyReview(name(), incarnation);
    }

    Action.Timer.EjectionExpiry ejectionKey() {
        return new Action.Timer.EjectionExpiry(name(), incarnation);
    }

    Action.Timer.DrainDeadline drainKey(HostPort backend) {
        return new Action.Timer.DrainDeadline(name(), incarnation, backend);
    }

    /**
     * Builds the next snapshot from the backends' flags ({@link PoolBuilder}: panic, warming, slow
     * start) and publishes it; then cuts the connections of backends that just went down when the
     * VIP asks for it, logs panic and warming as they begin and end, and schedules the next
     * slow-start step.
     */
    void publish(Instant now, io.tandem.config.LocalitySettings locality, List<Action> out) {
        List<PoolBuilder.Member> members = new ArrayList<>(backends.size());
        for (BackendState bs : backends.values()) {
            members.add(new PoolBuilder.Member(bs.backend(), bs.flags(), bs.eligibleSince));
        }
        PoolBuilder.Built built = PoolBuilder.build(config, members, now, ++poolGeneration, locality);
        BackendPool before = published;
        published = built.pool();
        out.add(new Action.Publish(vip, built.pool()));
        // Cut after publishing, never before: a connection picking from the old snapshot in
        // between would reach the backend after the sweep and stay. One that still does (it read
        // the old snapshot just before the publish) sees this one when it connects and cuts itself.
        for (Backend b : built.pool().cut()) {
            if (!before.cuts(b)) {
                out.add(new Action.CloseConnections(vip, b, Action.Cut.BACKEND_DOWN, Duration.ZERO));
            }
        }
        if (built.warming() != warming) {
            // Not a panic: every VIP with a check starts like this (docs/health.md "Start-up").
            warming = built.warming();
            if (warming) {
                warmingSince = now;
                out.add(Action.Log.info("vip warming vip=" + name() + " awaiting_first_check=" + built.awaiting() + "/"
                        + built.known() + " reason=\"no backend has passed a check yet: routing to the backends "
                        + "still awaiting their first check\""));
            } else {
                out.add(Action.Log.info("vip warm vip=" + name() + " eligible=" + built.eligible() + "/"
                        + built.known() + " after_ms=" + Duration.between(warmingSince, now).toMillis()));
            }
        }
        if (built.panic() != panic) {
            panic = built.panic();
            if (panic) {
                out.add(Action.Log.warn("vip panic vip=" + name() + " eligible=" + built.eligible() + "/"
                        + built.known() + " panic_threshold=" + config.health().panicThresholdPercent()
                        + "% routing_to=" + built.pool().backends().size() + " reason=\"too few eligible backends: "
                        + "routing to every backend an operator has not drained\""));
                out.add(Action.counter("tandem.vip.panic.entered", "vip", name()));
            } else {
                out.add(Action.Log.info("vip panic over vip=" + name() + " eligible=" + built.eligible() + "/"
                        + built.known()));
            }
        }
        sniPanics(built.pool(), out);
        if (built.ramping() && !rampTimer) {
            rampTimer = true;
            out.add(new Action.Schedule(rampKey(),
                    Duration.ofMillis(Math.max(100, config.health().slowStart().toMillis() / 10))));
        }
        int localShare = built.pool().routing().localShare();
        String groups = built.pool().routing().split() ? groupsText(built.pool().routing()) : "[]";
        if ((localShare != lastLocalShare || !groups.equals(lastGroups)) && (localShare >= 0 || !groups.equals("[]")
                || !lastGroups.equals("[]"))) {
            // A change in the planned split is worth a line: it is how a zone failure or a spill to
            // a backup level shows.
            out.add(Action.Log.info("vip locality vip=" + name() + " local_share=" + (localShare < 0 ? "-"
                    : String.format(java.util.Locale.ROOT, "%.2f", localShare / 100.0) + "%") + " groups="
                    + groups));
        }
        lastLocalShare = localShare;
        lastGroups = groups;
        out.add(Action.Log.debug("pool published vip=" + name() + " generation=" + built.pool().generation()
                + " eligible=" + built.eligible() + "/" + built.known() + " panic=" + built.panic() + " warming="
                + built.warming() + " ramping=" + built.ramping()));
    }

    /**
     * {@code sni}: each backend set has its own panic (a route whose backends all failed routes to
     * all of them, never into another route); its start is a WARN and its end an INFO, per route,
     * once per episode, like the VIP's.
     */
    private void sniPanics(BackendPool pool, List<Action> out) {
        java.util.BitSet now = new java.util.BitSet();
        List<BackendPool> sets = pool.sni().pools();
        for (int set = 0; set < sets.size(); set++) {
            if (sets.get(set).panic()) {
                now.set(set);
            }
        }
        for (int set = 0; set < sets.size(); set++) {
            if (now.get(set) == sniPanics.get(set)) {
                continue;
            }
            String route = io.tandem.core.pool.SniSets.routeName(config.sni(), set);
            if (now.get(set)) {
                out.add(Action.Log.warn("sni route panic vip=" + name() + " route=" + route + " routing_to="
                        + sets.get(set).backends().size() + " reason=\"too few eligible backends in the route: "
                        + "routing to every backend of the route an operator has not drained\""));
            } else {
                out.add(Action.Log.info("sni route panic over vip=" + name() + " route=" + route));
            }
        }
        sniPanics = now;
    }
}
