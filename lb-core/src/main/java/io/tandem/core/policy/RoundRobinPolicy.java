package io.tandem.core.policy;

import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.util.Collection;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Each backend in turn, ignoring weights (except that weight 0 was filtered out by
 * {@link Policies}). One shared atomic cursor makes the rotation exact across event loops:
 * N consecutive picks from any threads hit N distinct backends.
 */
final class RoundRobinPolicy implements Policy {
    private final Backend[] backends;
    private final AtomicInteger cursor;

    RoundRobinPolicy(Backend[] backends) {
        // A random start: snapshots are rebuilt often (health flaps, slow start), and starting
        // every new one at index 0 would tilt load towards the first backends.
        this(backends, ThreadLocalRandom.current().nextInt(backends.length));
    }

    RoundRobinPolicy(Backend[] backends, int start) {
        this.backends = backends.clone();
        this.cursor = new AtomicInteger(start);
    }

    @Override
    public Backend pick(InetAddress client, Collection<Backend> tried) {
        // The cursor wraps after 2^32 picks; floorMod keeps the index valid, and the one
        // irregular step at the wrap is harmless.
        int start = Math.floorMod(cursor.getAndIncrement(), backends.length);
        if (tried.isEmpty()) {
            return backends[start];
        }
        return firstUntried(backends, start, tried);
    }

    /** The first element of {@code ring} from {@code start} onwards (wrapping) not in {@code tried}. */
    static Backend firstUntried(Backend[] ring, int start, Collection<Backend> tried) {
        int n = ring.length;
        for (int i = 0, at = start; i < n; i++) {
            Backend b = ring[at];
            if (!tried.contains(b)) {
                return b;
            }
            if (++at == n) {
                at = 0;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return "RoundRobinPolicy[backends=" + backends.length + "]";
    }
}
