package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.config.HostPort;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class HaSettingsTest {
    private static HaSettings.Builder base(String me, String peer) {
        return HaSettings.builder(me, "prod", HostPort.of("0.0.0.0", 7400), "zk:2181")
                .peer(peer, HostPort.of("10.0.0.2", 7400));
    }

    @Test
    void addressesAreSpreadRoundRobinOverSortedNodeIdsInNumericAddressOrderTheSameOnEveryNode() {
        HaSettings a = base("lb-a", "lb-b").vips("10.1.0.10", "10.1.0.9", "10.1.0.100").vip("10.1.0.11").build();
        HaSettings b = base("lb-b", "lb-a").vips("10.1.0.11", "10.1.0.100", "10.1.0.9", "10.1.0.10").build();
        assertThat(a.preferredOwners()).containsExactly(
                java.util.Map.entry("10.1.0.9", "lb-a"), java.util.Map.entry("10.1.0.10", "lb-b"),
                java.util.Map.entry("10.1.0.11", "lb-a"), java.util.Map.entry("10.1.0.100", "lb-b"));
        assertThat(b.preferredOwners()).isEqualTo(a.preferredOwners());
    }

    @Test
    void aConfiguredPreferredOwnerWinsOverTheSpread() {
        HaSettings s = base("lb-a", "lb-b").vip("10.1.0.1", "lb-b").vip("10.1.0.2", "lb-b").build();
        assertThat(s.preferredOwners()).containsEntry("10.1.0.1", "lb-b").containsEntry("10.1.0.2", "lb-b");
    }

    @Test
    void defaultsAimAtSubSecondDetection() {
        HaSettings s = base("lb-a", "lb-b").vip("10.1.0.1").build();
        assertThat(s.heartbeatInterval()).isEqualTo(Duration.ofMillis(20));
        assertThat(s.heartbeatTimeout()).isEqualTo(Duration.ofMillis(60));
        assertThat(s.preempt()).isFalse();
        assertThat(s.garpCount()).isEqualTo(5);
    }

    @Test
    void everyErrorIsReportedAtOnceWithItsPathAndWhatWasExpected() {
        assertThatThrownBy(() -> HaSettings.builder("lb/a", "prod", HostPort.of("0.0.0.0", 7400), "zk:2181")
                .peer("lb/a", HostPort.of("10.0.0.2", 7400))
                .vip("10.1.0.1", "nobody").vip("not-an-ip").vip("10.1.0.1")
                .heartbeat(Duration.ofMillis(50), Duration.ofMillis(60))
                .garp(99, Duration.ofMillis(100), Duration.ZERO)
                .addressLifetime(Duration.ofMillis(1500))
                .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nodeId: \"lb/a\" (expected a non-blank id without '/')")
                .hasMessageContaining("peers[0].nodeId: \"lb/a\" (expected unique node ids)")
                .hasMessageContaining("vips[0].preferredOwner: \"nobody\" (expected one of [lb/a])")
                .hasMessageContaining("vips[1].address: \"not-an-ip\" (expected an IPv4 or IPv6 literal)")
                .hasMessageContaining("vips[2].address: \"10.1.0.1\" (expected each address once)")
                .hasMessageContaining("heartbeatTimeout: 60ms (expected >= 2 x heartbeatInterval = 100ms)")
                .hasMessageContaining("garpCount: 99 (expected 0..50)")
                .hasMessageContaining("addressLifetime: 1500ms (expected 0, or whole seconds from 2s to 1h");
    }

    @Test
    void aGroupNeedsAtLeastOnePeer() {
        assertThatThrownBy(() -> HaSettings.builder("lb-a", "prod", HostPort.of("0.0.0.0", 7400), "zk:2181")
                .vip("10.1.0.1").build())
                .hasMessageContaining("peers: [] (expected at least one peer: HA needs two nodes)");
    }

    /** The name becomes a path under /sys/class/net: "../../x" would read elsewhere. */
    @Test
    void anInterfaceNameLinuxWouldRefuseIsRefused() {
        for (String name : new String[] {"../../x", "eth0/1", "eth0:1", "eth 0", "", ".", "..", "x".repeat(16)}) {
            assertThatThrownBy(() -> base("lb-a", "lb-b").vip("10.1.0.1").interfaceName(name).build())
                    .as(name).hasMessageContaining("interfaceName: \"" + name + "\" (expected a Linux interface name");
        }
        assertThat(base("lb-a", "lb-b").vip("10.1.0.1").interfaceName("x".repeat(15)).build().interfaceName())
                .hasSize(15);
    }
}
