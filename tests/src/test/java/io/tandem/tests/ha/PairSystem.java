package io.tandem.tests.ha;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.tests.TandemProcess;
import io.tandem.tests.netns.Topology;
import io.tandem.tests.support.BackendMain;
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

/**
 * The fixture of the HA system tests ({@link HaPairSystemIT}, {@link HaFailureSystemIT}): a
 * {@link Topology} with {@code client}, {@code lb1}, {@code lb2}, {@code be} and {@code zk}, a
 * standalone ZooKeeper process, an HTTP backend, the two {@code tandem run} nodes and client
 * loops, plus the readers of a node's {@code /api/ha} and of the client's attempts. One per test
 * class; {@link #afterEach} saves every process's output and puts the network back the way a
 * scenario found it (processes stopped, VIPs removed, iptables flushed, links up), so one
 * failed scenario cannot leak into the next. Namespaces are removed by {@link #close()}, and
 * those of a test JVM killed before its cleanup by the next run's {@link Topology#sweep()}.
 */
final class PairSystem implements AutoCloseable {
    static final String VIP10 = "198.18.1.10";
    static final String VIP11 = "198.18.1.11";
    /** The IPv6 VIP of {@link #enableIpv6()}: on-link in the hosts' 2001:db8::/64, prefers lb1. */
    static final String VIP6 = "2001:db8::1:10";
    private static final java.util.Map<String, String> IPV6 = java.util.Map.of(
            "client", "2001:db8::2", "lb1", "2001:db8::11", "lb2", "2001:db8::12");
    static final int ZK_PORT = 2181;
    static final int PEER_PORT = 7946;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Topology net;
    private final Path dir;
    private Child zk;
    private Child backend;
    private final List<TandemProcess> nodes = new ArrayList<>();
    private final List<Child> clients = new ArrayList<>();
    private TandemProcess lb1;
    private TandemProcess lb2;
    private boolean ipv6;
    /** The {@code ha.preempt} of the nodes started from now on (off: the scenarios assert where addresses stay). */
    private String preempt = "{enabled: false}";
    /** The ZooKeeper cluster name {@link #startPair} settled on (a retried cold start uses a new one). */
    private String cluster;

    private PairSystem(Topology net, Path dir) {
        this.net = net;
        this.dir = dir;
    }

    /** Null when the system tests can run here, else why not (for the class's assumption). */
    static String unavailableReason() {
        return Topology.unavailableReason();
    }

    /** Builds the namespaces and starts ZooKeeper and the backend (not the nodes). */
    static PairSystem create() throws Exception {
        return create("");
    }

    /** As {@link #create()}, the namespaces tagged {@code tag} ({@link Topology#create(String)}). */
    static PairSystem create(String tag) throws Exception {
        Orphans.sweep();
        Topology.sweep();
        Path dir = Files.createTempDirectory("tandem-hasys");
        Topology net = Topology.create(tag);
        PairSystem s = new PairSystem(net, dir);
        try {
            net.host("client", "198.18.0.2")
                    .host("lb1", "198.18.0.11")
                    .host("lb2", "198.18.0.12")
                    .host("be", "198.18.0.20")
                    .host("zk", "198.18.0.30");
            s.startZooKeeper();
            s.backend = Child.start("backend", net.in("be"), BackendMain.class, "--address", net.address("be"),
                    "--port", "8080", "--name", "be1", "--owner", Long.toString(ProcessHandle.current().pid()))
                    .awaitLine(BackendMain.READY, Duration.ofSeconds(20));
        } catch (Exception | AssertionError e) {
            s.close();
            throw e;
        }
        return s;
    }

    Topology net() {
        return net;
    }

