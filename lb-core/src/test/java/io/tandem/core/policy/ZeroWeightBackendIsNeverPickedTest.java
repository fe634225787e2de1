package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
import static io.tandem.core.policy.TestBackends.client;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ZeroWeightBackendIsNeverPickedTest {

    @ParameterizedTest
    @EnumSource(PolicyKind.class)
    void weightZeroBackendIsSkippedByEveryPolicyEvenOnRetry(PolicyKind kind) {
        Backend zero = backend(2, 0);
        List<Backend> backends = List.of(backend(1, 1), zero, backend(3, 1));
        Policy policy = Policies.create(kind, backends);

        for (int i = 0; i < 1_000; i++) {
            assertThat(policy.pick(client(i), List.of())).isNotSameAs(zero).isNotNull();
        }
        assertThat(policy.pick(client(0), List.of(backends.get(0), backends.get(2)))).isNull();
    }
}
