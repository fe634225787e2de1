package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cold starts of a pair with the config's default timings (heartbeat 25/150 ms, probe 100 ms,
 * isolation grace 100 ms): both nodes start together, against a real ZooKeeper, and must reach
 * the preferred split without a single release on the way (issue 19: "acquired, released as
 * ISOLATED within 15–80 ms, re-acquired" in about half the cold starts).
 */
class HaColdStartIT {
    private static final int ROUNDS = 10;
    private static final Map<String, Set<String>> SPLIT = Map.of(
            "10.99.0.1", Set.of("lb1"), "10.99.0.2", Set.of("lb2"),
            "10.99.0.3", Set.of("lb1"), "10.99.0.4", Set.of("lb2"));

    /** One way: a round trip of 20 ms, a ZooKeeper that fsyncs every write on a busy disk. */
    private static final long ZK_DELAY_MS = 10;

    private static TestingServer zk;

    @BeforeAll
    static void startZooKeeper() throws Exception {
        System.setProperty("zookeeper.forceSync", "no");
        zk = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 200, -1), true);
    }

    @AfterAll
    static void stopZooKeeper() throws Exception {
        zk.close();
    }

    /** The config's defaults, not the fixture's relaxed ones: the cold-start churn was seen with these. */
    static HaConfigBuilder configDefaults(HaConfigBuilder b) {
        return b.heartbeat(Duration.ofMillis(25), Duration.ofMillis(150)).probeTimeout(Duration.ofMillis(100))
                .isolationGrace(Duration.ofMillis(100))
                // the second node's start (its cache built over the slowed ZooKeeper) must not lose
                // it its addresses to the claim delay: churn, not the claim delay, is under test
                .claimDelay(Duration.ofSeconds(60));
    }

    @Test
    void pairStartedColdConvergesWithoutAnyRelease() throws Exception {
        List<String> churn = new ArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            try (HaFixture f = new HaFixture(zk.getConnectString(), "lb1", "lb2")) {
                f.zkProxy("lb1").delay(ZK_DELAY_MS);
                f.zkProxy("lb2").delay(ZK_DELAY_MS);
                // Two processes never start in the same millisecond: the second one's peer link
                // comes up a while after the first node is connected to ZooKeeper.
                long stagger = round % 2 == 0 ? 0 : 1500;
                CompletableFuture<?> a = CompletableFuture.runAsync(() -> start(f, "lb1"));
                CompletableFuture<?> b = CompletableFuture.runAsync(() -> {
                    sleep(stagger);
                    start(f, "lb2");
                });
                CompletableFuture.allOf(a, b).get();
                await().atMost(Duration.ofSeconds(15)).during(Duration.ofMillis(600))
                        .untilAsserted(() -> assertThat(f.holders()).isEqualTo(SPLIT));
                for (HaFixture.Change c : f.changes) {
                    if (!c.acquired()) {
                        churn.add("round " + round + ": " + c.node() + " released " + c.vipAddress() + " " + c.cause());
                    }
                }
                f.member("lb1").view().recentEvents().stream().filter(e -> !e.acquired())
                        .forEach(e -> churn.add("lb1 event " + e));
                f.member("lb2").view().recentEvents().stream().filter(e -> !e.acquired())
                        .forEach(e -> churn.add("lb2 event " + e));
                assertThat(f.ledger.overlaps()).isEmpty();
            }
        }
        System.out.printf("HA-MEASURE cold-start: rounds=%d releases=%d%n", ROUNDS, churn.size());
        assertThat(churn).as("releases during %d cold starts", ROUNDS).isEmpty();
    }

    @Test
    void aNodeStartedBeforeItsPeerServesItsAddressesWithoutChurnOnASlowZooKeeper() throws Exception {
        // The shape the check saw: lb1 up, lb2 not yet. lb1 probes lb2 through ZooKeeper
        // at once; that first probe write creates lb2's parent nodes (several round trips) and
        // outlasts the isolation grace, while lb1's claim (one transaction) commits before it.
        List<String> churn = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            try (HaFixture f = new HaFixture(zk.getConnectString(), "lb1", "lb2")) {
                f.zkProxy("lb1").delay(30);
                f.zkProxy("lb2").delay(30);
                // lb2 starts a few seconds later: lb1 must not take its addresses meanwhile (claim delay 60 s)
                f.start("lb1", HaColdStartIT::configDefaults);
                await().atMost(Duration.ofSeconds(20)).during(Duration.ofMillis(1_000))
                        .untilAsserted(() -> assertThat(f.member("lb1").served()).containsExactly("10.99.0.1",
                                "10.99.0.3"));
                f.start("lb2", HaColdStartIT::configDefaults);
                await().atMost(Duration.ofSeconds(20)).during(Duration.ofMillis(600))
                        .untilAsserted(() -> assertThat(f.holders()).isEqualTo(SPLIT));
                for (HaFixture.Change c : f.changes) {
                    if (!c.acquired()) {
                        churn.add("round " + round + ": " + c.node() + " released " + c.vipAddress() + " " + c.cause());
                    }
                }
                assertThat(f.ledger.overlaps()).isEmpty();
            }
        }
        System.out.printf("HA-MEASURE cold-start-alone: rounds=3 releases=%d %s%n", churn.size(), churn);
        assertThat(churn).as("releases of a node started before its peer").isEmpty();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms); // the start-up skew of two processes, not a wait for a condition
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void start(HaFixture f, String id) {
        try {
            f.start(id, HaColdStartIT::configDefaults);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
