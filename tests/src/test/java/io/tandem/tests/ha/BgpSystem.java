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
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The fixture of the routed-VIP system tests ({@link BgpRoutedVipSystemIT}): two Tandem nodes on
 * different L3 segments, each on its own /30 to a router namespace that runs BIRD 2 with ECMP
 * ({@code merge paths on}, layer-4 multipath hashing) and BFD (50 ms × 3), and a client behind the
 * router. The nodes, ZooKeeper and the backend also share the {@link Topology} bridge (the
 * management and backend segment, 198.18.0.0/16): the VIP 198.19.200.10 is reachable from the
 * client only through the router, i.e. only while some node announces it.
 *
 * <pre>
 *   bgpcl 198.19.3.2/30 ── 198.19.3.1 bgprt 198.19.1.1 ── 198.19.1.2 bgpn1 (eth1) ┐ bridge 198.18/16:
 *                                         198.19.2.1 ── 198.19.2.2 bgpn2 (eth1) ┘ bgpzk .30, bgpbe .20
 * </pre>
 *
 * Namespaces are Topology's ({@code tnd-<pid>-bgp*}): removed by {@link #close()}, and after a
 * crashed run by the next run's {@link Topology#sweep()}. Every BIRD (the router's here, the
 * nodes' under Tandem) runs under {@code setpriv --pdeathsig KILL}: it dies with its parent.
 */
final class BgpSystem implements AutoCloseable {
    static final String VIP = "198.19.200.10";
    /** The IPv6 VIP of the dual-stack scenario (documentation prefix 2001:db8::/32). */
    static final String VIP6 = "2001:db8:200::10";
    /** The UDP port of the {@code dns} VIPs and of the UDP echo backend. */
    static final int UDP_PORT = 5353;
    static final int ZK_PORT = 2181;
    static final int PEER_PORT = 7946;
    static final String ROUTER = "bgprt";
    static final String CLIENT = "bgpcl";
    static final List<String> NODES = List.of("bgpn1", "bgpn2");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, String> MGMT = Map.of("bgpn1", "198.18.0.11", "bgpn2", "198.18.0.12");
    private static final Map<String, Integer> LINK = Map.of("bgpn1", 1, "bgpn2", 2);

    private final Topology net;
    private final Path dir;
    private Child zk;
    private Child backend;
    private Child udpBackend;
    private Process routerBird;
    private final List<TandemProcess> nodes = new ArrayList<>();
    private final List<Child> clients = new ArrayList<>();
    private final Map<String, TandemProcess> running = new java.util.HashMap<>();

    private BgpSystem(Topology net, Path dir) {
        this.net = net;
        this.dir = dir;
    }

    /** Null when the test can run here, else why not. */
    static String unavailableReason() {
        String r = Topology.unavailableReason();
        if (r != null) {
            return r;
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/bird")) || !Files.isExecutable(Path.of("/usr/sbin/birdc"))) {
            return "BIRD 2 is not installed (apt-get install bird2)";
        }
        return null;
    }

    static BgpSystem create() throws Exception {
        Orphans.sweep();
        Topology.sweep();
        Path dir = Files.createTempDirectory("tandem-bgp");
        Topology net = Topology.create();
        BgpSystem s = new BgpSystem(net, dir);
        try {
            net.host("bgpn1", MGMT.get("bgpn1")).host("bgpn2", MGMT.get("bgpn2"))
                    .host("bgpbe", "198.18.0.20").host("bgpzk", "198.18.0.30");
            s.routed();
            s.zk = Child.start("zookeeper", net.in("bgpzk"), ZooKeeperMain.class, Integer.toString(ZK_PORT),
                    dir.resolve("zk").toString(), Long.toString(ProcessHandle.current().pid()))
                    .awaitLine("zookeeper ready", Duration.ofSeconds(30));
            s.backend = Child.start("backend", net.in("bgpbe"), BackendMain.class, "--address", "198.18.0.20",
                    "--port", "8080", "--name", "be1", "--owner", Long.toString(ProcessHandle.current().pid()))
                    .awaitLine(BackendMain.READY, Duration.ofSeconds(20));
            s.udpBackend = Child.start("udp-backend", net.in("bgpbe"), UdpEchoMain.class, "198.18.0.20",
                    Integer.toString(UDP_PORT), "be1", Long.toString(ProcessHandle.current().pid()))
                    .awaitLine(UdpEchoMain.READY, Duration.ofSeconds(20));
            s.startRouter();
        } catch (Exception | AssertionError e) {
            s.close();
            throw e;
        }
        return s;
    }

