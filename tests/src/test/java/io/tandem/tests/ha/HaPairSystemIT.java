package io.tandem.tests.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.tests.TandemProcess;
import io.tandem.tests.netns.AddressWatch;
import io.tandem.tests.netns.Topology;
import io.tandem.tests.support.Orphans;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The HA pair as real processes in network namespaces (DESIGN §7/§8, docs/ha.md §6 "system"
 * rows): two {@code tandem run} nodes ({@code lb1}, {@code lb2}) each in its own namespace on
 * one bridge, a standalone ZooKeeper process ({@code zk}), an HTTP backend ({@code be}) and a
 * client loop ({@code client}) that opens a new connection to each VIP every 20 ms throughout.
 * VIP 198.18.1.10 prefers lb1, 198.18.1.11 prefers lb2; both nodes listen on both (IP_FREEBIND),
 * only the owner has the address on its {@code eth0}. Faults are real: {@code kill -9},
 * {@code SIGSTOP}/{@code SIGCONT}, iptables DROP inside one namespace, ZooKeeper killed.
 *
 * <p>Each scenario uses its own ZooKeeper {@code cluster} so leases of a previous scenario's
 * killed nodes cannot leak into it. Linux + root only; skipped with a message otherwise.
 * Prints one {@code HA-SYS} line per scenario.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HaPairSystemIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String VIP10 = "198.18.1.10";
    private static final String VIP11 = "198.18.1.11";
    private static final int ZK_PORT = 2181;
    private static final int PEER_PORT = 7946;

    private Topology net;
    private Path dir;
    private Child zk;
    private Child backend;
    private final List<TandemProcess> nodes = new ArrayList<>();
    private final List<Child> clients = new ArrayList<>();
    private TandemProcess lb1;
    private TandemProcess lb2;

    @BeforeAll
    void buildTopology() throws Exception {
        String why = Topology.unavailableReason();
        assumeTrue(why == null, () -> "HA system test skipped: " + why);
        Orphans.sweep();
        Topology.sweep();
        dir = Files.createTempDirectory("tandem-hasys");
        net = Topology.create()
                .host("client", "198.18.0.2")
                .host("lb1", "198.18.0.11")
                .host("lb2", "198.18.0.12")
                .host("be", "198.18.0.20")
                .host("zk", "198.18.0.30");
        startZooKeeper();
        backend = Child.start("backend", net.in("be"), HttpBackendMain.class, net.address("be"), "8080", "be1",
                Long.toString(ProcessHandle.current().pid())).awaitLine("backend ready", Duration.ofSeconds(20));
    }

    @AfterAll
    void removeTopology() throws Exception {
        stopAll();
        if (backend != null) {
            backend.close();
        }
        if (zk != null) {
            zk.close();
        }
        if (net != null) {
            net.close();
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    @AfterEach
    void stopNodesAndClients(org.junit.jupiter.api.TestInfo test) throws Exception {
        // keep every process's output for a post-mortem: target/hasys/<test>-<n>.log
        Path logs = Files.createDirectories(Path.of("target", "hasys"));
        String name = test.getTestMethod().map(java.lang.reflect.Method::getName).orElse("test");
        for (int i = 0; i < nodes.size(); i++) {
            Files.writeString(logs.resolve(name + "-node" + i + ".log"), nodes.get(i).output());
        }
        for (int i = 0; i < clients.size(); i++) {
            Files.writeString(logs.resolve(name + "-client" + i + ".log"), String.join("\n", clients.get(i).lines()));
        }
        stopAll();
    }

    private void stopAll() throws Exception {
        for (Child c : clients) {
            c.close();
        }
        clients.clear();
        for (TandemProcess n : nodes) {
            n.close();
        }
        nodes.clear();
        if (net != null) {
            for (String host : List.of("lb1", "lb2")) {
                for (String vip : List.of(VIP10, VIP11)) {
                    net.exec(host, "ip", "addr", "del", vip + "/32", "dev", Topology.IFACE);
                }
                net.exec(host, "iptables", "-F");
            }
        }
    }

    @Test
    @Order(1)
    void pairStartsWithEachVipOnItsPreferredOwner() throws Exception {
        long t0 = System.currentTimeMillis();
        startPair("s1");
        long owned = System.currentTimeMillis() - t0;
        assertThat(served("lb1")).containsExactly(VIP10);
        assertThat(served("lb2")).containsExactly(VIP11);
        assertThat(net.has("lb1", VIP10)).isTrue();
        assertThat(net.has("lb1", VIP11)).isFalse();
        assertThat(net.has("lb2", VIP11)).isTrue();
        assertThat(net.has("lb2", VIP10)).isFalse();
        Child client = client(3_000);
        client.awaitLine("client done", Duration.ofSeconds(15));
        Stats s10 = Stats.of(attempts(client, VIP10));
        Stats s11 = Stats.of(attempts(client, VIP11));
        assertThat(s10.ok).as("client through VIP .10").isPositive();
        assertThat(s11.ok).as("client through VIP .11").isPositive();
        assertThat(s10.failed + s11.failed).as("failed attempts with both nodes up").isZero();
        sys("initial", "lb1 serves %s, lb2 serves %s; client ok .10=%d .11=%d failed=0; both nodes launched ->"
                + " each VIP on its preferred owner in %d ms", VIP10, VIP11, s10.ok, s11.ok, owned);
    }

    @Test
    @Order(2)
    void killedOwnerOfVip10IsTakenOverByTheSurvivorWithinSecondsWhileVip11NeverFails() throws Exception {
        startPair("s2");
        Child client = client(15_000);
        awaitClientOk(client, 10);
        lb1.signal("KILL");
        long t0 = System.currentTimeMillis();
        assertThat(lb1.waitForExit(Duration.ofSeconds(5))).isTrue();
        await("lb2 serves both VIPs").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> served("lb2").equals(Set.of(VIP10, VIP11)) && net.has("lb2", VIP10));
        long owned = System.currentTimeMillis() - t0;
        awaitOkAfter(client, VIP10, t0, 20);
        client.kill();
        Gap g = Gap.of(attempts(client, VIP10), t0);
        Stats s11 = Stats.of(attempts(client, VIP11));
        boolean leftover = net.has("lb1", VIP10);
        sys("kill-9", "lb1 killed; lb2 owns .10 after %d ms (api/ha+ip addr); client .10: longest time between two"
                        + " successes %d ms, unserved %d ms after the kill, failed attempts %d, failed after recovery %d;"
                        + " .11 failed %d of %d; killed node's namespace still has .10: %s",
                owned, g.gap, g.unserved, g.failedAfterFault, g.failedAfterRecovery, s11.failed, s11.ok + s11.failed,
                leftover);
        assertThat(g.gap).as("client-visible gap on .10 (ms)").isLessThan(3_000);
        assertThat(g.failedAfterRecovery).as("failures on .10 once it was served again").isLessThanOrEqualTo(2);
        assertThat(s11.failed).as("failures on .11 (owned by the survivor throughout)").isZero();
    }

    @Test
    @Order(3)
    void frozenOwnerLosesItsVipToTheSurvivorAndAfterThawNoLongerHoldsIt() throws Exception {
        startPair("s3");
        Child client = client(20_000);
        awaitClientOk(client, 10);
        AddressWatch watch = AddressWatch.start(net, "lb1", "lb2");
        lb2.signal("STOP");
        long t0 = System.currentTimeMillis();
        long owned;
        try {
            await("lb1 serves both VIPs").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                    .until(() -> served("lb1").equals(Set.of(VIP10, VIP11)) && net.has("lb1", VIP11));
            owned = System.currentTimeMillis() - t0;
            awaitOkAfter(client, VIP11, t0, 20);
            // While frozen the stopped node cannot remove its address: its kernel still holds it.
            assertThat(net.has("lb2", VIP11)).as("frozen node still has .11 on its interface").isTrue();
        } finally {
            lb2.signal("CONT");
        }
        long thaw = System.currentTimeMillis();
        await("thawed lb2 drops .11").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(10))
                .until(() -> !net.has("lb2", VIP11));
        long dropped = System.currentTimeMillis() - thaw;
        await("thawed lb2 reports it serves nothing").atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(20)).until(() -> served("lb2").isEmpty());
        // the client keeps reaching .11 (now on lb1) after the thaw, and the thawed node stays out
        long after = System.currentTimeMillis();
        awaitOkAfter(client, VIP11, after, 30);
        client.kill();
        assertThat(served("lb1")).containsExactlyInAnyOrder(VIP10, VIP11);
        assertThat(served("lb2")).isEmpty();
        assertThat(net.has("lb2", VIP11)).isFalse();
        assertThat(net.has("lb1", VIP11)).isTrue();
        watch.close();
        List<AddressWatch.Overlap> overlaps = watch.overlaps();
        long now = System.currentTimeMillis();
        List<Attempt> a11 = attempts(client, VIP11);
        Gap g = Gap.of(a11, t0);
        long failedAfterThaw = a11.stream().filter(a -> !a.ok && a.start >= thaw + 200).count();
        Stats s10 = Stats.of(attempts(client, VIP10));
        sys("sigstop", "lb2 frozen; lb1 owns .11 after %d ms; client .11 longest time between successes %d ms,"
                        + " failed %d; thaw -> lb2 removed .11 in %d ms; failed on .11 from 200 ms after thaw: %d;"
                        + " .10 failed %d; on both interfaces (ip monitor): %s",
                owned, g.gap, g.failedAfterFault, dropped, failedAfterThaw, s10.failed,
                overlaps.stream().map(o -> o.address() + " " + o.millis(now) + " ms").toList());
        assertThat(overlaps).as("address windows on both nodes: only .11, only the freeze, closed after the thaw")
                .allSatisfy(o -> {
                    assertThat(o.address()).isEqualTo(VIP11);
                    assertThat(o.end()).isPositive().isLessThanOrEqualTo(thaw + dropped + 50);
                });
        assertThat(g.gap).as("client-visible gap on .11 (ms)").isLessThan(3_000);
        assertThat(failedAfterThaw).as("client failures on .11 after the thaw").isZero();
        assertThat(s10.failed).as("failures on .10 (owned by lb1 throughout)").isZero();
    }

    @Test
    @Order(4)
    void peerLinkCutWithZooKeeperUpNeverLeavesAVipOnBothNodesAndMovesNothing() throws Exception {
        startPair("s4");
        Child client = client(15_000);
        awaitClientOk(client, 10);
        AddressWatch watch = AddressWatch.start(net, "lb1", "lb2");
        long t0 = System.currentTimeMillis();
        for (String chain : List.of("INPUT", "OUTPUT")) {
            for (String dir : List.of("--dport", "--sport")) {
                Topology.Result r = net.exec("lb1", "iptables", "-I", chain, "-p", "tcp", dir,
                        Integer.toString(PEER_PORT), "-j", "DROP");
                assertThat(r.code()).as(r.output()).isZero();
            }
        }
        await("lb1 sees the peer link down").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> !peerLinkUp("lb1"));
        int samples = 0;
        long deadline = System.currentTimeMillis() + 3_000;
        List<String> both = new ArrayList<>();
        while (System.currentTimeMillis() < deadline) {
            samples++;
            CompletableFuture<Set<String>> s1 = CompletableFuture.supplyAsync(() -> servedOrEmpty("lb1"));
            CompletableFuture<Set<String>> s2 = CompletableFuture.supplyAsync(() -> servedOrEmpty("lb2"));
            List<String> a1 = net.addressesOn("lb1");
            List<String> a2 = net.addressesOn("lb2");
            for (String vip : List.of(VIP10, VIP11)) {
                if (a1.contains(vip + "/32") && a2.contains(vip + "/32")) {
                    both.add(vip + " on both interfaces at +" + (System.currentTimeMillis() - t0) + " ms");
                }
                if (s1.join().contains(vip) && s2.join().contains(vip)) {
                    both.add(vip + " served by both (api/ha) at +" + (System.currentTimeMillis() - t0) + " ms");
                }
            }
            Thread.sleep(50); // sampling cadence, not a wait for a condition
        }
        assertThat(both).as("moments in which a VIP was held by both nodes").isEmpty();
        assertThat(served("lb1")).containsExactly(VIP10);
        assertThat(served("lb2")).containsExactly(VIP11);
        net.exec("lb1", "iptables", "-F");
        await("peer link back").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> peerLinkUp("lb1") && peerLinkUp("lb2"));
        client.kill();
        watch.close();
        Stats s10 = Stats.of(attempts(client, VIP10));
        Stats s11 = Stats.of(attempts(client, VIP11));
        sys("link-cut", "peer port DROPped in lb1's namespace for 3 s with ZooKeeper up: %d api/ha samples and %d"
                + " address changes (ip monitor), overlaps %s; client failed .10=%d .11=%d", samples,
                watch.changes().size(), watch.overlaps(), s10.failed, s11.failed);
        assertThat(watch.overlaps()).as("windows with a VIP on both interfaces").isEmpty();
        assertThat(watch.changes()).as("address changes on either interface").isEmpty();
        assertThat(s10.failed + s11.failed).as("client failures during the link cut").isZero();
    }

    @Test
    @Order(5)
    void zooKeeperDownKeepsBothVipsServedAndItsReturnCausesNoFlap() throws Exception {
        startPair("s5");
        Child client = client(20_000);
        awaitClientOk(client, 10);
        AddressWatch watch = AddressWatch.start(net, "lb1", "lb2");
        long t0 = System.currentTimeMillis();
        zk.kill();
        await("both nodes see ZooKeeper gone").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> !zkConnected("lb1") && !zkConnected("lb2"));
        int samples = 0;
        List<String> wrong = new ArrayList<>();
        long deadline = System.currentTimeMillis() + 3_000;
        while (System.currentTimeMillis() < deadline) {
            samples++;
            if (!net.has("lb1", VIP10) || !net.has("lb2", VIP11) || net.has("lb1", VIP11) || net.has("lb2", VIP10)) {
                wrong.add("+" + (System.currentTimeMillis() - t0) + " ms lb1=" + net.addressesOn("lb1") + " lb2="
                        + net.addressesOn("lb2"));
            }
            Thread.sleep(50); // sampling cadence
        }
        long restart = System.currentTimeMillis();
        startZooKeeper();
        await("both nodes reconnected").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
                .until(() -> zkConnected("lb1") && zkConnected("lb2"));
        long reconnected = System.currentTimeMillis() - restart;
        deadline = System.currentTimeMillis() + 2_000;
        while (System.currentTimeMillis() < deadline) {
            samples++;
            if (!net.has("lb1", VIP10) || !net.has("lb2", VIP11) || net.has("lb1", VIP11) || net.has("lb2", VIP10)) {
                wrong.add("after return +" + (System.currentTimeMillis() - t0) + " ms lb1=" + net.addressesOn("lb1")
                        + " lb2=" + net.addressesOn("lb2"));
            }
            Thread.sleep(50); // sampling cadence
        }
        client.kill();
        watch.close();
        Stats s10 = Stats.of(attempts(client, VIP10));
        Stats s11 = Stats.of(attempts(client, VIP11));
        List<String> released = new ArrayList<>(releases("lb1", t0));
        released.addAll(releases("lb2", t0));
        sys("zk-down", "ZooKeeper killed for %d ms, nodes reconnected %d ms after its restart; %d samples, address"
                        + " changes sampled %d / ip monitor %d, releases %s; client failed .10=%d .11=%d", restart - t0, reconnected,
                samples, wrong.size(), watch.changes().size(), released, s10.failed, s11.failed);
        // A control thread starved past the watchdog limit on the loaded box removes and re-adds
        // its own addresses (docs/ha.md §10): a flap of the watchdog, not of the ZooKeeper rule
        // under test. Then only the node-local flap is tolerated, and reported.
        List<String> stalls = released.stream().filter(r -> r.contains("control thread stalled")).toList();
        assertThat(released).as("releases on either node other than watchdog stalls").isSubsetOf(stalls);
        assertThat(watch.overlaps()).as("windows with a VIP on both interfaces").isEmpty();
        assertThat(watch.changes()).as("no address ever added on the other node")
                .noneMatch(c -> c.added() && !c.address().equals(c.host().equals("lb1") ? VIP10 : VIP11));
        if (stalls.isEmpty()) {
            assertThat(wrong).as("samples where an address was missing or on the wrong node").isEmpty();
            assertThat(watch.changes()).as("address changes on either interface (ip monitor)").isEmpty();
        } else {
            sys("zk-down", "watchdog flap during the scenario (not the ZooKeeper rule): %s", stalls);
        }
        assertThat(s10.failed + s11.failed).as("client failures").isZero();
    }

    @Test
    @Order(6)
    void restartedNodeRejoinsWithoutTakingItsPreferredVipBack() throws Exception {
        startPair("s6");
        lb1.signal("KILL");
        assertThat(lb1.waitForExit(Duration.ofSeconds(5))).isTrue();
        await("lb2 serves both VIPs").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> served("lb2").equals(Set.of(VIP10, VIP11)));
        AddressWatch watch = AddressWatch.start(net, "lb1", "lb2");
        lb1 = startNode("lb1", "s6");
        await("restarted lb1 sees lb2 up").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> peerLinkUp("lb1") && zkConnected("lb1"));
        int samples = 0;
        long deadline = System.currentTimeMillis() + 2_000;
        List<String> wrong = new ArrayList<>();
        while (System.currentTimeMillis() < deadline) {
            samples++;
            if (!served("lb1").isEmpty() || net.has("lb1", VIP10) || net.has("lb1", VIP11)) {
                wrong.add("lb1 api=" + served("lb1") + " lb1 ip=" + net.addressesOn("lb1"));
            }
            Thread.sleep(50); // sampling cadence
        }
        watch.close();
        sys("restart", "restarted lb1 rejoined (peer link up, ZooKeeper connected), swept its leftover .10, and"
                + " took nothing back over %d samples (no preemption); address changes (ip monitor): %s", samples,
                watch.changes().stream().map(c -> c.host() + (c.added() ? " +" : " -") + c.address()).toList());
        assertThat(wrong).isEmpty();
        // lb1 only ever removes (its sweep of the address the kill left behind); lb2's own changes
        // are reported, not asserted: a JVM starting beside it on a loaded box can stall its HA
        // control thread past the watchdog limit (a remove + RECOVERED flap, docs/ha.md §10)
        assertThat(watch.changes()).as("address changes on the restarted node: removals only")
                .filteredOn(c -> c.host().equals("lb1")).allSatisfy(c -> assertThat(c.added()).isFalse());
        assertThat(served("lb2")).containsExactlyInAnyOrder(VIP10, VIP11);
    }

    // ---- fixture ----

    private void startZooKeeper() throws Exception {
        zk = Child.start("zookeeper", net.in("zk"), ZooKeeperMain.class, Integer.toString(ZK_PORT),
                dir.resolve("zk").toString(), Long.toString(ProcessHandle.current().pid()))
                .awaitLine("zookeeper ready", Duration.ofSeconds(30));
    }

    /**
     * Starts lb1, then (once it is connected to ZooKeeper) lb2, and waits for the preferred split.
     * A JVM warming up on the loaded 2-vCPU box can miss heartbeats and a probe for longer than
     * the test's timeouts, and then the peer takes its address over (safely: fenced, never two
     * owners) and, without preemption, keeps it. That is the cold start, not the scenario under
     * test: such a start is retried (fresh processes, fresh cluster), at most twice, and reported.
     */
    private void startPair(String cluster) throws Exception {
        for (int attempt = 1; ; attempt++) {
            String c = attempt == 1 ? cluster : cluster + "r" + attempt;
            lb1 = startNode("lb1", c);
            await("lb1 connected to ZooKeeper").atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(100))
                    .failFast("lb1 exited", () -> !lb1.process().isAlive()).until(() -> zkConnected("lb1"));
            lb2 = startNode("lb2", c);
            try {
                await("each VIP on its preferred owner").atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(100))
                        .failFast("a node exited", () -> !lb1.process().isAlive() || !lb2.process().isAlive())
                        .until(() -> servedOrEmpty("lb1").equals(Set.of(VIP10))
                                && servedOrEmpty("lb2").equals(Set.of(VIP11)) && peerLinkUp("lb1") && peerLinkUp("lb2"));
                return;
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                String state = "lb1=" + servedOrEmpty("lb1") + " lb2=" + servedOrEmpty("lb2");
                if (attempt == 3) {
                    throw e;
                }
                sys("startup", "cold start of cluster %s did not settle on the preferred split (%s); retrying", c, state);
                lb1.close();
                lb2.close();
                for (String host : List.of("lb1", "lb2")) {
                    for (String vip : List.of(VIP10, VIP11)) {
                        net.exec(host, "ip", "addr", "del", vip + "/32", "dev", Topology.IFACE);
                    }
                }
            }
        }
    }

    private TandemProcess startNode(String id, String cluster) throws IOException {
        String other = id.equals("lb1") ? "lb2" : "lb1";
        Path config = dir.resolve(id + "-" + cluster + ".yaml");
        Files.writeString(config, """
                admin:
                  listen: 127.0.0.1:9090
                vips:
                  - name: web10
                    listen: %s:80
                    backends: [%s:8080]
                  - name: web11
                    listen: %s:80
                    backends: [%s:8080]
                ha:
                  node_id: %s
                  cluster: %s
                  listen: %s:%d
                  peers: [{id: %s, address: "%s:%d"}]
                  zookeeper: {connect: "%s:%d", session_timeout: 10s}
                  interface: %s
                  heartbeat: {interval: 25ms, timeout: 250ms}
                  probe_timeout: 250ms
                  isolation_grace: 250ms
                  claim_delay: 20s
                  addresses:
                    - {address: %s, preferred_owner: lb1}
                    - {address: %s, preferred_owner: lb2}
                """.formatted(VIP10, net.address("be"), VIP11, net.address("be"), id, cluster, net.address(id),
                PEER_PORT, other, net.address(other), PEER_PORT, net.address("zk"), ZK_PORT, Topology.IFACE,
                VIP10, VIP11));
        TandemProcess p = TandemProcess.startWith(net.in(id), "run", "--config", config.toString());
        nodes.add(p);
        return p;
    }

    private Child client(long durationMs) throws Exception {
        Child c = Child.start("client", net.in("client"), ClientLoopMain.class, Long.toString(durationMs), "20",
                Long.toString(ProcessHandle.current().pid()), VIP10 + ":80", VIP11 + ":80");
        clients.add(c);
        return c;
    }

    private Optional<JsonNode> ha(String host) {
        try {
            Topology.Result r = net.exec(host, "curl", "-s", "-m", "1", "http://127.0.0.1:9090/api/ha");
            return r.code() == 0 ? Optional.of(JSON.readTree(r.output())) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private Set<String> served(String host) {
        JsonNode v = ha(host).orElseThrow(() -> new AssertionError("no /api/ha answer from " + host));
        return servedIn(v);
    }

    private Set<String> servedOrEmpty(String host) {
        return ha(host).map(HaPairSystemIT::servedIn).orElse(Set.of());
    }

    private static Set<String> servedIn(JsonNode v) {
        Set<String> out = new TreeSet<>();
        for (JsonNode vip : v.path("vips")) {
            if (vip.path("servedHere").asBoolean()) {
                out.add(vip.path("address").asText());
            }
        }
        return out;
    }

    private boolean peerLinkUp(String host) {
        return ha(host).map(v -> {
            for (JsonNode p : v.path("peers")) {
                if (!p.path("linkUp").asBoolean()) {
                    return false;
                }
            }
            return v.path("peers").size() > 0;
        }).orElse(false);
    }

    private boolean zkConnected(String host) {
        return ha(host).map(v -> v.path("zk").asText().equals("CONNECTED")).orElse(false);
    }

    /** Ownership events (the node's recent events) since {@code since} that released an address. */
    private List<String> releases(String host, long since) {
        return ha(host).map(v -> {
            List<String> out = new ArrayList<>();
            for (JsonNode e : v.path("recentEvents")) {
                if (!e.path("acquired").asBoolean() && e.path("atEpochMillis").asLong() >= since) {
                    out.add(host + ":" + e.path("address").asText() + ":" + e.path("cause").asText() + ":"
                            + e.path("detail").asText());
                }
            }
            return out;
        }).orElse(List.of(host + ": no /api/ha answer"));
    }

    private void awaitClientOk(Child client, int each) {
        await("client reaches both VIPs").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                .until(() -> attempts(client, VIP10).stream().filter(a -> a.ok).count() >= each
                        && attempts(client, VIP11).stream().filter(a -> a.ok).count() >= each);
    }

    private void awaitOkAfter(Child client, String vip, long since, int count) {
        await("client served through " + vip).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> attempts(client, vip).stream().filter(a -> a.ok && a.start >= since).count() >= count);
    }

    private static void sys(String scenario, String format, Object... args) {
        System.out.println("HA-SYS " + scenario + ": " + format.formatted(args));
    }

    /** One client attempt as ClientLoopMain printed it. */
    record Attempt(String vip, long start, long end, boolean ok, String detail) {
    }

    private static List<Attempt> attempts(Child client, String vip) {
        List<Attempt> out = new ArrayList<>();
        for (String line : client.lines()) {
            String[] f = line.split(" ", 6);
            if (f.length >= 5 && f[0].equals("R") && f[1].equals(vip)) {
                out.add(new Attempt(f[1], Long.parseLong(f[2]), Long.parseLong(f[3]), f[4].equals("ok"),
                        f.length > 5 ? f[5] : ""));
            }
        }
        out.sort(Comparator.comparingLong(Attempt::start));
        return out;
    }

    record Stats(long ok, long failed) {
        static Stats of(List<Attempt> as) {
            long ok = as.stream().filter(Attempt::ok).count();
            return new Stats(ok, as.size() - ok);
        }
    }

    /**
     * The client-visible outage of one VIP around a fault at {@code t0} (when the signal had
     * been delivered): {@code gap} = the longest time between two consecutive successful
     * answers from 2 s before the fault on (the last success before → the first after);
     * {@code unserved} = fault → first success of an attempt started after it.
     */
    record Gap(long gap, long unserved, long failedAfterFault, long failedAfterRecovery) {
        static Gap of(List<Attempt> as, long t0) {
            List<Long> okEnds = as.stream().filter(a -> a.ok && a.end >= t0 - 2_000).map(Attempt::end).sorted()
                    .toList();
            long gap = 0;
            for (int i = 1; i < okEnds.size(); i++) {
                gap = Math.max(gap, okEnds.get(i) - okEnds.get(i - 1));
            }
            long firstOk = as.stream().filter(a -> a.ok && a.start >= t0).mapToLong(Attempt::end).min()
                    .orElse(Long.MAX_VALUE);
            long failed = as.stream().filter(a -> !a.ok && a.end >= t0).count();
            long failedAfter = as.stream().filter(a -> !a.ok && a.start > firstOk).count();
            return new Gap(okEnds.isEmpty() ? Long.MAX_VALUE : gap, firstOk - t0, failed, failedAfter);
        }
    }
}
