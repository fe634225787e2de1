package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backends;
import static io.tandem.core.policy.TestBackends.countPicks;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoundRobinSpreadsPicksEvenlyTest {

    @Test
    void everyBackendGetsExactlyItsShareOverWholeRounds() {
        List<Backend> backends = backends(5);
        Policy policy = Policies.create(PolicyKind.ROUND_ROBIN, backends);

        Map<Backend, Integer> counts = countPicks(policy, 5 * 1000, List.of());

        assertThat(counts).hasSize(5);
        assertThat(counts.values()).containsOnly(1000);
    }

    @Test
    void consecutivePicksVisitBackendsInListOrder() {
        List<Backend> backends = backends(3);
        Policy policy = new RoundRobinPolicy(backends.toArray(new Backend[0]), 0);

        for (int round = 0; round < 3; round++) {
            for (Backend expected : backends) {
                assertThat(policy.pick(TestBackends.anyClient(), List.of())).isSameAs(expected);
            }
        }
    }

    @Test
    void weightsAreIgnoredButWeightZeroIsNeverPicked() {
        List<Backend> backends = List.of(TestBackends.backend(1, 10), TestBackends.backend(2, 1),
                TestBackends.backend(3, 0));
        Policy policy = Policies.create(PolicyKind.ROUND_ROBIN, backends);

        Map<Backend, Integer> counts = countPicks(policy, 2000, List.of());

        assertThat(counts).containsOnlyKeys(backends.get(0), backends.get(1));
        assertThat(counts.values()).containsOnly(1000);
    }
}