    /** The router and client namespaces and the point-to-point links (no default route anywhere). */
    private void routed() throws IOException {
        String rt = net.ns(ROUTER);
        String cl = net.ns(CLIENT);
        sh("ip netns add " + rt, "ip netns add " + cl, "ip -n " + rt + " link set lo up",
                "ip -n " + cl + " link set lo up",
                "ip -n " + rt + " link add rc type veth peer name eth0 netns " + cl,
                "ip -n " + rt + " addr add 198.19.3.1/30 dev rc", "ip -n " + cl + " addr add 198.19.3.2/30 dev eth0",
                "ip -n " + rt + " link set rc up", "ip -n " + cl + " link set eth0 up",
                "ip -n " + cl + " route add 198.19.200.0/24 via 198.19.3.1",
                "ip netns exec " + rt + " sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1",
                // IPv6 beside (2001:db8::/32): used by the dual-stack scenario only; nodad, no DAD wait
                "ip netns exec " + rt + " sysctl -qw net.ipv6.conf.all.forwarding=1"
                        + " net.ipv6.fib_multipath_hash_policy=1",
                "ip -n " + rt + " addr add 2001:db8:3::1/64 dev rc nodad",
                "ip -n " + cl + " addr add 2001:db8:3::2/64 dev eth0 nodad",
                "ip -n " + cl + " route add 2001:db8:200::/64 via 2001:db8:3::1");
        for (String n : NODES) {
            int i = LINK.get(n);
            String ns = net.ns(n);
            sh("ip -n " + rt + " link add r" + i + " type veth peer name eth1 netns " + ns,
                    "ip -n " + rt + " addr add 198.19." + i + ".1/30 dev r" + i,
                    "ip -n " + ns + " addr add 198.19." + i + ".2/30 dev eth1",
                    "ip -n " + rt + " link set r" + i + " up", "ip -n " + ns + " link set eth1 up",
                    "ip -n " + ns + " route add 198.19.3.0/24 via 198.19." + i + ".1",
                    "ip -n " + rt + " addr add 2001:db8:" + i + "::1/64 dev r" + i + " nodad",
                    "ip -n " + ns + " addr add 2001:db8:" + i + "::2/64 dev eth1 nodad",
                    "ip -n " + ns + " route add 2001:db8:3::/64 via 2001:db8:" + i + "::1");
        }
    }

