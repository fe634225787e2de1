package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.anyClient;
import static io.tandem.core.policy.TestBackends.backend;
import static io.tandem.core.policy.TestBackends.backends;
import static io.tandem.core.policy.TestBackends.countPicks;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PowerOfTwoAvoidsMostLoadedTest {

    @Test
    void neverPicksTheLoadedBackendOfThreeWhileTheOthersAreIdle() {
        List<Backend> backends = backends(3);
        Backend loaded = backends.get(1);
        loaded.stats().active.set(50);
        Policy policy = Policies.create(PolicyKind.POWER_OF_TWO, backends);

        Map<Backend, Integer> counts = countPicks(policy, 10_000, List.of());

        // Two distinct candidates out of three always include an idle one.
        assertThat(counts).doesNotContainKey(loaded);
        // The idle pair splits picks about evenly (expected 5000 each; 4500 is > 10 sigma away).
        assertThat(counts.get(backends.get(0))).isBetween(4500, 5500);
        assertThat(counts.get(backends.get(2))).isBetween(4500, 5500);
    }

    @Test
    void comparesLoadPerUnitOfWeight() {
        Backend heavy = backend(1, 10);
        Backend light = backend(2, 1);
        heavy.stats().active.set(5);   // 0.5 per unit of weight
        light.stats().active.set(1);   // 1 per unit of weight
        Policy policy = Policies.create(PolicyKind.POWER_OF_TWO, List.of(heavy, light));

        assertThat(countPicks(policy, 200, List.of())).containsOnlyKeys(heavy);
    }

    @Test
    void retriesChooseAmongUntriedBackendsOnly() {
        List<Backend> backends = backends(4);
        backends.get(2).stats().active.set(3);
        Policy policy = Policies.create(PolicyKind.POWER_OF_TWO, backends);

        Map<Backend, Integer> counts = countPicks(policy, 2000, List.of(backends.get(0), backends.get(3)));

        // Untried: 1 (idle) and 2 (loaded); the pair is always {1, 2}, so 1 always wins.
        assertThat(counts).containsOnlyKeys(backends.get(1));
        assertThat(policy.pick(anyClient(), List.of(backends.get(0), backends.get(1), backends.get(3))))
                .isSameAs(backends.get(2));
        assertThat(policy.pick(anyClient(), backends)).isNull();
    }

    @Test
    void singleBackendIsAlwaysPicked() {
        List<Backend> backends = backends(1);
        Policy policy = Policies.create(PolicyKind.POWER_OF_TWO, backends);

        assertThat(countPicks(policy, 100, List.of())).containsOnlyKeys(backends.get(0));
    }
}
