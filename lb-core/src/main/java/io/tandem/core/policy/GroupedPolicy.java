package io.tandem.core.policy;

import static java.util.Objects.requireNonNull;

import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.util.Collection;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A pick in two steps: draw a group by its share (a priority level, a zone), then let the
 * group's own policy pick inside it. Each group has a policy of its own — its own round-robin
 * cursor, its own Maglev table — so a client hashed into zone A keeps its backend there while
 * another zone's membership or share changes, and a spill moves only the clients it has to.
 *
 * <p>The draw is a random number for policies that ignore the client, and a hash of the client
 * address (seeded apart from Maglev's slot hash) for those that use it, so a client's group is
 * as stable as its backend. Allocation-free and lock-free: two array reads and a scan of a
 * handful of bounds. A retry (non-empty {@code tried}) first stays in the drawn group, then walks
 * the groups in their order (the node's zone, the other zones, the next priority level).
 */
final class GroupedPolicy implements Policy {
    private static final long GROUP_SEED = 0x7a6f6e652d303031L;   // "zone-001"

    private final Policy[] groups;
    /** bounds[i]: the exclusive upper bound of group i's draws; the last is {@code scale}. */
    private final int[] bounds;
    private final int scale;
    private final boolean hashing;

    /**
     * @param groups policies in retry order
     * @param shares each group's share of the draws (0 = retry fallback only), summing to {@code scale}
     */
    GroupedPolicy(Policy[] groups, int[] shares, int scale) {
        requireNonNull(groups, "groups");
        requireNonNull(shares, "shares");
        if (groups.length == 0 || groups.length != shares.length) {
            throw new IllegalArgumentException("groups: " + groups.length + ", shares: " + shares.length
                    + " (expected the same number, at least one)");
        }
        this.groups = groups.clone();
        this.bounds = new int[shares.length];
        int sum = 0;
        boolean hashes = false;
        for (int i = 0; i < shares.length; i++) {
            if (shares[i] < 0) {
                throw new IllegalArgumentException("shares[" + i + "]: " + shares[i] + " (expected >= 0)");
            }
            sum += shares[i];
            bounds[i] = sum;
            hashes |= groups[i].usesClientAddress();
        }
        if (sum != scale) {
            throw new IllegalArgumentException("shares: sum " + sum + " (expected " + scale + ")");
        }
        this.scale = scale;
        this.hashing = hashes;
    }

    @Override
    public Backend pick(InetAddress client, Collection<Backend> tried) {
        int draw = hashing && client != null
                ? (int) Long.remainderUnsigned(Hashing.fmix64(MaglevPolicy.clientHash(client) ^ GROUP_SEED), scale)
                : ThreadLocalRandom.current().nextInt(scale);
        int first = 0;
        while (first < bounds.length - 1 && draw >= bounds[first]) {
            first++;
        }
        Backend b = groups[first].pick(client, tried);
        if (b != null) {
            return b;
        }
        for (int i = 0; i < groups.length; i++) {
            if (i != first) {
                b = groups[i].pick(client, tried);
                if (b != null) {
                    return b;
                }
            }
        }
        return null;
    }

    @Override
    public boolean usesClientAddress() {
        return hashing;
    }

    /** The group a draw of {@code draw} lands in; for tests. */
    int groupOf(int draw) {
        int i = 0;
        while (i < bounds.length - 1 && draw >= bounds[i]) {
            i++;
        }
        return i;
    }

    @Override
    public String toString() {
        return "GroupedPolicy[groups=" + groups.length + "]";
    }
}
