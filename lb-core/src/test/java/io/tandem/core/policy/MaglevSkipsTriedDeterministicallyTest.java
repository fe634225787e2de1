package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backends;
import static io.tandem.core.policy.TestBackends.client;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class MaglevSkipsTriedDeterministicallyTest {

    @Test
    void retryGoesToTheSameUntriedBackendEveryTimeAndOnEveryNode() {
        List<Backend> backends = backends(5);
        List<Backend> reversed = new ArrayList<>(backends);
        Collections.reverse(reversed);
        Policy nodeA = Policies.create(PolicyKind.MAGLEV, backends);
        Policy nodeB = Policies.create(PolicyKind.MAGLEV, reversed);

        for (int i = 0; i < 2_000; i++) {
            Backend first = nodeA.pick(client(i), List.of());
            Backend second = nodeA.pick(client(i), List.of(first));
            assertThat(second).isNotNull().isNotSameAs(first);
            assertThat(nodeA.pick(client(i), List.of(first))).isSameAs(second);
            assertThat(nodeB.pick(client(i), List.of(first))).isSameAs(second);
            Backend third = nodeA.pick(client(i), List.of(first, second));
            assertThat(third).isNotNull().isNotIn(first, second);
        }
    }

    @Test
    void retriesOfOneBackendsClientsSpreadOverTheOthers() {
        List<Backend> backends = backends(5);
        Backend failed = backends.get(0);
        Policy policy = Policies.create(PolicyKind.MAGLEV, backends);
        java.util.Map<Backend, Integer> counts = new java.util.IdentityHashMap<>();

        for (int i = 0; i < 20_000; i++) {
            if (policy.pick(client(i), List.of()) == failed) {
                counts.merge(policy.pick(client(i), List.of(failed)), 1, Integer::sum);
            }
        }

        assertThat(counts).containsOnlyKeys(backends.subList(1, 5));
    }

    @Test
    void returnsNullOnceEveryBackendWasTried() {
        List<Backend> backends = backends(3);
        Policy policy = Policies.create(PolicyKind.MAGLEV, backends);

        assertThat(policy.pick(client(7), backends)).isNull();
    }
}
