package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * During a rolling upgrade the two nodes of a pair run different Tandem versions; they keep
 * client affinity only if the client hash and the table population stay bit-for-bit the same.
 * If this test fails, the mapping changed: that is a deliberate, release-noted decision, not a
 * refactoring.
 */
class MaglevMappingIsPinnedAcrossReleasesTest {

    @Test
    void clientHashesMatchPinnedValues() throws Exception {
        assertThat(hash("10.1.2.3")).isEqualTo(0xb4dca852b0af9c96L);
        assertThat(hash("192.168.0.1")).isEqualTo(0x783e29e9ba8b0784L);
        assertThat(hash("255.255.255.255")).isEqualTo(0x4e4186c81337a356L);
        assertThat(hash("::1")).isEqualTo(0xe51e41656f11a14cL);
        assertThat(hash("2001:db8::7")).isEqualTo(0xc4f74eb1c9451eefL);
    }

    @Test
    void smallWeightedTableMatchesPinnedLayout() {
        MaglevPolicy policy = MaglevPolicy.of(List.of(backend(1, 1), backend(2, 2), backend(3, 1)), 13);

        List<String> hosts = new ArrayList<>();
        for (Backend b : policy.table()) {
            hosts.add(b.address().host());
        }

        assertThat(hosts).containsExactly("127.0.0.3", "127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2",
                "127.0.0.2", "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.2", "127.0.0.3",
                "127.0.0.2");
    }

    private static long hash(String literal) throws Exception {
        return MaglevPolicy.clientHash(InetAddress.getByName(literal));   // IP literals: no DNS
    }
}
