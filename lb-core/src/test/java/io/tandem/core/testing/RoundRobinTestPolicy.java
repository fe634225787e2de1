package io.tandem.core.testing;

import io.tandem.core.policy.Policy;
import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/** Plain round-robin for data-path tests (the real policies live in the policy package). */
public final class RoundRobinTestPolicy implements Policy {
    private final List<Backend> backends;
    private final AtomicInteger cursor = new AtomicInteger();

    public RoundRobinTestPolicy(List<Backend> backends) {
        this.backends = List.copyOf(backends);
    }

    @Override
    public Backend pick(InetAddress client, Collection<Backend> tried) {
        int n = backends.size();
        for (int i = 0; i < n; i++) {
            Backend b = backends.get(Math.floorMod(cursor.getAndIncrement(), n));
            if (!tried.contains(b)) {
                return b;
            }
        }
        return null;
    }
}
