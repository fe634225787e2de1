package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
import static io.tandem.core.policy.TestBackends.backends;
import static io.tandem.core.policy.TestBackends.client;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MaglevRemapsMinimallyOnAdditionTest {
    private static final int CLIENTS = 100_000;

    @ParameterizedTest(name = "N={0}")
    @ValueSource(ints = {5, 10})
    void addingOneBackendMovesAboutOneInNPlusOneClientsMostlyToTheNewcomer(int n) {
        List<Backend> before = backends(n);
        Backend added = backend(n + 1, 1);
        List<Backend> after = new ArrayList<>(before);
        after.add(added);
        Policy oldPolicy = Policies.create(PolicyKind.MAGLEV, before);
        Policy newPolicy = Policies.create(PolicyKind.MAGLEV, after);

        int changed = 0;
        int changedElsewhere = 0;
        for (int i = 0; i < CLIENTS; i++) {
            Backend was = oldPolicy.pick(client(i), List.of());
            Backend is = newPolicy.pick(client(i), List.of());
            if (was != is) {
                changed++;
                if (is != added) {
                    changedElsewhere++;
                }
            }
        }

        assertThat((double) changed / CLIENTS).as("moved overall").isCloseTo(1.0 / (n + 1), offset(0.03));
        assertThat((double) changedElsewhere / CLIENTS).as("moved between old backends").isLessThanOrEqualTo(0.03);
    }
}
