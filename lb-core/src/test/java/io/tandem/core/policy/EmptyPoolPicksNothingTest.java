package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.anyClient;
import static io.tandem.core.policy.TestBackends.backend;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class EmptyPoolPicksNothingTest {

    @ParameterizedTest
    @EnumSource(PolicyKind.class)
    void emptyBackendListGivesNullForEveryPick(PolicyKind kind) {
        Policy policy = Policies.create(kind, List.of());

        assertThat(policy.pick(anyClient(), List.of())).isNull();
    }

    @ParameterizedTest
    @EnumSource(PolicyKind.class)
    void backendsThatAllWeighZeroAreNeverPicked(PolicyKind kind) {
        Policy policy = Policies.create(kind, List.of(backend(1, 0), backend(2, 0)));

        assertThat(policy.pick(anyClient(), List.of())).isNull();
    }
}
