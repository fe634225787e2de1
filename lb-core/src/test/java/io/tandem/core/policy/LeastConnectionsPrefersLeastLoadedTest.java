package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.anyClient;
import static io.tandem.core.policy.TestBackends.backends;
import static io.tandem.core.policy.TestBackends.countPicks;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeastConnectionsPrefersLeastLoadedTest {

    @Test
    void picksTheBackendWithFewestActiveConnections() {
        List<Backend> backends = backends(4);
        backends.get(0).stats().active.set(7);
        backends.get(1).stats().active.set(3);
        backends.get(2).stats().active.set(1);
        backends.get(3).stats().active.set(5);
        Policy policy = Policies.create(PolicyKind.LEAST_CONNECTIONS, backends);

        assertThat(countPicks(policy, 100, List.of())).containsOnlyKeys(backends.get(2));
    }

    @Test
    void equallyLoadedBackendsShareNewConnections() {
        List<Backend> backends = backends(4);
        Policy policy = Policies.create(PolicyKind.LEAST_CONNECTIONS, backends);

        Map<Backend, Integer> counts = countPicks(policy, 4000, List.of());

        // The rotating scan start makes ties an exact rotation.
        assertThat(counts).containsOnlyKeys(backends);
        assertThat(counts.values()).containsOnly(1000);
    }

    @Test
    void fillingUpConnectionsKeepsBackendsLevel() {
        List<Backend> backends = backends(3);
        Policy policy = Policies.create(PolicyKind.LEAST_CONNECTIONS, backends);

        for (int i = 0; i < 300; i++) {
            policy.pick(anyClient(), List.of()).stats().active.incrementAndGet();
        }

        assertThat(backends).allSatisfy(b -> assertThat(b.active()).isEqualTo(100));
    }

    @Test
    void skipsTriedBackendsEvenWhenTheyAreLeastLoaded() {
        List<Backend> backends = backends(3);
        backends.get(1).stats().active.set(9);
        backends.get(2).stats().active.set(4);
        Policy policy = Policies.create(PolicyKind.LEAST_CONNECTIONS, backends);

        assertThat(policy.pick(anyClient(), List.of(backends.get(0)))).isSameAs(backends.get(2));
        assertThat(policy.pick(anyClient(), backends)).isNull();
    }
}
