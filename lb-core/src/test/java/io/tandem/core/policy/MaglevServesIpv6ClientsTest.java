package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backends;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MaglevServesIpv6ClientsTest {

    @Test
    void ipv6ClientsAreSpreadOverEveryBackendAndKeepTheirBackend() throws Exception {
        List<Backend> backends = backends(4);
        Policy policy = Policies.create(PolicyKind.MAGLEV, backends);
        Map<Backend, Integer> counts = new IdentityHashMap<>();

        for (int i = 0; i < 4_000; i++) {
            InetAddress client = InetAddress.getByName("2001:db8::" + Integer.toHexString(i + 1));
            Backend first = policy.pick(client, List.of());
            assertThat(policy.pick(client, List.of())).isSameAs(first);
            counts.merge(first, 1, Integer::sum);
        }

        // Expected 1000 each; sigma ~27, so 800..1200 is far outside chance.
        assertThat(counts).containsOnlyKeys(backends);
        assertThat(counts.values()).allSatisfy(c -> assertThat(c).isBetween(800, 1200));
    }
}
