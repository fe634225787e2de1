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

class RoundRobinSkipsTriedBackendsTest {

    @Test
    void triedBackendsAreNeverPickedAndTheRestShareEvenly() {
        List<Backend> backends = backends(4);
        Policy policy = Policies.create(PolicyKind.ROUND_ROBIN, backends);
        List<Backend> tried = List.of(backends.get(1), backends.get(3));

        Map<Backend, Integer> counts = countPicks(policy, 4000, tried);

        assertThat(counts).containsOnlyKeys(backends.get(0), backends.get(2));
        // Each skipped slot falls through to the next untried backend: 2 of 4 cursor values each.
        assertThat(counts.values()).containsOnly(2000);
    }

    @Test
    void returnsNullWhenEveryBackendWasTried() {
        List<Backend> backends = backends(3);
        Policy policy = Policies.create(PolicyKind.ROUND_ROBIN, backends);

        for (int i = 0; i < 10; i++) {
            assertThat(policy.pick(anyClient(), backends)).isNull();
        }
    }
}
