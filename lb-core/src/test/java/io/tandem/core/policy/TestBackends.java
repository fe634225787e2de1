package io.tandem.core.policy;

import io.tandem.config.HostPort;
import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/** Backends on IP literals (no DNS) and synthetic client addresses for policy tests. */
final class TestBackends {
    private TestBackends() {}

    /** {@code 127.0.0.<i>:8000}. */
    static Backend backend(int i, int weight) {
        return Backend.of(HostPort.of("127.0.0." + i, 8000), weight);
    }

    /** Backends 127.0.0.1 .. 127.0.0.n, weight 1. */
    static List<Backend> backends(int n) {
        List<Backend> list = new ArrayList<>(n);
        for (int i = 1; i <= n; i++) {
            list.add(backend(i, 1));
        }
        return list;
    }

    /** A distinct IPv4 client per {@code i}: 10.x.y.z (never resolved, never contacted). */
    static InetAddress client(int i) {
        try {
            return InetAddress.getByAddress(new byte[] {10, (byte) (i >>> 16), (byte) (i >>> 8), (byte) i});
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static InetAddress anyClient() {
        return client(1);
    }

    /** How many of {@code picks} picks went to each backend. */
    static Map<Backend, Integer> countPicks(Policy policy, int picks, Collection<Backend> tried) {
        Map<Backend, Integer> counts = new IdentityHashMap<>();
        for (int i = 0; i < picks; i++) {
            counts.merge(policy.pick(anyClient(), tried), 1, Integer::sum);
        }
        return counts;
    }

    /** Slots per backend address in a Maglev table. */
    static Map<String, Integer> slotsByAddress(MaglevPolicy policy) {
        Map<String, Integer> slots = new HashMap<>();
        for (Backend b : policy.table()) {
            slots.merge(b.address().toString(), 1, Integer::sum);
        }
        return slots;
    }
}