    /**
     * Gives client, lb1 and lb2 an IPv6 address in 2001:db8::/64 ({@code nodad}: usable at once)
     * and makes every node started from now on serve a third VIP, {@link #VIP6} (preferred owner
     * lb1), whose takeover is announced by an unsolicited neighbour advertisement.
     */
    void enableIpv6() throws IOException {
        for (var e : IPV6.entrySet()) {
            Topology.Result r = net.exec(e.getKey(), "ip", "-6", "addr", "add", e.getValue() + "/64", "dev",
                    Topology.IFACE, "nodad");
            if (r.code() != 0 && !r.output().contains("exists")) {
                throw new IOException("ipv6 address on " + e.getKey() + ": " + r.output());
            }
        }
        ipv6 = true;
    }

    /** Whether {@code host} has {@link #VIP6}/128 on its interface. */
    boolean hasVip6(String host) throws IOException {
        return net.exec(host, "ip", "-6", "-o", "addr", "show", "dev", Topology.IFACE).output()
                .contains(" " + VIP6 + "/128");
    }

    /** The link-layer address {@code host}'s neighbour table holds for {@code address} ("" if none). */
    String neighbour(String host, String address) throws IOException {
        String out = net.exec(host, "ip", "-6", "neigh", "show", address, "dev", Topology.IFACE).output();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("lladdr (\\S+)").matcher(out);
        return m.find() ? m.group(1) : "";
    }

    /** The MAC address of {@code host}'s interface. */
    String mac(String host) throws IOException {
        String out = net.exec(host, "cat", "/sys/class/net/" + Topology.IFACE + "/address").output().strip();
        if (!out.matches("[0-9a-f:]{17}")) {
            throw new IOException("no MAC address for " + host + ": " + out);
        }
        return out;
    }

    TandemProcess lb1() {
        return lb1;
    }

    TandemProcess lb2() {
        return lb2;
    }

    /** Saves every process's output to {@code target/hasys/<test>-*.log}, then stops nodes and clients. */
    void afterEach(String testName) throws Exception {
        Path logs = FixtureProcesses.saveLogs("hasys", testName, nodes, clients);
        if (zk != null) {
            Files.writeString(logs.resolve(testName + "-zookeeper.log"), String.join("\n", zk.lines()));
        }
        stopAll();
    }

    private void stopAll() throws Exception {
        FixtureProcesses.stop(nodes, clients);
        for (String host : List.of("lb1", "lb2")) {
            net.link(host, true);
            for (String vip : List.of(VIP10, VIP11)) {
                net.exec(host, "ip", "addr", "del", vip + "/32", "dev", Topology.IFACE);
            }
            if (ipv6) {
                net.exec(host, "ip", "-6", "addr", "del", VIP6 + "/128", "dev", Topology.IFACE);
            }
            net.exec(host, "iptables", "-F");
        }
    }

