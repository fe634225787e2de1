package io.tandem.core.policy;

import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.util.Collection;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The backend with the fewest active connections per unit of weight ({@code active / weight},
 * compared by cross-multiplication so there is no division and no rounding). The scan starts
 * at a rotating index and keeps the first minimum it meets, so equally loaded backends (all
 * idle, typically) share new connections instead of the first one taking them all.
 *
 * <p>Reads of {@code active} race with the event loops that change it; that only makes the
 * choice slightly stale, never wrong in a way that matters. A pick is O(backends).
 */
final class LeastConnectionsPolicy implements Policy {
    private final Backend[] backends;
    private final AtomicInteger cursor = new AtomicInteger();

    LeastConnectionsPolicy(Backend[] backends) {
        this.backends = backends.clone();
    }

    @Override
    public Backend pick(InetAddress client, Collection<Backend> tried) {
        int n = backends.length;
        int at = Math.floorMod(cursor.getAndIncrement(), n);
        boolean skip = !tried.isEmpty();
        Backend best = null;
        long bestActive = 0;
        long bestWeight = 1;
        for (int i = 0; i < n; i++) {
            Backend b = backends[at];
            if (++at == n) {
                at = 0;
            }
            if (skip && tried.contains(b)) {
                continue;
            }
            long active = b.active();
            long weight = b.weight();
            if (best == null || active * bestWeight < bestActive * weight) {
                best = b;
                bestActive = active;
                bestWeight = weight;
            }
        }
        return best;
    }

    /** True when {@code a} carries strictly less load per unit of weight than {@code b}. */
    static boolean lessLoaded(Backend a, Backend b) {
        return (long) a.active() * b.weight() < (long) b.active() * a.weight();
    }

    @Override
    public String toString() {
        return "LeastConnectionsPolicy[backends=" + backends.length + "]";
    }
}
