package io.tandem.core.policy;

import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.util.Collection;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Power of two choices (Mitzenmacher): two distinct backends at random, the one with fewer
 * active connections per unit of weight wins. Nearly as good as least-connections at
 * avoiding hot spots, O(1) per pick, and no shared cursor for the event loops to contend on;
 * it also avoids least-connections' herd effect, where every loop piles onto the same
 * momentarily idle backend.
 */
final class PowerOfTwoPolicy implements Policy {
    private final Backend[] backends;

    PowerOfTwoPolicy(Backend[] backends) {
        this.backends = backends.clone();
    }

    @Override
    public Backend pick(InetAddress client, Collection<Backend> tried) {
        int n = backends.length;
        ThreadLocalRandom random = ThreadLocalRandom.current();
        if (tried.isEmpty()) {
            if (n == 1) {
                return backends[0];
            }
            int i = random.nextInt(n);
            int j = random.nextInt(n - 1);
            if (j >= i) {
                j++;
            }
            return better(backends[i], backends[j]);
        }
        // Retry path: the same choice among the untried, by rank, without allocating a list.
        int untried = 0;
        for (Backend b : backends) {
            if (!tried.contains(b)) {
                untried++;
            }
        }
        if (untried == 0) {
            return null;
        }
        if (untried == 1) {
            return nthUntried(0, tried);
        }
        int i = random.nextInt(untried);
        int j = random.nextInt(untried - 1);
        if (j >= i) {
            j++;
        }
        return better(nthUntried(i, tried), nthUntried(j, tried));
    }

    private static Backend better(Backend a, Backend b) {
        return LeastConnectionsPolicy.lessLoaded(b, a) ? b : a;
    }

    private Backend nthUntried(int rank, Collection<Backend> tried) {
        for (Backend b : backends) {
            if (!tried.contains(b) && rank-- == 0) {
                return b;
            }
        }
        throw new IllegalStateException("rank beyond untried backends");
    }

    @Override
    public String toString() {
        return "PowerOfTwoPolicy[backends=" + backends.length + "]";
    }
}
