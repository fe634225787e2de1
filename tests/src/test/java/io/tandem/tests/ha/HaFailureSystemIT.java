package io.tandem.tests.ha;

import static io.tandem.tests.ha.PairSystem.PEER_PORT;
import static io.tandem.tests.ha.PairSystem.VIP10;
import static io.tandem.tests.ha.PairSystem.VIP11;
import static io.tandem.tests.ha.PairSystem.ZK_PORT;
import static io.tandem.tests.ha.PairSystem.attempts;
import static io.tandem.tests.ha.PairSystem.sys;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.tests.ha.PairSystem.Attempt;
import io.tandem.tests.ha.PairSystem.Gap;
import io.tandem.tests.ha.PairSystem.Stats;
import io.tandem.tests.netns.AddressWatch;
import io.tandem.tests.netns.AddressWatch.Change;
import io.tandem.tests.netns.Topology;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * The failure-matrix rows of docs/ha.md §6 that need a node to lose the network, or a double
 * failure, shown with real processes in network namespaces (same fixture as
 * {@link HaPairSystemIT}, {@link PairSystem}): a host that vanishes without a FIN, a node cut off
 * from ZooKeeper and its peer while clients still reach it, ZooKeeper down followed by a peer's
 * death, and ZooKeeper down followed by a peer-link cut with both nodes alive. Overlaps are
 * measured by {@code ip monitor address} in both node namespaces, not sampled. Linux + root
 * only; prints one {@code HA-SYS} line per scenario.
 */
class HaFailureSystemIT extends PairSystemTest {

