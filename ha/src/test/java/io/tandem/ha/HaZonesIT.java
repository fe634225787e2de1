package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An HA group of three nodes in three zones against a real in-process ZooKeeper: preferred owners
 * are dealt over the zones, and when one zone's node dies its addresses are taken over by the
 * nodes of the other zones, each by exactly one of them. Prints {@code HA-ZONES} lines.
 */
class HaZonesIT {
    /** Node ids chosen so that sorted order and zone order differ: lb1 and lb2 would both be zone a. */
    private static final Map<String, String> ZONES = Map.of("lb1", "zone-a", "lb2", "zone-b", "lb3", "zone-c");

    private static TestingServer zk;
    private HaFixture f;

    @BeforeAll
    static void startZooKeeper() throws Exception {
        System.setProperty("zookeeper.forceSync", "no"); // as HaPairIT: the shared CI disk
        zk = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 200, -1), true);
    }

    @AfterAll
    static void stopZooKeeper() throws Exception {
        zk.close();
    }

    @AfterEach
    void tearDown() {
        if (f != null) {
            f.close();
        }
    }

    private HaFixture.Member start(String id) throws Exception {
        return f.start(id, b -> HaFixture.fastDetection(b).zones(ZONES));
    }

    @Test
    void whenOneZonesNodeDiesItsAddressesAreTakenOverByNodesOfTheOtherZones() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2", "lb3");
        f.zkProxy("lb1");
        start("lb1");
        start("lb2");
        start("lb3");
        // Zone-first spread over (zone-a: lb1), (zone-b: lb2), (zone-c: lb3): .1 lb1, .2 lb2, .3 lb3, .4 lb1.
        Map<String, Set<String>> spread = Map.of("10.99.0.1", Set.of("lb1"), "10.99.0.2", Set.of("lb2"),
                "10.99.0.3", Set.of("lb3"), "10.99.0.4", Set.of("lb1"));
        await().atMost(Duration.ofSeconds(20)).during(Duration.ofMillis(300))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(spread));
        for (String id : List.of("lb1", "lb2", "lb3")) {
            assertThat(f.member(id).view().vipAddresses()).as(id).extracting(HaView.VipAddressView::preferredOwner)
                    .containsExactly("lb1", "lb2", "lb3", "lb1");
        }

        long crashedAt = System.nanoTime();
        f.crash("lb1"); // zone-a is gone
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).untilAsserted(() -> {
            Map<String, Set<String>> h = f.holders();
            assertThat(h).containsOnlyKeys(HaFixture.VIP_ADDRESSES);
            h.values().forEach(owners -> assertThat(owners).hasSize(1).doesNotContain("lb1"));
        });
        long servedMs = (System.nanoTime() - crashedAt) / 1_000_000;
        Map<String, Set<String>> after = f.holders();
        assertThat(after.get("10.99.0.2")).as("lb2 keeps its own").containsExactly("lb2");
        assertThat(after.get("10.99.0.3")).as("lb3 keeps its own").containsExactly("lb3");
        for (String moved : List.of("10.99.0.1", "10.99.0.4")) {
            String owner = after.get(moved).iterator().next();
            assertThat(ZONES.get(owner)).as(moved + " now in another zone").isNotEqualTo("zone-a");
        }
        await().during(Duration.ofMillis(800)).atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(after));
        assertThat(f.ledger.overlaps()).as("two survivors race for each address; one wins").isEmpty();
        System.out.printf("HA-ZONES zone-a lost: crash->all_served_ms=%d owners=%s%n", servedMs, after);
        assertThat(servedMs).as("takeover must not wait for the ZooKeeper session timeout").isLessThan(3_000);
    }

    @Test
    void aZoneOfTwoNodesPrefersOnlyItsShareAndLosingItMovesOnlyThose() throws Exception {
        Map<String, String> zones = Map.of("lb1", "zone-a", "lb2", "zone-a", "lb3", "zone-b", "lb4", "zone-c");
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2", "lb3", "lb4");
        f.zkProxy("lb1");
        f.zkProxy("lb2");
        for (String id : List.of("lb1", "lb2", "lb3", "lb4")) {
            f.start(id, b -> HaFixture.fastDetection(b).zones(zones));
        }
        // Dealt lb1 (a), lb3 (b), lb4 (c), lb2 (a); sorted ids alone would give zone a .1 and .2 in a row.
        Map<String, Set<String>> spread = Map.of("10.99.0.1", Set.of("lb1"), "10.99.0.2", Set.of("lb3"),
                "10.99.0.3", Set.of("lb4"), "10.99.0.4", Set.of("lb2"));
        await().atMost(Duration.ofSeconds(20)).during(Duration.ofMillis(300))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(spread));

        long crashedAt = System.nanoTime();
        f.crash("lb1");
        f.crash("lb2");
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).untilAsserted(() -> {
            Map<String, Set<String>> h = f.holders();
            assertThat(h).containsOnlyKeys(HaFixture.VIP_ADDRESSES);
            h.values().forEach(owners -> assertThat(owners).hasSize(1).containsAnyOf("lb3", "lb4"));
        });
        long servedMs = (System.nanoTime() - crashedAt) / 1_000_000;
        // A loaded machine can make the cold start of four nodes shuffle addresses: count from the crash.
        for (String survivor : List.of("lb3", "lb4")) {
            assertThat(f.changes(survivor, false).stream().filter(c -> c.nanos() > crashedAt).toList())
                    .as(survivor + " gave nothing up after the crash").isEmpty();
        }
        assertThat(f.holders()).containsEntry("10.99.0.2", Set.of("lb3")).containsEntry("10.99.0.3", Set.of("lb4"));
        assertThat(f.ledger.overlaps()).isEmpty();
        System.out.printf("HA-ZONES zone-a (2 nodes) lost: crash->all_served_ms=%d owners=%s%n", servedMs, f.holders());
    }
}
