package io.tandem.core.policy;

import static java.util.Objects.requireNonNull;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the {@link Policy} for one pool snapshot. The control loop calls this whenever
 * membership, health or a weight changes and publishes the result inside a new
 * {@link io.tandem.core.pool.BackendPool}; a built policy never changes afterwards, so all the
 * expensive work (a weighted schedule, a Maglev table) happens here, off the data path.
 *
 * <p>Backends of weight 0 are never picked by any policy (an operator's "weight: 0" means
 * "keep it known but send it nothing"). A list with no backend of positive weight gives a
 * policy whose every pick returns {@code null}.
 */
public final class Policies {

    private Policies() {}

    /**
     * A policy of {@code kind} over {@code backends} (in any order; Maglev's table depends only
     * on the set of backend addresses and weights, so both nodes of a pair agree).
     */
    public static Policy create(PolicyKind kind, List<Backend> backends) {
        return create(kind, backends, 0);
    }

    /**
     * The same, with bounded loads for {@code MAGLEV}: no backend gets a new connection while it
     * carries more than {@code hashBalanceFactor}% of its weighted share of the load
     * ({@link MaglevPolicy}); 0 = plain hashing. Other kinds ignore the factor (the config
     * refuses it on them).
     */
    public static Policy create(PolicyKind kind, List<Backend> backends, int hashBalanceFactor) {
        requireNonNull(kind, "kind");
        Backend[] routable = routable(backends);
        if (routable.length == 0) {
            return EmptyPolicy.INSTANCE;
        }
        return switch (kind) {
            case ROUND_ROBIN -> new RoundRobinPolicy(routable);
            case WEIGHTED_ROUND_ROBIN -> new WeightedRoundRobinPolicy(routable);
            case LEAST_CONNECTIONS -> new LeastConnectionsPolicy(routable);
            case POWER_OF_TWO -> new PowerOfTwoPolicy(routable);
            case MAGLEV -> new MaglevPolicy(routable, MaglevPolicy.DEFAULT_TABLE_SIZE, hashBalanceFactor);
        };
    }

    /**
     * A policy that first draws one of {@code groups} by its share, then picks inside it with a
     * policy of {@code kind} of its own (per-zone round-robin cursors, per-zone Maglev tables);
     * see {@link GroupedPolicy}. One group with the whole share is just that group's policy.
     *
     * @param groups backends per group, in retry order
     * @param shares each group's share in basis points of {@code scale}, summing to it
     */
    public static Policy grouped(PolicyKind kind, List<List<Backend>> groups, int[] shares, int scale) {
        return grouped(kind, groups, shares, scale, 0);
    }

    /** {@link #grouped} with bounded loads inside each group's Maglev table. */
    public static Policy grouped(PolicyKind kind, List<List<Backend>> groups, int[] shares, int scale,
                                 int hashBalanceFactor) {
        requireNonNull(kind, "kind");
        requireNonNull(groups, "groups");
        if (groups.isEmpty()) {
            return EmptyPolicy.INSTANCE;
        }
        if (groups.size() == 1) {
            return create(kind, groups.get(0), hashBalanceFactor);
        }
        Policy[] policies = new Policy[groups.size()];
        for (int i = 0; i < policies.length; i++) {
            policies[i] = create(kind, groups.get(i), hashBalanceFactor);
        }
        return new GroupedPolicy(policies, shares, scale);
    }

    /** The backends a policy may pick: positive weight, input order kept. */
    static Backend[] routable(List<Backend> backends) {
        requireNonNull(backends, "backends");
        List<Backend> routable = new ArrayList<>(backends.size());
        for (int i = 0; i < backends.size(); i++) {
            Backend b = requireNonNull(backends.get(i), "backends[" + i + "]");
            if (b.weight() > 0) {
                routable.add(b);
            }
        }
        return routable.toArray(new Backend[0]);
    }

    static int gcd(int a, int b) {
        while (b != 0) {
            int t = a % b;
            a = b;
            b = t;
        }
        return a;
    }
}