    private void startRouter() throws IOException {
        Path conf = dir.resolve("router.conf");
        Files.writeString(conf, """
                router id 198.19.3.1;
                log stderr all;
                protocol device { scan time 10; }
                protocol kernel { ipv4 { import none; export all; }; merge paths on; }
                protocol kernel { ipv6 { import none; export all; }; merge paths on; }
                protocol bfd { interface "*" { min rx interval 50 ms; min tx interval 50 ms; multiplier 3; }; }
                template bgp node { local as 65000; bfd on; hold time 3; connect retry time 1;
                  error wait time 1, 5; ipv4 { import all; export none; }; }
                protocol bgp bgpn1 from node { neighbor 198.19.1.2 as 65001; }
                protocol bgp bgpn2 from node { neighbor 198.19.2.2 as 65001; }
                template bgp node6 { local as 65000; bfd on; hold time 3; connect retry time 1;
                  error wait time 1, 5; ipv6 { import all; export none; }; }
                protocol bgp bgpn1v6 from node6 { neighbor 2001:db8:1::2 as 65001; }
                protocol bgp bgpn2v6 from node6 { neighbor 2001:db8:2::2 as 65001; }
                """);
        List<String> cmd = new ArrayList<>(net.in(ROUTER));
        cmd.addAll(List.of("setpriv", "--pdeathsig", "KILL", "--", "/usr/sbin/bird", "-f", "-c", conf.toString(), "-s",
                routerSocket()));
        routerBird = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("router-bird.log").toFile()).start();
        await("router bird answers").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> birdc("show status").contains("Daemon is up"));
    }

    private String routerSocket() {
        return dir.resolve("router.ctl").toString();
    }

    /** Runs {@code birdc} against the router's BIRD. */
    String birdc(String command) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("/usr/sbin/birdc", "-s", routerSocket()));
        cmd.addAll(List.of(command.split(" ")));
        return Topology.run(cmd).output();
    }

    /** The next hops (router side addresses of the nodes) of the router's kernel route to the VIP. */
    List<String> routeNextHops() throws IOException {
        String out = net.exec(ROUTER, "ip", "route", "show", VIP + "/32").output();
        List<String> hops = new ArrayList<>();
        Matcher m = Pattern.compile("via (\\S+)").matcher(out);
        while (m.find()) {
            hops.add(m.group(1));
        }
        return hops;
    }

    /** The nodes the router's kernel route to the IPv6 VIP leads to (by the router's interface to each). */
    List<String> routeNodes6() throws IOException {
        String out = net.exec(ROUTER, "ip", "-6", "route", "show", VIP6 + "/128").output();
        List<String> via = new ArrayList<>();
        for (String n : NODES) {
            if (Pattern.compile("dev r" + LINK.get(n) + "\\b").matcher(out).find()) {
                via.add(n);
            }
        }
        return via;
    }

    /** The router-facing address of {@code node}: the next hop it announces. */
    static String hop(String node) {
        return "198.19." + LINK.get(node) + ".2";
    }

    Topology net() {
        return net;
    }

    Path dir() {
        return dir;
    }

    /** Starts (or restarts) node {@code id}; {@code anycast} makes the VIP an anycast address. */
    TandemProcess startNode(String id, String cluster, boolean anycast) throws IOException {
        return startNode(id, cluster, anycast, "0");
    }

    /** {@link #startNode(String, String, boolean)} with {@code ha.address_lifetime} ({@code "0"} = off). */
    TandemProcess startNode(String id, String cluster, boolean anycast, String addressLifetime) throws IOException {
        return startNode(id, cluster, anycast, addressLifetime, "", "", false);
    }

    /**
     * A dual-stack node: besides {@code web} (TCP, {@link #VIP}) the VIPs {@code dns} (UDP on
     * {@link #VIP}), {@code web6} (TCP) and {@code dns6} (UDP) on {@link #VIP6}, the IPv6 address in
     * {@code ha.addresses} and an IPv6 BGP session to the router beside the IPv4 one.
     */
    TandemProcess startDualStackNode(String id, String cluster, boolean anycast) throws IOException {
        return startNode(id, cluster, anycast, "0", "", "", true);
    }

    /**
     * {@link #startNode(String, String, boolean, String)} with more keys for the VIP {@code web}
     * ({@code vipExtra}, e.g. a health check) and for {@code ha.announce} ({@code announceExtra}),
     * each a flow mapping's entries such as {@code "health_check: {type: tcp}"}, or empty.
     */
    TandemProcess startNode(String id, String cluster, boolean anycast, String addressLifetime, String vipExtra,
                            String announceExtra) throws IOException {
        return startNode(id, cluster, anycast, addressLifetime, vipExtra, announceExtra, false);
    }

    private TandemProcess startNode(String id, String cluster, boolean anycast, String addressLifetime,
                                    String vipExtra, String announceExtra, boolean dual) throws IOException {
        String other = id.equals("bgpn1") ? "bgpn2" : "bgpn1";
        int i = LINK.get(id);
        Path config = dir.resolve(id + "-" + cluster + ".yaml");
        Files.writeString(config, """
                admin:
                  listen: 127.0.0.1:9090
                vips:
                  - name: web
                    listen: %s:80
                    backends: [198.18.0.20:8080]
                    policy: maglev
                %s
                %s
                ha:
                  node_id: %s
                  cluster: %s
                  listen: %s:%d
                  peers: [{id: %s, address: "%s:%d"}]
                  zookeeper: {connect: "198.18.0.30:%d", session_timeout: 10s}
                  interface: lo
                  heartbeat: {interval: 25ms, timeout: 250ms}
                  probe_timeout: 250ms
                  isolation_grace: 250ms
                  claim_delay: 20s
                  address_lifetime: %s
                  preempt: {enabled: false}
                  addresses:
                    - {address: %s, preferred_owner: bgpn1}
                %s
                  announce:
                    mode: bgp
                    anycast: %s
                    local_as: 65001
                    neighbors: [{address: 198.19.%d.1, as: 65000}%s]
                    bfd: {interval: 50ms, multiplier: 3}
                    run_dir: %s
                %s
                """.formatted(VIP, vipExtra.isEmpty() ? "" : "    " + vipExtra, dual ? dualVips() : "", id, cluster,
                MGMT.get(id), PEER_PORT, other, MGMT.get(other), PEER_PORT, ZK_PORT, addressLifetime, VIP,
                dual ? "    - {address: \"" + VIP6 + "\", preferred_owner: bgpn1}" : "", anycast, i,
                dual ? ", {address: \"2001:db8:" + i + "::1\", as: 65000}" : "", dir.resolve("bird-" + id),
                announceExtra.isEmpty() ? "" : "    " + announceExtra));
        TandemProcess p = TandemProcess.startWith(net.in(id), "run", "--config", config.toString());
        nodes.add(p);
        running.put(id, p);
        return p;
    }

    private static String dualVips() {
        return String.join("\n",
                "  - {name: dns, listen: \"" + VIP + ":" + UDP_PORT + "\", protocol: udp, policy: maglev,",
                "     backends: [\"198.18.0.20:" + UDP_PORT + "\"]}",
                "  - {name: web6, listen: \"[" + VIP6 + "]:80\", policy: maglev, backends: [198.18.0.20:8080]}",
                "  - {name: dns6, listen: \"[" + VIP6 + "]:" + UDP_PORT + "\", protocol: udp, policy: maglev,",
                "     backends: [\"198.18.0.20:" + UDP_PORT + "\"]}");
    }

    TandemProcess node(String id) {
        return running.get(id);
    }

    Optional<JsonNode> ha(String host) {
        try {
            Topology.Result r = net.exec(host, "curl", "-s", "-m", "1", "http://127.0.0.1:9090/api/ha");
            return r.code() == 0 ? Optional.of(JSON.readTree(r.output())) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** A counter or gauge of {@code host}'s {@code /metrics} (the first series whose line starts with {@code series}). */
    double metric(String host, String series) throws IOException {
        String out = net.exec(host, "curl", "-s", "-m", "1", "http://127.0.0.1:9090/metrics").output();
        for (String line : out.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).strip());
            }
        }
        return -1;
    }

    /** Whether {@code host} has the VIP on its loopback. */
    boolean hasVip(String host) throws IOException {
        return net.exec(host, "ip", "-o", "-4", "addr", "show", "dev", "lo").output().contains(" " + VIP + "/32");
    }

    /** A client loop behind the router: one datagram from a new source port to each target every {@code intervalMs}. */
    Child udpClient(long durationMs, long intervalMs, String... targets) throws Exception {
        List<String> args = new ArrayList<>(List.of(Long.toString(durationMs), Long.toString(intervalMs),
                Long.toString(ProcessHandle.current().pid())));
        args.addAll(List.of(targets));
        Child c = Child.start("udp-client", net.in(CLIENT), UdpClientLoopMain.class, args.toArray(String[]::new));
        clients.add(c);
        return c;
    }

    /** A client loop behind the router: a new TCP connection (and GET) to each target every {@code intervalMs}. */
    Child clientTo(long durationMs, long intervalMs, String... targets) throws Exception {
        List<String> args = new ArrayList<>(List.of(Long.toString(durationMs), Long.toString(intervalMs),
                Long.toString(ProcessHandle.current().pid())));
        args.addAll(List.of(targets));
        Child c = Child.start("client", net.in(CLIENT), ClientLoopMain.class, args.toArray(String[]::new));
        clients.add(c);
        return c;
    }

    /** A client loop behind the router: a new connection to the VIP every {@code intervalMs}. */
    Child client(long durationMs, long intervalMs) throws Exception {
        Child c = Child.start("client", net.in(CLIENT), ClientLoopMain.class, Long.toString(durationMs),
                Long.toString(intervalMs), Long.toString(ProcessHandle.current().pid()), VIP + ":80");
        clients.add(c);
        return c;
    }

    /** Saves the outputs, stops nodes and clients, removes VIPs: the network as a scenario found it. */
    void afterEach(String testName) throws Exception {
        Path logs = FixtureProcesses.saveLogs("bgpsys", testName, nodes, clients);
        if (Files.exists(dir.resolve("router-bird.log"))) {
            Files.copy(dir.resolve("router-bird.log"), logs.resolve(testName + "-router-bird.log"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        stopAll();
    }

    private void stopAll() throws Exception {
        FixtureProcesses.stop(nodes, clients);
        running.clear();
        for (String n : NODES) {
            net.link(n, true);
            net.exec(n, "iptables", "-F");
            net.exec(n, "ip", "addr", "del", VIP + "/32", "dev", "lo");
            net.exec(n, "ip", "addr", "del", VIP6 + "/128", "dev", "lo");
        }
        if (zk != null && !zk.isAlive()) {
            zk = Child.start("zookeeper", net.in("bgpzk"), ZooKeeperMain.class, Integer.toString(ZK_PORT),
                    dir.resolve("zk").toString(), Long.toString(ProcessHandle.current().pid()))
                    .awaitLine("zookeeper ready", Duration.ofSeconds(30));
        }
    }

    void killZooKeeper() throws InterruptedException {
        zk.kill();
    }

    @Override
    public void close() throws Exception {
        try {
            stopAll();
        } finally {
            if (routerBird != null) {
                routerBird.destroyForcibly();
                routerBird.waitFor();
            }
            if (backend != null) {
                backend.close();
            }
            if (udpBackend != null) {
                udpBackend.close();
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

    private static void sh(String... commands) throws IOException {
        for (String c : commands) {
            Topology.Result r = Topology.run(List.of(c.split(" ")));
            if (r.code() != 0) {
                throw new IOException(c + ": exit " + r.code() + ": " + r.output().strip());
            }
        }
    }

    static void sys(String scenario, String format, Object... args) {
        System.out.println("BGP-SYS " + scenario + ": " + format.formatted(args));
    }
}
