package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HaConfig;
import io.tandem.config.HostPort;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What every node of a group derives from its config alike: the node ids and each address's preferred owner. */
class GroupTest {
    private static HaConfigBuilder base(String me, String peer) {
        return new HaConfigBuilder(me, "prod", HostPort.of("0.0.0.0", 7400), "zk:2181")
                .peer(peer, HostPort.of("10.0.0.2", 7400))
                .zkSession(Duration.ofSeconds(10), Duration.ofSeconds(3))
                .heartbeat(Duration.ofMillis(25), Duration.ofMillis(150))
                .probeTimeout(Duration.ofMillis(100))
                .isolationGrace(Duration.ofMillis(100))
                .claimDelay(Duration.ofSeconds(3))
                .preempt(false, Duration.ofSeconds(10))
                .interfaceName("eth0")
                .garp(5, Duration.ofMillis(100), Duration.ofSeconds(5))
                .addressLifetime(Duration.ZERO);
    }

    @Test
    void addressesAreSpreadRoundRobinOverSortedNodeIdsInNumericAddressOrderTheSameOnEveryNode() {
        HaConfig a = base("lb-a", "lb-b").vipAddress("10.1.0.10").vipAddress("10.1.0.9").vipAddress("10.1.0.100")
                .vipAddress("10.1.0.11").build();
        HaConfig b = base("lb-b", "lb-a").vipAddress("10.1.0.11").vipAddress("10.1.0.100").vipAddress("10.1.0.9")
                .vipAddress("10.1.0.10").build();
        assertThat(Group.of(a).preferredOwners()).containsExactly(
                Map.entry("10.1.0.9", "lb-a"), Map.entry("10.1.0.10", "lb-b"),
                Map.entry("10.1.0.11", "lb-a"), Map.entry("10.1.0.100", "lb-b"));
        assertThat(Group.of(b).preferredOwners()).isEqualTo(Group.of(a).preferredOwners());
        assertThat(Group.of(a).nodeIds()).containsExactly("lb-a", "lb-b");
    }

    @Test
    void aConfiguredPreferredOwnerWinsOverTheSpread() {
        HaConfig c = base("lb-a", "lb-b").vipAddress("10.1.0.1", "lb-b").vipAddress("10.1.0.2", "lb-b").build();
        assertThat(Group.of(c).preferredOwners()).containsEntry("10.1.0.1", "lb-b").containsEntry("10.1.0.2", "lb-b");
    }

    @Test
    void ipv4AddressesComeBeforeIpv6InTheSpread() {
        HaConfig c = base("lb-a", "lb-b").vipAddress("fd00::1").vipAddress("10.1.0.1").build();
        assertThat(Group.of(c).preferredOwners()).containsExactly(
                Map.entry("10.1.0.1", "lb-a"), Map.entry("fd00::1", "lb-b"));
    }
}
