package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
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
 * Two HA nodes in one JVM against a real in-process ZooKeeper, with faults injected through
 * loopback proxies. Each test prints the measured numbers with the prefix {@code HA-MEASURE}.
 * Preferred owners (sorted spread): lb1 → .1 .3, lb2 → .2 .4.
 */
class HaPairIT {
    private static final Map<String, Set<String>> SPLIT = Map.of(
            "10.99.0.1", Set.of("lb1"), "10.99.0.2", Set.of("lb2"),
            "10.99.0.3", Set.of("lb1"), "10.99.0.4", Set.of("lb2"));
    private static final Map<String, Set<String>> ALL_ON_LB1 = Map.of(
            "10.99.0.1", Set.of("lb1"), "10.99.0.2", Set.of("lb1"),
            "10.99.0.3", Set.of("lb1"), "10.99.0.4", Set.of("lb1"));

    private static TestingServer zk;
    private HaFixture f;

    @BeforeAll
    static void startZooKeeper() throws Exception {
        // The shared CI disk makes every ZooKeeper fsync take up to hundreds of ms; a production
        // ensemble has its own disk. Without fsync the in-process server answers writes in ~1 ms.
        System.setProperty("zookeeper.forceSync", "no");
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

    private void awaitSplit() {
        await().atMost(Duration.ofSeconds(15)).during(Duration.ofMillis(300))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(SPLIT));
    }

