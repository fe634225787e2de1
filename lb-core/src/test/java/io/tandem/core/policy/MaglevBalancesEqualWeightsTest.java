package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backends;
import static io.tandem.core.policy.TestBackends.client;
import static io.tandem.core.policy.TestBackends.slotsByAddress;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MaglevBalancesEqualWeightsTest {

    @Test
    void equalWeightsGetSlotCountsWithinOneOfEachOther() {
        MaglevPolicy policy = MaglevPolicy.of(backends(10), MaglevPolicy.DEFAULT_TABLE_SIZE);

        Map<String, Integer> slots = slotsByAddress(policy);

        assertThat(slots).hasSize(10);
        int min = slots.values().stream().mapToInt(Integer::intValue).min().orElseThrow();
        int max = slots.values().stream().mapToInt(Integer::intValue).max().orElseThrow();
        assertThat(max - min).isLessThanOrEqualTo(1);
    }

    @Test
    void clientsSpreadWithinAFewPercentOfAnEqualShare() {
        List<Backend> backends = backends(10);
        Policy policy = Policies.create(PolicyKind.MAGLEV, backends);
        Map<Backend, Integer> counts = new IdentityHashMap<>();

        for (int i = 0; i < 100_000; i++) {
            counts.merge(policy.pick(client(i), List.of()), 1, Integer::sum);
        }

        assertThat(counts).hasSize(10);
        // Expected 10 000 each; binomial sigma is ~95, so 5% (500) is a generous bound.
        assertThat(counts.values()).allSatisfy(c -> assertThat((double) c).isCloseTo(10_000, offset(500.0)));
    }
}