    @Test
    @Order(1)
    void ownerHostLostWithoutFinDropsItsVipByIsolationBeforeTheSurvivorTakesItAndStaysOffWhenItsLinkReturns()
            throws Exception {
        pair.startPair("f1");
        Child client = pair.client(30_000);
        pair.awaitClientOk(client, 10);
        AddressWatch watch = AddressWatch.start(net, "lb1", "lb2");
        long t0 = 0;
        long owned;
        long restore;
        try {
            net.link("lb1", false);
            t0 = System.currentTimeMillis();
            await("lb2 serves both VIPs").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                    .until(() -> pair.served("lb2").equals(Set.of(VIP10, VIP11)) && net.has("lb2", VIP10));
            owned = System.currentTimeMillis() - t0;
            // lb1's admin API is on its loopback: it answers while the cable is out
            await("cut-off lb1 serves nothing").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                    .until(() -> pair.served("lb1").isEmpty() && !net.has("lb1", VIP10));
            pair.awaitOkAfter(client, VIP10, t0, 20);
        } finally {
            net.link("lb1", true);
            restore = System.currentTimeMillis();
        }
        await("lb1 back: peer link up both ways, ZooKeeper connected").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> pair.peerLinkUp("lb1") && pair.peerLinkUp("lb2") && pair.zkConnected("lb1"));
        long rejoined = System.currentTimeMillis() - restore;
        List<String> wrong = sampleFor(Duration.ofSeconds(2), () -> pair.served("lb1").isEmpty()
                && !net.has("lb1", VIP10) && !net.has("lb1", VIP11) && pair.served("lb2").equals(Set.of(VIP10, VIP11)));
        long afterRejoin = System.currentTimeMillis();
        pair.awaitOkAfter(client, VIP10, afterRejoin, 20);
        client.kill();
        watch.close();
        List<Change> changes = watch.changes();
        OptionalLong dropAt = firstChange(changes, "lb1", false, VIP10);
        OptionalLong takeAt = firstChange(changes, "lb2", true, VIP10);
        List<Attempt> a10 = attempts(client, VIP10);
        Gap g = Gap.of(a10, t0);
        long failedAfterRestore = a10.stream().filter(a -> !a.ok() && a.start() >= restore).count();
        Stats s11 = Stats.of(attempts(client, VIP11));
        List<String> released = pair.releases("lb1", t0);
        List<String> falseTakeovers = falseTakeoversAfterReturn("lb1", restore);
        sys("host-loss", "lb1's port down (no FIN/RST) for %d ms: lb1 removed .10 at +%s ms, lb2 added it at +%s ms"
                        + " (ip monitor), lb2 serves both (api/ha) at +%d ms; client .10: longest time between two"
                        + " successes %d ms, failed %d; link back -> lb1 rejoined in %d ms, then held nothing (%d"
                        + " wrong samples), client .10 failed after the restore %d; .11 failed %d of %d; overlaps %s;"
                        + " lb1 releases %s",
                restore - t0, at(dropAt, t0), at(takeAt, t0), owned, g.gap(), g.failedAfterFault(), rejoined,
                wrong.size(), failedAfterRestore, s11.failed(), s11.ok() + s11.failed(), watch.overlaps(), released);
        // the rule under test: the cut-off node drops by itself, before the survivor takes over
        assertThat(released).as("lb1 released .10 because it was cut off (not fenced later)")
                .anyMatch(r -> r.startsWith("lb1:" + VIP10 + ":ISOLATED"));
        assertThat(dropAt).as("lb1 removed .10").isPresent();
        assertThat(takeAt).as("lb2 added .10").isPresent();
        assertThat(dropAt.getAsLong()).as("lb1's removal of .10 precedes lb2's add")
                .isLessThanOrEqualTo(takeAt.getAsLong());
        assertThat(watch.overlaps()).as("windows with a VIP on both interfaces while the cable was out")
                .noneMatch(o -> o.start() < restore);
        assertThat(g.gap()).as("client-visible gap on .10 (ms)").isLessThan(5_000);
        if (falseTakeovers.isEmpty()) {
            assertThat(watch.overlaps()).as("windows with a VIP on both interfaces").isEmpty();
            assertThat(changes).as("lb1 never added an address (also not once its link was back)")
                    .filteredOn(c -> c.host().equals("lb1")).noneMatch(Change::added);
            assertThat(wrong).as("samples after the return with lb1 holding anything or lb2 not both").isEmpty();
            assertThat(failedAfterRestore).as("client failures on .10 after lb1's link came back").isZero();
            assertThat(s11.failed()).as("failures on .11 (owned by the survivor throughout)").isZero();
        } else {
            assertFencedFalseTakeover("host-loss", "lb1", "lb2", falseTakeovers, watch, restore);
        }
    }

    /**
     * lb2 loses ZooKeeper and lb1 (iptables DROP of the ZooKeeper and peer ports in its
     * namespace) but stays on the client network. It must drop .11 ({@code ISOLATED}) before
     * lb1 takes .11 over, so that no moment has two nodes answering for it; clients go to lb1.
     */
    @Test
    @Order(2)
    void nodeCutOffFromZooKeeperAndPeerButReachableByClientsDropsItsVipBeforeThePeerTakesIt() throws Exception {
        pair.startPair("f2");
        Child client = pair.client(30_000);
        pair.awaitClientOk(client, 10);
        AddressWatch watch = AddressWatch.start(net, "lb1", "lb2");
        pair.dropTcpPorts("lb2", ZK_PORT, PEER_PORT);
        long t0 = System.currentTimeMillis();
        await("lb1 serves both VIPs").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> pair.served("lb1").equals(Set.of(VIP10, VIP11)) && net.has("lb1", VIP11));
        long owned = System.currentTimeMillis() - t0;
        await("isolated lb2 serves nothing").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> pair.served("lb2").isEmpty() && !net.has("lb2", VIP11));
        // lb2 is still on the client network: its kernel refuses a connection to its own address
        // (nothing listens there), where a cut-off host would leave it to time out
        Topology.Result reach = net.exec("client", "timeout", "3", "bash", "-c",
                "exec 3<>/dev/tcp/" + net.address("lb2") + "/80");
        pair.awaitOkAfter(client, VIP11, t0, 20);
        long restore = System.currentTimeMillis();
        net.exec("lb2", "iptables", "-F");
        await("lb2 back: peer link up both ways, ZooKeeper connected").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> pair.peerLinkUp("lb1") && pair.peerLinkUp("lb2") && pair.zkConnected("lb2"));
        long rejoined = System.currentTimeMillis() - restore;
        List<String> wrong = sampleFor(Duration.ofSeconds(2), () -> pair.served("lb2").isEmpty()
                && !net.has("lb2", VIP10) && !net.has("lb2", VIP11));
        client.kill();
        watch.close();
        List<Change> changes = watch.changes();
        OptionalLong dropAt = firstChange(changes, "lb2", false, VIP11);
        OptionalLong takeAt = firstChange(changes, "lb1", true, VIP11);
        List<Attempt> a11 = attempts(client, VIP11);
        Gap g = Gap.of(a11, t0);
        long failedAfterTakeover = takeAt.isEmpty() ? -1 : a11.stream()
                .filter(a -> !a.ok() && a.start() >= takeAt.getAsLong() + 200 && a.start() < restore).count();
        long failedAfterReturn = a11.stream().filter(a -> !a.ok() && a.start() >= restore).count();
        Stats s10 = Stats.of(attempts(client, VIP10));
        List<String> released = pair.releases("lb2", t0);
        sys("isolated", "ZooKeeper and peer ports DROPped in lb2's namespace for %d ms: lb2 removed .11 at +%s ms,"
                        + " lb1 added it at +%s ms (ip monitor), lb1 serves both (api/ha) at +%d ms; client -> lb2's"
                        + " own address: %s; client .11: longest time between two successes %d ms, failed %d, failed"
                        + " from 200 ms after the takeover %d, after the return %d; .10 failed %d; rules flushed ->"
                        + " lb2 rejoined in %d ms and held nothing (%d wrong samples); overlaps %s; lb2 releases %s",
                restore - t0, at(dropAt, t0), at(takeAt, t0), owned, reach.output().strip().replace("\n", " | "),
                g.gap(), g.failedAfterFault(), failedAfterTakeover, failedAfterReturn, s10.failed(), rejoined,
                wrong.size(), watch.overlaps(), released);
        assertThat(reach.output()).as("the isolated node is reachable by clients (its kernel refuses port 80)")
                .contains("Connection refused");
        assertThat(released).as("lb2 released .11 as isolated")
                .anyMatch(r -> r.startsWith("lb2:" + VIP11 + ":ISOLATED"));
        assertThat(dropAt).as("lb2 removed .11").isPresent();
        assertThat(takeAt).as("lb1 added .11").isPresent();
        assertThat(dropAt.getAsLong()).as("lb2's removal of .11 precedes lb1's add")
                .isLessThanOrEqualTo(takeAt.getAsLong());
        assertThat(watch.overlaps()).as("windows with a VIP on both interfaces while lb2 was cut off")
                .noneMatch(o -> o.start() < restore);
        assertThat(g.gap()).as("client-visible gap on .11 (ms)").isLessThan(5_000);
        assertThat(failedAfterTakeover).as("client failures on .11 from 200 ms after lb1 took it, lb2 still cut off")
                .isZero();
        List<String> falseTakeovers = falseTakeoversAfterReturn("lb2", restore);
        if (falseTakeovers.isEmpty()) {
            assertThat(watch.overlaps()).as("windows with a VIP on both interfaces").isEmpty();
            assertThat(changes).as("lb2 never added an address").filteredOn(c -> c.host().equals("lb2"))
                    .noneMatch(Change::added);
            assertThat(wrong).as("samples after the return with lb2 holding anything").isEmpty();
            assertThat(s10.failed()).as("failures on .10 (owned by lb1 throughout)").isZero();
            assertThat(failedAfterReturn).as("client failures on .11 after lb2 came back").isZero();
        } else {
            assertFencedFalseTakeover("isolated", "lb2", "lb1", falseTakeovers, watch, restore);
        }
    }

    /**
     * docs/ha.md §5, the stated cost: with ZooKeeper down, the death of lb1 leaves lb2 with no
     * witness at all (no ZooKeeper, no peer link), so it drops every address (rule 3) and nobody
     * serves; when ZooKeeper returns, lb2 serves both VIPs again.
     */
    @Test
    @Order(3)
    void zooKeeperDownThenPeerKilledLeavesTheSurvivorServingNothingUntilZooKeeperReturns() throws Exception {
        pair.startPair("f3");
        Child client = pair.client(60_000);
        pair.awaitClientOk(client, 10);
        AddressWatch watch = AddressWatch.start(net, "lb1", "lb2");
        pair.killZooKeeper();
        await("both nodes see ZooKeeper gone").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> !pair.zkConnected("lb1") && !pair.zkConnected("lb2"));
        assertThat(pair.served("lb2")).as("lb2 keeps .11 while the peer link is up").containsExactly(VIP11);
        pair.lb1().signal("KILL");
        long t1 = System.currentTimeMillis();
        assertThat(pair.lb1().waitForExit(Duration.ofSeconds(5))).isTrue();
        await("survivor lb2 drops every address").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> pair.served("lb2").isEmpty() && !net.has("lb2", VIP11));
        long dropped = System.currentTimeMillis() - t1;
        List<String> wrong = sampleFor(Duration.ofSeconds(2), () -> pair.served("lb2").isEmpty()
                && !net.has("lb2", VIP10) && !net.has("lb2", VIP11));
        long restart = System.currentTimeMillis();
        pair.startZooKeeper();
        long zkReady = System.currentTimeMillis();
        await("lb2 serves both VIPs once ZooKeeper is back").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> pair.served("lb2").equals(Set.of(VIP10, VIP11)) && net.has("lb2", VIP10)
                        && net.has("lb2", VIP11));
        long servedAgain = System.currentTimeMillis() - zkReady;
        long both = System.currentTimeMillis();
        pair.awaitOkAfter(client, VIP10, both, 20);
        pair.awaitOkAfter(client, VIP11, both, 20);
        client.kill();
        watch.close();
        List<Change> changes = watch.changes();
        OptionalLong dropAt = firstChange(changes, "lb2", false, VIP11);
        List<Attempt> a11 = attempts(client, VIP11);
        List<Attempt> a10 = attempts(client, VIP10);
        long drop = dropAt.orElse(t1 + dropped);
        // the outage: attempts started after lb2's removal (+ one connect timeout) and before the restart
        long servedInOutage = a11.stream().filter(a -> a.ok() && a.start() > drop + 300 && a.end() < restart).count()
                + a10.stream().filter(a -> a.ok() && a.start() > drop + 300 && a.end() < restart).count();
        long triedInOutage = a11.stream().filter(a -> a.start() > drop + 300 && a.end() < restart).count()
                + a10.stream().filter(a -> a.start() > drop + 300 && a.end() < restart).count();
        Gap g10 = Gap.of(a10, t1);
        Gap g11 = Gap.of(a11, t1);
        List<String> released = pair.releases("lb2", t1);
        List<String> acquired = pair.acquisitions("lb2", restart);
        sys("zk-down-peer-dies", "ZooKeeper killed, then lb1 killed: lb2 removed .11 at +%s ms (ip monitor; api/ha"
                        + " empty at +%d ms); outage: %d of %d client attempts served, %d wrong samples; ZooKeeper"
                        + " restarted (ready %d ms after the restart began) -> lb2 serves both %d ms after it was"
                        + " ready; client gap .10 %d ms, .11 %d ms; lb2 releases %s; acquired %s; address changes %s",
                at(dropAt, t1), dropped, servedInOutage, triedInOutage, wrong.size(), zkReady - restart, servedAgain,
                g10.gap(), g11.gap(), released, acquired,
                changes.stream().map(c -> "+" + (c.at() - t1) + " " + c.host() + (c.added() ? " +" : " -")
                        + c.address()).toList());
        assertThat(released).as("lb2 released .11 with no witness left").anyMatch(r -> r.startsWith("lb2:" + VIP11
                + ":ISOLATED"));
        assertThat(wrong).as("samples while ZooKeeper was down with lb2 holding anything").isEmpty();
        assertThat(servedInOutage).as("client attempts served during the outage").isZero();
        assertThat(triedInOutage).as("client attempts during the outage").isPositive();
        assertThat(servedAgain).as("ZooKeeper ready -> lb2 serves both (ms)").isLessThan(30_000);
        // the killed lb1 leaves .10 on its interface (docs/ha.md, crash row): the only overlap allowed
        assertThat(watch.overlaps()).as("windows with a VIP on both interfaces other than the dead node's leftover")
                .allSatisfy(o -> assertThat(o.address()).isEqualTo(VIP10));
        assertThat(changes).as("the dead lb1 added nothing").filteredOn(c -> c.host().equals("lb1"))
                .noneMatch(Change::added);
    }

    /**
     * docs/ha.md §5 rule 3, the reason for it: ZooKeeper down, then the peer link cut (iptables
     * DROP of the peer port in lb1's namespace) with both nodes alive. Each node has no witness
     * left and must drop everything rather than keep serving (or, worse, take the other's VIP on
     * link loss alone): an outage, never two owners. When the link and ZooKeeper return, each
     * node gets its own VIP back ({@code RECOVERED}: its lease is still its own).
     */
    @Test
    @Order(4)
    void zooKeeperDownThenPeerLinkCutMakesBothNodesDropEverythingAndRecoverTheirOwnVipsAfter() throws Exception {
        pair.startPair("f4");
        Child client = pair.client(60_000);
        pair.awaitClientOk(client, 10);
        AddressWatch watch = AddressWatch.start(net, "lb1", "lb2");
        pair.killZooKeeper();
        await("both nodes see ZooKeeper gone").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> !pair.zkConnected("lb1") && !pair.zkConnected("lb2"));
        assertThat(pair.served("lb1")).as("lb1 keeps .10 while the peer link is up").containsExactly(VIP10);
        assertThat(pair.served("lb2")).as("lb2 keeps .11 while the peer link is up").containsExactly(VIP11);
        pair.dropTcpPorts("lb1", PEER_PORT);
        long t1 = System.currentTimeMillis();
        await("both nodes drop every address").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> pair.served("lb1").isEmpty() && pair.served("lb2").isEmpty() && !net.has("lb1", VIP10)
                        && !net.has("lb2", VIP11));
        long dropped = System.currentTimeMillis() - t1;
        List<String> wrong = sampleFor(Duration.ofSeconds(2), () -> pair.served("lb1").isEmpty()
                && pair.served("lb2").isEmpty() && !net.has("lb1", VIP10) && !net.has("lb1", VIP11)
                && !net.has("lb2", VIP10) && !net.has("lb2", VIP11));
        long restore = System.currentTimeMillis();
        net.exec("lb1", "iptables", "-F");
        pair.startZooKeeper();
        long zkReady = System.currentTimeMillis();
        await("each node serves its own VIP again").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> pair.served("lb1").equals(Set.of(VIP10)) && pair.served("lb2").equals(Set.of(VIP11))
                        && net.has("lb1", VIP10) && net.has("lb2", VIP11));
        long servedAgain = System.currentTimeMillis() - zkReady;
        long back = System.currentTimeMillis();
        pair.awaitOkAfter(client, VIP10, back, 20);
        pair.awaitOkAfter(client, VIP11, back, 20);
        client.kill();
        watch.close();
        List<Change> changes = watch.changes();
        List<Attempt> all = new ArrayList<>(attempts(client, VIP10));
        all.addAll(attempts(client, VIP11));
        long lastDrop = changes.stream().filter(c -> !c.added()).mapToLong(Change::at).max().orElse(t1 + dropped);
        long servedInOutage = all.stream().filter(a -> a.ok() && a.start() > lastDrop + 300 && a.end() < restore)
                .count();
        long triedInOutage = all.stream().filter(a -> a.start() > lastDrop + 300 && a.end() < restore).count();
        List<String> released = new ArrayList<>(pair.releases("lb1", t1));
        released.addAll(pair.releases("lb2", t1));
        List<String> acquired = new ArrayList<>(pair.acquisitions("lb1", restore));
        acquired.addAll(pair.acquisitions("lb2", restore));
        sys("zk-down-link-cut", "ZooKeeper killed, then the peer port DROPped in lb1's namespace: lb1 removed .10 at"
                        + " +%s ms, lb2 removed .11 at +%s ms (ip monitor; api/ha both empty at +%d ms); outage: %d of"
                        + " %d client attempts served, %d wrong samples; link and ZooKeeper back (ready %d ms after"
                        + " the restore began) -> each serves its own VIP %d ms after it was ready; overlaps %s;"
                        + " releases %s; acquired %s",
                at(firstChange(changes, "lb1", false, VIP10), t1), at(firstChange(changes, "lb2", false, VIP11), t1),
                dropped, servedInOutage, triedInOutage, wrong.size(), zkReady - restore, servedAgain,
                watch.overlaps(), released, acquired);
        assertThat(released).as("both nodes released their VIP as isolated")
                .anyMatch(r -> r.startsWith("lb1:" + VIP10 + ":ISOLATED"))
                .anyMatch(r -> r.startsWith("lb2:" + VIP11 + ":ISOLATED"));
        assertThat(watch.overlaps()).as("windows with a VIP on both interfaces").isEmpty();
        assertThat(changes).as("no node ever added the other's VIP")
                .noneMatch(c -> c.added() && !c.address().equals(c.host().equals("lb1") ? VIP10 : VIP11));
        assertThat(wrong).as("samples in the outage with a node holding anything").isEmpty();
        assertThat(servedInOutage).as("client attempts served during the outage").isZero();
        assertThat(triedInOutage).as("client attempts during the outage").isPositive();
        assertThat(servedAgain).as("ZooKeeper ready -> each node serves its own VIP (ms)").isLessThan(30_000);
    }

    /**
     * The {@code PEER_DEAD} takeovers by a node that came back (cable in, rules flushed) since
     * {@code since}. Coming back, it probes its peer through ZooKeeper; on the loaded 2-vCPU box
     * the alive peer's answer can miss {@code probe_timeout} (250 ms here), and then the returning
     * node takes the peer's VIPs and the peer is {@code FENCED}: the "needless (safe) takeover"
     * of docs/ha.md §4/§10 (seen once in seven host-loss runs, load 13.7). That is the probe-timeout
     * trade-off, not the isolation rule these scenarios test, so it is reported and checked to
     * be fenced ({@link #assertFencedFalseTakeover}) instead of failing the scenario.
     */
    private List<String> falseTakeoversAfterReturn(String returning, long since) {
        return pair.acquisitions(returning, since).stream().filter(a -> a.contains(":PEER_DEAD:")).toList();
    }

    /**
     * After a false takeover by {@code returning}: the peer released every address it took
     * ({@code FENCED}), every window with an address on both interfaces closed within 1 s, and in
     * the end each VIP has exactly one owner.
     */
    private void assertFencedFalseTakeover(String scenario, String returning, String peer, List<String> takeovers,
            AddressWatch watch, long restore) {
        List<String> fenced = pair.releases(peer, restore);
        long now = System.currentTimeMillis();
        Set<String> a = pair.served(returning);
        Set<String> b = pair.served(peer);
        sys(scenario, "after the return %s falsely declared the alive %s dead (its probe went unanswered for"
                        + " probe_timeout; load %s): took %s; %s released %s; overlaps after the return %s; now %s=%s"
                        + " %s=%s", returning, peer, loadAverage(), takeovers, peer, fenced,
                watch.overlaps().stream().filter(o -> o.start() >= restore).map(o -> o.address() + " " + o.millis(now)
                        + " ms").toList(), returning, a, peer, b);
        for (String t : takeovers) {
            String address = t.split(":")[1];
            assertThat(fenced).as("%s fenced off %s after the false takeover", peer, address)
                    .anyMatch(r -> r.startsWith(peer + ":" + address + ":FENCED"));
        }
        assertThat(watch.overlaps()).as("windows with a VIP on both interfaces after the return: closed within 1 s")
                .allSatisfy(o -> assertThat(o.end()).isPositive().isLessThanOrEqualTo(o.start() + 1_000));
        assertThat(a).as("no VIP owned by both").doesNotContainAnyElementsOf(b);
        Set<String> all = new java.util.TreeSet<>(a);
        all.addAll(b);
        assertThat(all).as("every VIP owned").containsExactlyInAnyOrder(VIP10, VIP11);
    }

    private static String loadAverage() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ")[0];
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    /** Checks {@code ok} every 50 ms for {@code d}; returns the moments it was false. */
    private static List<String> sampleFor(Duration d, java.util.concurrent.Callable<Boolean> ok) throws Exception {
        List<String> wrong = new ArrayList<>();
        long start = System.currentTimeMillis();
        long deadline = start + d.toMillis();
        while (System.currentTimeMillis() < deadline) {
            if (!ok.call()) {
                wrong.add("+" + (System.currentTimeMillis() - start) + " ms");
            }
            Thread.sleep(50); // sampling cadence, not a wait for a condition
        }
        return wrong;
    }

    private static OptionalLong firstChange(List<Change> changes, String host, boolean added, String address) {
        return changes.stream().filter(c -> c.host().equals(host) && c.added() == added && c.address().equals(address))
                .mapToLong(Change::at).findFirst();
    }

    private static String at(OptionalLong t, long t0) {
        return t.isPresent() ? Long.toString(t.getAsLong() - t0) : "never";
    }
}
