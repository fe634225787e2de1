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

    /** Three zones, two nodes in a and one each in b and c (names chosen so the sorted order would clump zone a). */
    private static HaConfigBuilder zoned(String me) {
        HaConfigBuilder b = new HaConfigBuilder(me, "prod", HostPort.of("0.0.0.0", 7400), "zk:2181")
                .zkSession(Duration.ofSeconds(10), Duration.ofSeconds(3))
                .heartbeat(Duration.ofMillis(25), Duration.ofMillis(150))
                .probeTimeout(Duration.ofMillis(100))
                .isolationGrace(Duration.ofMillis(100))
                .claimDelay(Duration.ofSeconds(3))
                .preempt(false, Duration.ofSeconds(10))
                .interfaceName("eth0")
                .garp(5, Duration.ofMillis(100), Duration.ofSeconds(5))
                .addressLifetime(Duration.ZERO);
        Map<String, String> zones = Map.of("lb-1", "a", "lb-2", "a", "lb-3", "b", "lb-4", "c");
        b.zone(zones.get(me));
        zones.keySet().stream().sorted().filter(id -> !id.equals(me))
                .forEach(id -> b.peer(id, HostPort.of("10.0.0.9", 7400), zones.get(id)));
        for (int i = 1; i <= 8; i++) {
            b.vipAddress("10.1.0." + i);
        }
        return b;
    }

    @Test
    void preferredOwnersAreDealtOverZonesFirstSoConsecutiveAddressesLandInDifferentZones() {
        Group g = Group.of(zoned("lb-1").build());
        assertThat(g.spreadOrder()).containsExactly("lb-1", "lb-3", "lb-4", "lb-2");
        assertThat(g.preferredOwners()).containsExactly(
                Map.entry("10.1.0.1", "lb-1"), Map.entry("10.1.0.2", "lb-3"), Map.entry("10.1.0.3", "lb-4"),
                Map.entry("10.1.0.4", "lb-2"), Map.entry("10.1.0.5", "lb-1"), Map.entry("10.1.0.6", "lb-3"),
                Map.entry("10.1.0.7", "lb-4"), Map.entry("10.1.0.8", "lb-2"));
        assertThat(g.zones()).containsEntry("lb-1", "a").containsEntry("lb-3", "b").hasSize(4);
    }

    @Test
    void everyNodeComputesTheSameZoneSpreadFromItsOwnConfig() {
        Map<String, String> first = Group.of(zoned("lb-1").build()).preferredOwners();
        for (String me : new String[] {"lb-2", "lb-3", "lb-4"}) {
            assertThat(Group.of(zoned(me).build()).preferredOwners()).as(me).isEqualTo(first);
        }
    }

    @Test
    void withTwoNodesOfZoneAFirstInIdOrderTheSecondAddressGoesToZoneB() {
        // Sorted ids alone would give lb-1, lb-2 (both zone a) the first two addresses.
        HaConfig c = base("lb-1", "lb-2").zone("a").build();
        HaConfig zoned = new HaConfigBuilder("lb-1", "prod", HostPort.of("0.0.0.0", 7400), "zk:2181")
                .peer("lb-2", HostPort.of("10.0.0.2", 7400), "a").peer("lb-3", HostPort.of("10.0.0.3", 7400), "b")
                .zone("a").zkSession(Duration.ofSeconds(10), Duration.ofSeconds(3))
                .heartbeat(Duration.ofMillis(25), Duration.ofMillis(150)).probeTimeout(Duration.ofMillis(100))
                .isolationGrace(Duration.ofMillis(100)).claimDelay(Duration.ofSeconds(3))
                .preempt(false, Duration.ofSeconds(10)).interfaceName("eth0")
                .garp(5, Duration.ofMillis(100), Duration.ofSeconds(5)).addressLifetime(Duration.ZERO)
                .vipAddress("10.1.0.1").vipAddress("10.1.0.2").build();
        assertThat(Group.of(zoned).preferredOwners()).containsExactly(
                Map.entry("10.1.0.1", "lb-1"), Map.entry("10.1.0.2", "lb-3"));
        assertThat(Group.of(c).spreadOrder()).containsExactly("lb-1", "lb-2");
    }

    @Test
    void nodesWithoutADeclaredZoneEachCountAsTheirOwnAndKeepTheSortedOrder() {
        assertThat(Group.spreadOrder(java.util.List.of("a", "b", "c"), Map.of())).containsExactly("a", "b", "c");
        assertThat(Group.spreadOrder(java.util.List.of("a", "b", "c", "d"), Map.of("a", "z1", "b", "z1")))
                .containsExactly("a", "c", "d", "b");
    }
}
