package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.anyClient;
import static io.tandem.core.policy.TestBackends.backend;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.List;
import org.junit.jupiter.api.Test;

class LeastConnectionsRespectsWeightsTest {

    @Test
    void comparesActiveConnectionsPerUnitOfWeight() {
        Backend heavy = backend(1, 4);
        Backend light = backend(2, 1);
        heavy.stats().active.set(6);   // 1.5 per unit of weight
        light.stats().active.set(2);   // 2 per unit of weight
        Policy policy = Policies.create(PolicyKind.LEAST_CONNECTIONS, List.of(heavy, light));

        assertThat(policy.pick(anyClient(), List.of())).isSameAs(heavy);
    }

    @Test
    void connectionsFillInProportionToWeight() {
        Backend heavy = backend(1, 3);
        Backend light = backend(2, 1);
        Policy policy = Policies.create(PolicyKind.LEAST_CONNECTIONS, List.of(heavy, light));

        for (int i = 0; i < 400; i++) {
            policy.pick(anyClient(), List.of()).stats().active.incrementAndGet();
        }

        assertThat(heavy.active()).isEqualTo(300);
        assertThat(light.active()).isEqualTo(100);
    }
}
