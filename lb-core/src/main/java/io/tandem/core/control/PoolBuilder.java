package io.tandem.core.control;

import io.tandem.config.HealthPolicy;
import io.tandem.config.LocalitySettings;
import io.tandem.config.SniNames;
import io.tandem.config.VipConfig;
import io.tandem.core.policy.Policies;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.pool.LocalityRouting;
import io.tandem.core.pool.SniSets;
import io.tandem.health.HealthFlag;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Builds a VIP's next {@link BackendPool} from its backends' flags: which backends are
 * routable, whether the VIP is in panic, and each backend's effective weight during slow start.
 * Pure (the time is passed in), so the rules are unit-tested without sockets.
 *
 * <ul>
 *   <li><b>Eligible</b>: no flag at all.</li>
 *   <li><b>Awaiting</b>: only {@code PENDING_FIRST_CHECK} — not known good, not known bad. While
 *       any backend is eligible, awaiting ones take no traffic and do not count in the panic
 *       share (Envoy likewise leaves hosts pending their first check out of its panic
 *       arithmetic).</li>
 *   <li><b>Warming</b>: no backend is eligible and some are awaiting (start-up, a VIP that just got
 *       a check, a new backend while the others are down): route to the awaiting ones only — a
 *       backend not checked yet beats one known to fail, and a failed connect is retried on
 *       another. Not a panic: the normal start of every VIP with a check. Ends with the first
 *       pass (only checked backends from then on) or when the last awaiting one fails.</li>
 *   <li><b>Panic</b>: when no backend is eligible and none awaits, or fewer than
 *       {@code panic_threshold} percent of the backends with a verdict are eligible, route to
 *       every backend that an operator has not drained or disabled — trying a maybe-broken
 *       backend beats refusing every client, and a connect retry still skips the ones that
 *       refuse. Operator flags are never overridden.</li>
 *   <li><b>Slow start</b>: a backend eligible for less than {@code slow_start} gets
 *       {@code weight × elapsed/window} (at least 1 %); weights are scaled ×100 while any backend
 *       ramps so integer weights can express the ramp. Only weighted policies (everything but
 *       round-robin) use weights.</li>
 *   <li><b>Cut</b> ({@code close_on_backend_down}): backends down by a failed check or a passive
 *       ejection, outside panic and warming (with no backend known good, cutting their
 *       connections would only hurt). Drained and disabled backends keep their connections.</li>
 *   <li><b>Priority levels and zones</b> ({@link LocalityRouting}): outside panic, the chosen
 *       backends are split by priority level (Envoy priority load, overprovisioning factor),
 *       region and — when the VIP is zone-aware — zone, and the policy is built per group. Panic
 *       is decided over the whole set, never per level or zone, and routes to every routable
 *       backend unsplit.</li>
 * </ul>
 */
final class PoolBuilder {
    /** Scale applied to weights while a ramp is in progress. */
    static final int RAMP_SCALE = 100;

    /**
     * Never overridden by panic: an operator's decision, a self-loop (it can never serve) and a
     * host name without an address (a placeholder with nowhere to connect).
     */
    private static final Set<HealthFlag> NEVER_ROUTED = Set.of(HealthFlag.DRAINING, HealthFlag.DISABLED,
            HealthFlag.SELF_LOOP, HealthFlag.UNRESOLVED, HealthFlag.AGENT_DRAIN, HealthFlag.AGENT_MAINT);
    /**
     * Flags that mean "down" for {@code close_on_backend_down}: a failed check, a passive ejection,
     * an agent's {@code down} (HAProxy's {@code on-marked-down} acts on any transition to DOWN, the
     * agent's included).
     */
    private static final Set<HealthFlag> DOWN_FLAGS = Set.of(HealthFlag.FAILED_ACTIVE_CHECK, HealthFlag.EJECTED_PASSIVE,
            HealthFlag.AGENT_DOWN);

    private PoolBuilder() {
    }

    /** What the builder decided, with the pool; {@code awaiting}: backends whose only flag is PENDING_FIRST_CHECK. */
    record Built(BackendPool pool, boolean panic, boolean warming, boolean ramping, int eligible, int awaiting,
                 int known) {
    }

    /** A backend's input: the data-path backend, its flags and since when it has been eligible. */
    record Member(Backend backend, Set<HealthFlag> flags, Instant eligibleSince) {
    }

    static Built build(VipConfig config, List<Member> members, Instant now, long generation) {
        return build(config, members, now, generation, LocalitySettings.NONE);
    }