    @Override
    public void close() throws Exception {
        try {
            stopAll();
        } finally {
            if (backend != null) {
                backend.close();
            }
            if (zk != null) {
                zk.close();
            }
            net.close();
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Starts ZooKeeper on its data directory (again, after {@link #killZooKeeper()}: same data). */
    void startZooKeeper() throws Exception {
        zk = Child.start("zookeeper", net.in("zk"), ZooKeeperMain.class, Integer.toString(ZK_PORT),
                dir.resolve("zk").toString(), Long.toString(ProcessHandle.current().pid()))
                .awaitLine("zookeeper ready", Duration.ofSeconds(30));
    }

    void killZooKeeper() throws InterruptedException {
        zk.kill();
    }

    /**
     * Starts lb1, then (once it is connected to ZooKeeper) lb2, and waits for the preferred split.
     * A JVM warming up on the loaded 2-vCPU box can miss heartbeats and a probe for longer than
     * the test's timeouts, and then the peer takes its address over (safely: fenced, never two
     * owners) and, without preemption, keeps it. That is the cold start, not the scenario under
     * test: such a start is retried (fresh processes, fresh cluster), at most twice, and reported.
     * A ZooKeeper that a failed earlier scenario left stopped is started first.
     */
    void startPair(String cluster) throws Exception {
        if (!zk.isAlive()) {
            sys("startup", "ZooKeeper was left stopped by an earlier scenario; starting it");
            startZooKeeper();
        }
        for (int attempt = 1; ; attempt++) {
            String c = attempt == 1 ? cluster : cluster + "r" + attempt;
            this.cluster = c;
            lb1 = startNode("lb1", c);
            await("lb1 connected to ZooKeeper").atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(100))
                    .failFast("lb1 exited", () -> !lb1.process().isAlive()).until(() -> zkConnected("lb1"));
            lb2 = startNode("lb2", c);
            try {
                await("each VIP on its preferred owner").atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(100))
                        .failFast("a node exited", () -> !lb1.process().isAlive() || !lb2.process().isAlive())
                        .until(() -> servedOrEmpty("lb1").equals(ipv6 ? Set.of(VIP10, VIP6) : Set.of(VIP10))
                                && servedOrEmpty("lb2").equals(Set.of(VIP11)) && peerLinkUp("lb1")
                                && peerLinkUp("lb2"));
                return;
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                String state = "lb1=" + servedOrEmpty("lb1") + " lb2=" + servedOrEmpty("lb2");
                if (attempt == 3) {
                    throw e;
                }
                sys("startup", "cold start of cluster %s did not settle on the preferred split (%s); retrying", c,
                        state);
                lb1.close();
                lb2.close();
                for (String host : List.of("lb1", "lb2")) {
                    for (String vip : List.of(VIP10, VIP11)) {
                        net.exec(host, "ip", "addr", "del", vip + "/32", "dev", Topology.IFACE);
                    }
                    if (ipv6) {
                        net.exec(host, "ip", "-6", "addr", "del", VIP6 + "/128", "dev", Topology.IFACE);
                    }
                }
            }
        }
    }

    /** The cluster name the last {@link #startPair} settled on: for restarting a node into it. */
    String cluster() {
        return cluster;
    }

    /** Sets the {@code ha.preempt} value (YAML flow map) of every node started from now on. */
    void preempt(String yaml) {
        preempt = yaml;
    }

    /** Starts a (new) node process {@code id} in {@code cluster}; it becomes {@link #lb1()}/{@link #lb2()}. */
    TandemProcess startNode(String id, String cluster) throws IOException {
        String other = id.equals("lb1") ? "lb2" : "lb1";
        Path config = dir.resolve(id + "-" + cluster + ".yaml");
        // explicit timing: the tests must not depend on the ha module's defaults; preemption off
        // (on by default): the scenarios assert where each address stays after a fault
        String vip6 = ipv6 ? "  - name: web6\n    listen: \"[" + VIP6 + "]:80\"\n    backends: ["
                + net.address("be") + ":8080]\n" : "";
        String ha6 = ipv6 ? "    - {address: \"" + VIP6 + "\", preferred_owner: lb1}\n" : "";
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
                %sha:
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
                  preempt: %s
                  addresses:
                    - {address: %s, preferred_owner: lb1}
                    - {address: %s, preferred_owner: lb2}
                %s""".formatted(VIP10, net.address("be"), VIP11, net.address("be"), vip6, id, cluster,
                net.address(id), PEER_PORT, other, net.address(other), PEER_PORT, net.address("zk"), ZK_PORT,
                Topology.IFACE, preempt, VIP10, VIP11, ha6));
        TandemProcess p = TandemProcess.startWith(net.in(id), "run", "--config", config.toString());
        nodes.add(p);
        if (id.equals("lb1")) {
            lb1 = p;
        } else {
            lb2 = p;
        }
        return p;
    }

    /** A client loop in {@code client}: a new connection to each VIP every 20 ms for {@code durationMs}. */
    Child client(long durationMs) throws Exception {
        return clientOf(durationMs, VIP10 + ":80", VIP11 + ":80");
    }

    /** A client loop in {@code client} to each of {@code targets} ({@code host:port}, IPv6 in brackets). */
    Child clientOf(long durationMs, String... targets) throws Exception {
        java.util.List<String> args = new ArrayList<>(List.of(Long.toString(durationMs), "20",
                Long.toString(ProcessHandle.current().pid())));
        args.addAll(List.of(targets));
        Child c = Child.start("client", net.in("client"), ClientLoopMain.class, args.toArray(String[]::new));
        clients.add(c);
        return c;
    }

    /**
     * Adds iptables DROP rules inside {@code host}'s namespace for each TCP port, both directions
     * and both roles (as a destination and as a source port): silent, no RST. All rules go in
     * with one {@code sh -c}, so the cut starts within a few ms for every port.
     */
    void dropTcpPorts(String host, int... ports) throws IOException {
        List<String> rules = new ArrayList<>();
        for (int port : ports) {
            for (String chain : List.of("INPUT", "OUTPUT")) {
                for (String dir : List.of("--dport", "--sport")) {
                    rules.add("iptables -I " + chain + " -p tcp " + dir + " " + port + " -j DROP");
                }
            }
        }
        Topology.Result r = net.exec(host, "sh", "-c", String.join(" && ", rules));
        if (r.code() != 0) {
            throw new IOException("iptables in " + host + ": exit " + r.code() + ": " + r.output());
        }
    }

    Optional<JsonNode> ha(String host) {
        try {
            Topology.Result r = net.exec(host, "curl", "-s", "-m", "1", "http://127.0.0.1:9090/api/ha");
            return r.code() == 0 ? Optional.of(JSON.readTree(r.output())) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    Set<String> served(String host) {
        JsonNode v = ha(host).orElseThrow(() -> new AssertionError("no /api/ha answer from " + host));
        return servedIn(v);
    }

    Set<String> servedOrEmpty(String host) {
        return ha(host).map(PairSystem::servedIn).orElse(Set.of());
    }

    private static Set<String> servedIn(JsonNode v) {
        Set<String> out = new TreeSet<>();
        for (JsonNode vip : v.path("vipAddresses")) {
            if (vip.path("servedHere").asBoolean()) {
                out.add(vip.path("address").asText());
            }
        }
        return out;
    }

    boolean peerLinkUp(String host) {
        return ha(host).map(v -> {
            for (JsonNode p : v.path("peers")) {
                if (!p.path("linkUp").asBoolean()) {
                    return false;
                }
            }
            return v.path("peers").size() > 0;
        }).orElse(false);
    }

    boolean zkConnected(String host) {
        return ha(host).map(v -> v.path("zk").asText().equals("CONNECTED")).orElse(false);
    }

    /** Ownership events since {@code since} that released an address, as {@code host:address:CAUSE:detail}. */
    List<String> releases(String host, long since) {
        return events(host, since, false);
    }

    /** Ownership events since {@code since} that acquired an address, as {@code host:address:CAUSE:detail}. */
    List<String> acquisitions(String host, long since) {
        return events(host, since, true);
    }

    private List<String> events(String host, long since, boolean acquired) {
        return ha(host).map(v -> {
            List<String> out = new ArrayList<>();
            for (JsonNode e : v.path("recentEvents")) {
                if (e.path("acquired").asBoolean() == acquired && e.path("atEpochMillis").asLong() >= since) {
                    out.add(host + ":" + e.path("address").asText() + ":" + e.path("cause").asText() + ":"
                            + e.path("detail").asText());
                }
            }
            return out;
        }).orElse(List.of(host + ": no /api/ha answer"));
    }

    void awaitClientOk(Child client, int each) {
        await("client reaches both VIPs").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                .until(() -> attempts(client, VIP10).stream().filter(a -> a.ok).count() >= each
                        && attempts(client, VIP11).stream().filter(a -> a.ok).count() >= each);
    }

    void awaitOkAfter(Child client, String vip, long since, int count) {
        await("client served through " + vip).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> attempts(client, vip).stream().filter(a -> a.ok && a.start >= since).count() >= count);
    }

    static void sys(String scenario, String format, Object... args) {
        System.out.println("HA-SYS " + scenario + ": " + format.formatted(args));
    }

    /** One client attempt as ClientLoopMain printed it. */
    record Attempt(String vip, long start, long end, boolean ok, String detail) {
    }

    static List<Attempt> attempts(Child client, String vip) {
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