    @Test
    void bothNodesServeTheirPreferredAddressesActiveActive() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        f.start("lb1");
        f.start("lb2");
        awaitSplit();
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            assertThat(f.member("lb1").served()).containsExactly("10.99.0.1", "10.99.0.3");
            assertThat(f.member("lb2").served()).containsExactly("10.99.0.2", "10.99.0.4");
            HaView v = f.member("lb1").view();
            assertThat(v.zk()).isEqualTo(ZkState.CONNECTED);
            assertThat(v.peers()).singleElement().satisfies(p -> {
                assertThat(p.linkUp()).isTrue();
                assertThat(p.held()).containsOnlyKeys("10.99.0.2", "10.99.0.4");
            });
            assertThat(v.vipAddresses()).extracting(HaView.VipAddressView::zkOwner).containsExactly("lb1", "lb2", "lb1", "lb2");
        });
        assertThat(f.changes("lb1", true)).extracting(HaFixture.Change::cause).containsOnly(OwnershipCause.PREFERRED);
        assertThat(f.member("lb1").announces.get()).isGreaterThanOrEqualTo(2);
        assertThat(f.ledger.overlaps()).isEmpty();
    }

    @Test
    void crashedPeerProcessIsTakenOverFastAndRestartedPreferredOwnerDoesNotTakeBackWithoutPreemption() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        f.zkProxy("lb2");
        f.start("lb1", HaFixture::fastDetection);
        f.start("lb2", HaFixture::fastDetection);
        awaitSplit();

        long crashedAt = System.nanoTime();
        f.crash("lb2");
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(ALL_ON_LB1));
        // The holders are read from the addresses; the ownership listener records its change just
        // after (another thread): wait for both records instead of racing them.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(f.changes("lb1", true).stream()
                .filter(c -> c.cause() == OwnershipCause.PEER_DEAD).map(HaFixture.Change::vipAddress).toList())
                .containsExactlyInAnyOrder("10.99.0.2", "10.99.0.4"));
        List<HaFixture.Change> takeovers = f.changes("lb1", true).stream()
                .filter(c -> c.cause() == OwnershipCause.PEER_DEAD).toList();
        long worstMs = takeovers.stream().mapToLong(c -> (c.nanos() - crashedAt) / 1_000_000).max().orElseThrow();
        OwnershipEvent e = f.member("lb1").view().recentEvents().stream()
                .filter(x -> x.cause() == OwnershipCause.PEER_DEAD).findFirst().orElseThrow();
        System.out.printf("HA-MEASURE process-crash: crash->serving_ms=%d (link eof silence_ms=%d, link loss->lease_ms=%d,"
                + " address_ms=%d; defaults heartbeat=20ms timeout=60ms probe=60ms)%n", worstMs, e.detectMs(),
                e.decideMs(), e.addressMs());
        assertThat(worstMs).as("takeover must not wait for the 4 s ZooKeeper session timeout").isLessThan(2_000);
        assertThat(f.ledger.overlaps()).isEmpty();

        // the preferred owner comes back: no preemption, so it serves nothing and nothing moves
        f.zkProxy("lb2").restore();
        f.start("lb2", HaFixture::fastDetection);
        await().atMost(Duration.ofSeconds(15)).until(() -> f.member("lb1").view().peers().getFirst().linkUp());
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(ALL_ON_LB1));
        assertThat(f.member("lb2").served()).isEmpty();
        assertThat(f.ledger.overlaps()).isEmpty();
    }

    @Test
    void silentPeerHostIsTakenOverAfterTheHeartbeatTimeoutAndTheCutOffNodeDropsFirst() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        TcpProxy toLb1 = f.peerProxy("lb2", "lb1");
        TcpProxy toLb2 = f.peerProxy("lb1", "lb2");
        TcpProxy lb2zk = f.zkProxy("lb2");
        f.start("lb1", HaFixture::fastDetection);
        f.start("lb2", HaFixture::fastDetection);
        awaitSplit();

        long cutAt = System.nanoTime();
        toLb1.pause();
        toLb2.pause();
        lb2zk.pause();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(ALL_ON_LB1));
        long takeoverMs = f.changes("lb1", true).stream().filter(c -> c.cause() == OwnershipCause.PEER_DEAD)
                .mapToLong(c -> (c.nanos() - cutAt) / 1_000_000).max().orElseThrow();
        long dropMs = f.changes("lb2", false).stream().mapToLong(c -> (c.nanos() - cutAt) / 1_000_000).max().orElseThrow();
        assertThat(f.changes("lb2", false)).extracting(HaFixture.Change::cause).containsOnly(OwnershipCause.ISOLATED);
        System.out.printf("HA-MEASURE host-silent: cut->lb1_serving_ms=%d cut->lb2_dropped_ms=%d overlaps=%s%n",
                takeoverMs, dropMs, f.ledger.overlaps());
        assertThat(takeoverMs).isLessThan(2_000);
        assertThat(f.ledger.overlaps()).as("the cut-off node drops before the survivor takes over").isEmpty();
    }

    @Test
    void frozenNodeThawsWithStaleEpochsAndDropsItsAddresses() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        f.watchdog = false; // a SIGSTOP freezes the watchdog too
        f.start("lb1");
        f.start("lb2");
        awaitSplit();

        var thaw = f.member("lb2").node.freezeForTest();
        long frozenAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).untilAsserted(() ->
                assertThat(f.member("lb1").served()).containsExactly("10.99.0.1", "10.99.0.2", "10.99.0.3", "10.99.0.4"));
        long takeoverMs = (System.nanoTime() - frozenAt) / 1_000_000;
        assertThat(f.ledger.overlapOpen()).as("a frozen node still has its addresses: the honest window").isTrue();

        long thawedAt = System.nanoTime();
        thaw.countDown();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(2))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(ALL_ON_LB1));
        await().atMost(Duration.ofSeconds(10)).until(() -> f.changes("lb2", false).size() == 2);
        long dropMs = f.changes("lb2", false).stream().mapToLong(c -> (c.nanos() - thawedAt) / 1_000_000).max()
                .orElseThrow();
        assertThat(f.changes("lb2", false)).extracting(HaFixture.Change::cause).containsOnly(OwnershipCause.FENCED);
        System.out.printf("HA-MEASURE frozen: freeze->lb1_serving_ms~%d thaw->stale_node_dropped_ms=%d"
                + " (overlap = freeze remainder + thaw->drop: %s)%n", takeoverMs, dropMs, f.ledger.overlaps());
        assertThat(dropMs).isLessThan(1_000);
    }

    @Test
    void gratuitousArpsThatFellDueDuringAFreezeAreNotSentAfterTheThaw() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        f.watchdog = false; // a SIGSTOP freezes the watchdog too
        // a slow burst, so that most of it is still pending when lb2 freezes
        f.start("lb1", b -> b.garp(5, Duration.ofSeconds(1), Duration.ZERO));
        f.start("lb2", b -> b.garp(5, Duration.ofSeconds(1), Duration.ZERO));
        awaitSplit();
        var thaw = f.member("lb2").node.freezeForTest();
        int atFreeze = f.member("lb2").announces.get();
        assertThat(atFreeze).as("some of lb2's 2 x 5 announcements still pending").isLessThan(10);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(f.member("lb1").served())
                .containsExactly("10.99.0.1", "10.99.0.2", "10.99.0.3", "10.99.0.4"));
        Thread.sleep(2_500); // stay frozen past the rest of the burst: the freeze itself, not a wait for a condition
        thaw.countDown();
        await().atMost(Duration.ofSeconds(5)).until(() -> f.member("lb2").served().isEmpty());
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(f.member("lb2").announces.get()).as("no stale ARP pulls clients back to the thawed node")
                        .isEqualTo(atFreeze));
    }

    @Test
    void hungControlThreadHasItsAddressesRemovedByTheWatchdogBeforeThePeerTakesOver() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        f.start("lb1");
        f.start("lb2");
        awaitSplit();

        var release = f.member("lb2").node.freezeForTest();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(ALL_ON_LB1));
        assertThat(f.ledger.overlaps()).as("the hung node's addresses went before the takeover").isEmpty();

        release.countDown();
        await().atMost(Duration.ofSeconds(10)).until(() -> f.changes("lb2", false).size() == 2);
        assertThat(f.changes("lb2", false)).extracting(HaFixture.Change::cause)
                .allMatch(c -> c == OwnershipCause.ISOLATED || c == OwnershipCause.FENCED);
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(8))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(ALL_ON_LB1));
        assertThat(f.ledger.overlaps()).isEmpty();
    }

    @Test
    void aStalledControlThreadWithNoPeerUpKeepsItsAddressesBecauseNobodyCouldTakeThemOver() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        f.start("lb1", b -> b.claimDelay(Duration.ofMillis(200))); // lb2 never starts
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(f.holders()).isEqualTo(ALL_ON_LB1));
        int removes = f.member("lb1").removes.get();

        var release = f.member("lb1").node.freezeForTest(); // a hung control thread; the watchdog runs
        try {
            await().pollDelay(Duration.ofMillis(800)).atMost(Duration.ofSeconds(3)).untilAsserted(() ->
                    assertThat(f.member("lb1").removes.get()).as("watchdog removed nothing").isEqualTo(removes));
        } finally {
            release.countDown();
        }
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(ALL_ON_LB1));
    }

    @Test
    void peerLinkCutWithZooKeeperUpNeverHasTwoOwnersAndMovesNothing() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        TcpProxy toLb1 = f.peerProxy("lb2", "lb1");
        TcpProxy toLb2 = f.peerProxy("lb1", "lb2");
        f.start("lb1", b -> b.probeTimeout(Duration.ofMillis(500)));
        f.start("lb2", b -> b.probeTimeout(Duration.ofMillis(500)));
        awaitSplit();
        int removesBefore = f.member("lb1").removes.get() + f.member("lb2").removes.get();

        toLb1.cut();
        toLb2.cut();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(f.member("lb1").view().peers().getFirst().probe()).isEqualTo("ALIVE");
            assertThat(f.member("lb2").view().peers().getFirst().probe()).isEqualTo("ALIVE");
        });
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(8))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(SPLIT));

        toLb1.restore();
        toLb2.restore();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(f.member("lb1").view().peers().getFirst().linkUp()).isTrue();
            assertThat(f.member("lb2").view().peers().getFirst().linkUp()).isTrue();
        });
        assertThat(f.holders()).isEqualTo(SPLIT);
        assertThat(f.ledger.overlaps()).isEmpty();
        assertThat(f.member("lb1").removes.get() + f.member("lb2").removes.get()).isEqualTo(removesBefore);
    }

    @Test
    void nodeCutOffFromZooKeeperKeepsItsAddressesByPeerAgreementAndReassertsAfter() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        TcpProxy lb2zk = f.zkProxy("lb2");
        f.start("lb1", b -> b.zkSession(Duration.ofMillis(1500), Duration.ofMillis(500)));
        f.start("lb2", b -> b.zkSession(Duration.ofMillis(1500), Duration.ofMillis(500)));
        awaitSplit();
        int removesBefore = f.member("lb2").removes.get();

        lb2zk.cut();
        await().atMost(Duration.ofSeconds(15)).until(() -> f.member("lb2").view().zk() == ZkState.LOST);
        // lb2's session expires on the server: its owner nodes vanish; lb1 must still not claim them
        await().atMost(Duration.ofSeconds(6)).until(() -> f.member("lb1").view().vipAddresses().stream()
                .filter(v -> v.preferredOwner().equals("lb2")).allMatch(v -> v.zkOwner() == null));
        await().during(Duration.ofMillis(800)).atMost(Duration.ofSeconds(8))
                .untilAsserted(() -> assertThat(f.holders()).isEqualTo(SPLIT));

        lb2zk.restore();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(f.member("lb1").view().vipAddresses())
                .extracting(HaView.VipAddressView::zkOwner).containsExactly("lb1", "lb2", "lb1", "lb2"));
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(f.member("lb2").view().vipAddresses())
                .filteredOn(HaView.VipAddressView::servedHere).hasSize(2)
                .allSatisfy(v -> assertThat(v.epoch()).as("re-asserted with a new epoch").isGreaterThan(1)));
        assertThat(f.member("lb2").removes.get()).isEqualTo(removesBefore);
        assertThat(f.ledger.overlaps()).isEmpty();
    }

    @Test
    void withPreemptionTheReturningPreferredOwnerGetsItsAddressesBackWithoutOverlap() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        f.zkProxy("lb2");
        f.start("lb1", b -> b.preempt(true, Duration.ofMillis(500)));
        f.start("lb2", b -> b.preempt(true, Duration.ofMillis(500)));
        awaitSplit();
        f.crash("lb2");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(f.holders()).isEqualTo(ALL_ON_LB1));

        // a loaded machine can make the cold start above shuffle addresses: count from here
        int releasedBefore = f.changes("lb1", false).size();
        f.zkProxy("lb2").restore();
        f.start("lb2", b -> b.preempt(true, Duration.ofMillis(500)));
        awaitSplit();
        await().atMost(Duration.ofSeconds(10)).until(() -> f.changes("lb1", false).size() >= releasedBefore + 2);
        List<HaFixture.Change> handedBack = f.changes("lb1", false).subList(releasedBefore,
                f.changes("lb1", false).size());
        assertThat(handedBack).extracting(HaFixture.Change::cause).containsOnly(OwnershipCause.PREEMPTED);
        assertThat(handedBack).extracting(HaFixture.Change::vipAddress).containsExactlyInAnyOrder("10.99.0.2", "10.99.0.4");
        assertThat(f.ledger.overlaps()).isEmpty();
    }

    @Test
    void withAnAddressLifetimeHeldAddressesAreRenewedAndRenewalsStopWhenTheNodeFreezes() throws Exception {
        f = new HaFixture(zk.getConnectString(), "lb1", "lb2");
        f.watchdog = false; // a SIGSTOP freezes the watchdog too
        f.start("lb1", b -> b.addressLifetime(Duration.ofSeconds(2)));
        f.start("lb2", b -> b.addressLifetime(Duration.ofSeconds(2)));
        awaitSplit();
        int addsAtSplit = f.member("lb2").adds.get();
        // 2 addresses, renewed every 667 ms: at least 2 renewals each within 2 s
        await().atMost(Duration.ofSeconds(5)).until(() -> f.member("lb2").adds.get() >= addsAtSplit + 4);

        var thaw = f.member("lb2").node.freezeForTest();
        try {
            int addsAtFreeze = f.member("lb2").adds.get();
            await().pollDelay(Duration.ofMillis(2000)).atMost(Duration.ofSeconds(4)).untilAsserted(() ->
                    assertThat(f.member("lb2").adds.get()).as("a frozen node renews nothing, so the kernel"
                            + " would expire its addresses").isLessThanOrEqualTo(addsAtFreeze + 2));
        } finally {
            thaw.countDown();
        }
    }

    @Test
    void zooKeeperDownWithBothNodesUpKeepsEveryAddressServedAndComesBackWithoutFlap() throws Exception {
        File dir = java.nio.file.Files.createTempDirectory("ha-zk").toFile();
        try (TestingServer own = new TestingServer(new InstanceSpec(dir, -1, -1, -1, true, -1, 200, -1), true)) {
            f = new HaFixture(own.getConnectString(), "lb1", "lb2");
            // a false heartbeat timeout with ZooKeeper down would (rightly) isolate a node: give the noisy CI room
            f.start("lb1", b -> b.zkSession(Duration.ofMillis(1500), Duration.ofMillis(500))
                    .heartbeat(Duration.ofMillis(20), Duration.ofMillis(400)));
            f.start("lb2", b -> b.zkSession(Duration.ofMillis(1500), Duration.ofMillis(500))
                    .heartbeat(Duration.ofMillis(20), Duration.ofMillis(400)));
            awaitSplit();
            int removesBefore = f.member("lb1").removes.get() + f.member("lb2").removes.get();

            own.stop();
            await().atMost(Duration.ofSeconds(6)).until(() -> f.member("lb1").view().zk() == ZkState.LOST
                    && f.member("lb2").view().zk() == ZkState.LOST);
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(8))
                    .untilAsserted(() -> assertThat(f.holders()).isEqualTo(SPLIT));

            own.restart();
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                assertThat(f.member("lb1").view().zk()).isEqualTo(ZkState.CONNECTED);
                assertThat(f.member("lb1").view().vipAddresses()).extracting(HaView.VipAddressView::zkOwner)
                        .containsExactly("lb1", "lb2", "lb1", "lb2");
                assertThat(f.member("lb2").view().vipAddresses()).extracting(HaView.VipAddressView::zkOwner)
                        .containsExactly("lb1", "lb2", "lb1", "lb2");
            });
            assertThat(f.holders()).isEqualTo(SPLIT);
            assertThat(f.member("lb1").removes.get() + f.member("lb2").removes.get()).isEqualTo(removesBefore);
            assertThat(f.ledger.overlaps()).isEmpty();
            f.close();
            f = null;
        }
    }
}