    static Built build(VipConfig config, List<Member> members, Instant now, long generation,
                       LocalitySettings locality) {
        Built all = buildSet(config, members, now, generation, locality);
        if (!config.sni().enabled()) {
            return all;
        }
        // SNI: each backend set by the same rules as a whole VIP (its own panic, levels, zones);
        // the whole pool stays what status and cuts read.
        int sets = config.sni().routes().size() + 1;
        List<BackendPool> pools = new ArrayList<>(sets);
        boolean hasDefault = config.service().isPresent();
        for (int set = 0; set < sets; set++) {
            int s = set;
            List<Member> in = members.stream().filter(m -> m.backend().inSniSet(s)).toList();
            hasDefault |= set == 0 && !in.isEmpty();
            pools.add(buildSet(config, in, now, generation, locality).pool());
        }
        BackendPool p = all.pool();
        BackendPool withSets = new BackendPool(p.config(), p.backends(), p.policy(), p.panic(), p.generation(),
                p.cut(), p.routing(), new SniSets(SniNames.of(config.sni()), pools, hasDefault));
        return new Built(withSets, all.panic(), all.warming(), all.ramping(), all.eligible(), all.awaiting(),
                all.known());
    }

    private static Built buildSet(VipConfig config, List<Member> members, Instant now, long generation,
                                  LocalitySettings locality) {
        HealthPolicy policy = config.health();
        List<Member> eligible = new ArrayList<>();
        List<Member> awaiting = new ArrayList<>();
        List<Member> routable = new ArrayList<>();
        for (Member m : members) {
            if (m.flags().isEmpty()) {
                eligible.add(m);
            } else if (m.flags().size() == 1 && m.flags().contains(HealthFlag.PENDING_FIRST_CHECK)) {
                awaiting.add(m);
            }
            if (m.flags().stream().noneMatch(NEVER_ROUTED::contains)) {
                routable.add(m);
            }
        }
        boolean warming = eligible.isEmpty() && !awaiting.isEmpty();
        int judged = routable.size() - awaiting.size();
        boolean panic = !warming && judged > 0 && (eligible.isEmpty()
                || eligible.size() * 100 < policy.panicThresholdPercent() * judged);
        List<Member> chosen = warming ? awaiting : panic ? routable : eligible;

        Duration window = policy.slowStart();
        boolean ramping = false;
        List<Backend> backends = new ArrayList<>(chosen.size());
        if (!window.isZero() && !panic) {
            for (Member m : chosen) {
                if (m.eligibleSince() != null && Duration.between(m.eligibleSince(), now).compareTo(window) < 0) {
                    ramping = true;
                    break;
                }
            }
        }
        for (Member m : chosen) {
            Backend b = m.backend();
            if (ramping) {
                int full = b.weight() * RAMP_SCALE;
                int w = full;
                if (m.eligibleSince() != null) {
                    long elapsed = Math.max(0, Duration.between(m.eligibleSince(), now).toMillis());
                    if (elapsed < window.toMillis()) {
                        // An operator's weight 0 stays 0: it takes no new connections, ramping or not.
                        w = full == 0 ? 0 : (int) Math.max(1, full * elapsed / window.toMillis());
                    }
                }
                backends.add(b.withWeight(w));
            } else {
                backends.add(b);
            }
        }
        Set<Backend> cut = new HashSet<>();
        if (policy.closeOnBackendDown() && !panic && !warming) {
            for (Member m : members) {
                if (m.flags().stream().anyMatch(DOWN_FLAGS::contains)) {
                    cut.add(m.backend());
                }
            }
        }
        LocalityRouting.Plan plan = LocalityRouting.Plan.NONE;
        io.tandem.core.policy.Policy pick;
        if (panic) {
            pick = Policies.create(config.policy(), backends, config.hashBalanceFactor());
        } else {
            // A level's total: what the panic share counts (awaiting backends only while warming).
            List<Backend> known = new ArrayList<>(routable.size());
            routable.stream().filter(m -> warming || !awaiting.contains(m)).forEach(m -> known.add(m.backend()));
            plan = LocalityRouting.plan(backends, known, locality.node(), config.locality(), locality.nodeZones());
            if (plan.split()) {
                List<List<Backend>> groups = new ArrayList<>(plan.groups().size());
                int[] shares = new int[plan.groups().size()];
                for (int i = 0; i < shares.length; i++) {
                    groups.add(plan.groups().get(i).backends());
                    shares[i] = plan.groups().get(i).share();
                }
                pick = Policies.grouped(config.policy(), groups, shares, LocalityRouting.SCALE,
                        config.hashBalanceFactor());
            } else {
                pick = Policies.create(config.policy(), backends, config.hashBalanceFactor());
            }
        }
        BackendPool pool = new BackendPool(config, backends, pick, panic, generation, cut, plan);
        return new Built(pool, panic, warming, ramping, eligible.size(), awaiting.size(), members.size());
    }
}
