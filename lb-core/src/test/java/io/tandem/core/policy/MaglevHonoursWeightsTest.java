package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
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

class MaglevHonoursWeightsTest {

    @Test
    void tableSlotsAreProportionalToWeight() {
        List<Backend> backends = List.of(backend(1, 1), backend(2, 2), backend(3, 3), backend(4, 4));
        MaglevPolicy policy = MaglevPolicy.of(backends, MaglevPolicy.DEFAULT_TABLE_SIZE);

        Map<String, Integer> slots = slotsByAddress(policy);

        for (Backend b : backends) {
            double expected = MaglevPolicy.DEFAULT_TABLE_SIZE * b.weight() / 10.0;
            assertThat((double) slots.get(b.address().toString())).as("slots of %s", b).isCloseTo(expected, offset(2.0));
        }
    }

    @Test
    void clientsSpreadRoughlyInProportionToWeight() {
        List<Backend> backends = List.of(backend(1, 1), backend(2, 3));
        Policy policy = Policies.create(PolicyKind.MAGLEV, backends);
        Map<Backend, Integer> counts = new IdentityHashMap<>();

        for (int i = 0; i < 100_000; i++) {
            counts.merge(policy.pick(client(i), List.of()), 1, Integer::sum);
        }

        assertThat(counts.get(backends.get(0)) / 100_000.0).isCloseTo(0.25, offset(0.02));
        assertThat(counts.get(backends.get(1)) / 100_000.0).isCloseTo(0.75, offset(0.02));
    }

    @Test
    void weightZeroBackendsGetNoSlots() {
        List<Backend> backends = List.of(backend(1, 1), backend(2, 0), backend(3, 1));

        Map<String, Integer> slots = slotsByAddress(MaglevPolicy.of(backends, 101));

        assertThat(slots).containsOnlyKeys("127.0.0.1:8000", "127.0.0.3:8000");
    }
}
