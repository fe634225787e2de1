package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
import static io.tandem.core.policy.TestBackends.backends;
import static io.tandem.core.policy.TestBackends.client;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MaglevTableIgnoresBackendOrderTest {

    @Test
    void shuffledListsOfTheSameBackendsBuildIdenticalTables() {
        List<Backend> sorted = backends(10);
        List<String> reference = addresses(MaglevPolicy.of(sorted, MaglevPolicy.DEFAULT_TABLE_SIZE));
        Random random = new Random(42);

        for (int round = 0; round < 5; round++) {
            List<Backend> shuffled = new ArrayList<>(sorted);
            Collections.shuffle(shuffled, random);
            assertThat(addresses(MaglevPolicy.of(shuffled, MaglevPolicy.DEFAULT_TABLE_SIZE)))
                    .as("table for order %s", shuffled).isEqualTo(reference);
        }
    }

    @Test
    void separatelyBuiltBackendObjectsForTheSameAddressesMapClientsAlike() {
        // What the two nodes of an HA pair do: distinct Backend objects, same membership.
        List<Backend> nodeA = List.of(backend(1, 2), backend(2, 1), backend(3, 1));
        List<Backend> nodeB = List.of(backend(3, 1), backend(1, 2), backend(2, 1));
        Policy a = Policies.create(PolicyKind.MAGLEV, nodeA);
        Policy b = Policies.create(PolicyKind.MAGLEV, nodeB);

        for (int i = 0; i < 10_000; i++) {
            assertThat(b.pick(client(i), List.of()).address())
                    .isEqualTo(a.pick(client(i), List.of()).address());
        }
    }

    private static List<String> addresses(MaglevPolicy policy) {
        List<String> out = new ArrayList<>();
        for (Backend b : policy.table()) {
            out.add(b.address().toString());
        }
        return out;
    }
}
