package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.AdminSettings;
import io.tandem.config.BackendConfig;
import io.tandem.config.CheckTiming;
import io.tandem.config.ConfigResult;
import io.tandem.config.DiscoverySettings;
import io.tandem.config.HealthCheckSpec;
import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.Locality;
import io.tandem.config.LocalitySettings;
import io.tandem.config.OutlierDetection;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.ResponseTimeoutMode;
import io.tandem.config.RuntimeSettings;
import io.tandem.config.TandemConfig;
import io.tandem.config.Timeouts;
import io.tandem.config.TransportKind;
import io.tandem.config.UdpOptions;
import io.tandem.config.VipConfig;
import io.tandem.config.VipLocality;
import io.tandem.core.node.Node;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Zone-aware routing and priority levels on real sockets (loopback only): backends on
 * {@code 127.0.23.x} labelled with zones in static config, a node in zone {@code zone-a}, a
 * bounded client loop that opens a new connection per request and asks the backend its name.
 *
 * <ul>
 *   <li>While zone a has capacity, at least 99 % of connections go there.</li>
 *   <li>Zone a blackholed (iptables DROP on its backends' addresses and ports; skipped unless root
 *       with iptables): no failed new connection (a timed-out connect is retried in zone b), and
 *       traffic is in zone b within the health detection time. Restored: traffic returns to a.</li>
 *   <li>Priority: primaries killed, the backup serves with no failed new connection; primaries back,
 *       the backup gets nothing new.</li>
 * </ul>
 * The measured local share and spill/return times are printed as a {@code ZONE-IT} line.
 */
class ZoneFailoverIT {
    private static final String RULE_TAG = "tandem-zone-failover-it";
    private static final Duration CONNECT_TIMEOUT = Duration.ofMillis(250);
    /** Active checks: fall 2 × (timeout 200 ms + fast interval 50 ms) + interval 100 ms. */
    private static final Duration DETECTION = Duration.ofMillis(600);
    private static final CheckTiming CHECKS = new CheckTiming(Duration.ofMillis(100), Duration.ofMillis(200), 2, 2, 0,
            Duration.ofMillis(50), Duration.ofMillis(100));

    /** Why requests failed (shown when a test fails). */
    private static final java.util.Queue<String> ERRORS = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final List<List<String>> rules = new ArrayList<>();

    @BeforeAll
    static void sweepLeftoverRules() {
        // A crashed earlier run may have left its DROP rules behind.
        if (!canBlackhole()) {
            return;
        }
        for (String line : run(List.of("iptables", "-w", "-S", "OUTPUT")).lines().toList()) {
            if (line.contains(RULE_TAG) && line.startsWith("-A ")) {
                List<String> cmd = new ArrayList<>(List.of("iptables", "-w", "-D"));
                cmd.addAll(List.of(line.substring(3).replace("\"", "").split(" ")));
                run(cmd);
            }
        }
    }

    @AfterEach
    void cleanup() throws Exception {
        try {
            for (List<String> rule : rules) {
                unblock(rule);
            }
        } finally {
            for (AutoCloseable c : closeables.reversed()) {
                c.close();
            }
        }
    }

    // ------------------------------------------------------------------ the zone test

    @Test
    void connectionsStayInTheNodesZoneSpillToTheOtherWhenItIsBlackholedAndComeBack() throws Exception {
        Named a1 = keep(new Named("a1", "127.0.23.11"));
        Named a2 = keep(new Named("a2", "127.0.23.12"));
        Named b1 = keep(new Named("b1", "127.0.23.21"));
        Named b2 = keep(new Named("b2", "127.0.23.22"));
        Node n = node(vip("zoned", List.of(
                backend(a1, "zone-a", 0), backend(a2, "zone-a", 0), backend(b1, "zone-b", 0),
                backend(b2, "zone-b", 0)), true));
        int port = n.listenAddress("zoned").orElseThrow().getPort();
        await().atMost(Duration.ofSeconds(10)).until(() -> eligible(n, "zoned") == 4
                && Double.valueOf(100.0).equals(view(n, "zoned").localSharePercent()));

        Tally normal = tally(port, 300);
        assertThat(normal.failures).isZero();
        double localShare = normal.zoneA / (double) normal.total;
        assertThat(localShare).as("zone a has capacity: %s", normal).isGreaterThanOrEqualTo(0.99);

        Assumptions.assumeTrue(canBlackhole(), "blackholing zone a needs root and iptables");
        long t0 = System.nanoTime();
        block(a1);
        block(a2);
        // A bounded loop: every connection must succeed; stop after 100 consecutive ones in zone b.
        Loop spill = loopUntil(port, r -> r.startsWith("b"), 100, Duration.ofSeconds(20));
        long spillMs = TimeUnit.NANOSECONDS.toMillis(spill.firstFastAt - t0);
        assertThat(spill.failures).as("failed new connections while zone a is blackholed: %s", spill).isZero();
        assertThat(spill.done).as("traffic moved to zone b: %s", spill).isTrue();
        assertThat(Duration.ofMillis(spillMs)).as("spill within the health detection time (generous)")
                .isLessThan(DETECTION.multipliedBy(5));
        await().atMost(Duration.ofSeconds(5)).until(() -> Double.valueOf(0.0).equals(view(n, "zoned")
                .localSharePercent()));

        long t1 = System.nanoTime();
        unblock(rules.removeFirst());
        unblock(rules.removeFirst());
        Loop back = loopUntil(port, r -> r.startsWith("a"), 100, Duration.ofSeconds(20));
        long returnMs = TimeUnit.NANOSECONDS.toMillis(back.firstOfRunAt - t1);
        long returnFirstMs = TimeUnit.NANOSECONDS.toMillis(back.firstFastAt - t1);
        assertThat(back.failures).isZero();
        assertThat(back.done).as("traffic returned to zone a: %s", back).isTrue();
        Tally after = tally(port, 300);
        assertThat(after.zoneA / (double) after.total).isGreaterThanOrEqualTo(0.99);

        System.out.printf("ZONE-IT local_share_before=%.4f (%d/%d) spill_ms=%d (first zone-b connection without"
                        + " a connect retry) spill_connections=%d spill_failures=%d return_first_ms=%d"
                        + " return_all_ms=%d local_share_after=%.4f (%d/%d)%n",
                localShare, normal.zoneA, normal.total, spillMs, spill.total, spill.failures, returnFirstMs,
                returnMs, after.zoneA / (double) after.total, after.zoneA, after.total);
    }

    // ------------------------------------------------------------------ the priority test

    @Test
    void backupsServeWhenThePrimariesDieAndGetNothingNewOnceTheyAreBack() throws Exception {
        Named p1 = keep(new Named("a1", "127.0.23.31"));
        Named p2 = keep(new Named("a2", "127.0.23.32"));
        Named backup = keep(new Named("b1", "127.0.23.41"));
        Node n = node(vip("prio", List.of(backend(p1, "zone-a", 0), backend(p2, "zone-a", 0),
                backend(backup, "zone-a", 1)), false));
        int port = n.listenAddress("prio").orElseThrow().getPort();
        await().atMost(Duration.ofSeconds(10)).until(() -> eligible(n, "prio") == 3);

        Tally normal = tally(port, 200);
        assertThat(normal.failures).isZero();
        assertThat(normal.zoneB).as("the backup takes nothing while the primaries are healthy").isZero();

        long t0 = System.nanoTime();
        p1.stop();
        p2.stop();
        Loop failover = loopUntil(port, r -> r.equals("b1"), 100, Duration.ofSeconds(20));
        assertThat(failover.failures).as("failed new connections with the primaries dead: %s", failover).isZero();
        assertThat(failover.done).isTrue();
        long failoverMs = TimeUnit.NANOSECONDS.toMillis(failover.firstFastAt - t0);

        p1.start();
        p2.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> eligible(n, "prio") == 3);
        Tally back = tally(port, 200);
        assertThat(back.failures).isZero();
        assertThat(back.zoneB).as("primaries back: the backup gets nothing new").isZero();
        System.out.printf("ZONE-IT priority failover_ms=%d failover_connections=%d failover_failures=%d "
                + "backup_after_recovery=%d/%d%n", failoverMs, failover.total, failover.failures, back.zoneB, back.total);
    }

    // ------------------------------------------------------------------ UDP

    @Test
    void udpSessionsPreferTheNodesZoneAndSpillWhenItsBackendsGo() throws Exception {
        UdpNamed a1 = keep(new UdpNamed("a1", "127.0.23.51"));
        UdpNamed a2 = keep(new UdpNamed("a2", "127.0.23.52"));
        UdpNamed b1 = keep(new UdpNamed("b1", "127.0.23.61"));
        UdpNamed b2 = keep(new UdpNamed("b2", "127.0.23.62"));
        int port = UdpThroughNodeIT.freeUdpPort();
        OutlierDetection od = new OutlierDetection(1, Duration.ofSeconds(5), Duration.ofSeconds(5), 100,
                Duration.ZERO, ResponseTimeoutMode.FIRST_RESPONSE);
        VipConfig udp = new VipConfig("udpz", HostPort.of("127.0.0.1", port), Protocol.UDP, PolicyKind.ROUND_ROBIN,
                List.of(udpBackend(a1, "zone-a"), udpBackend(a2, "zone-a"), udpBackend(b1, "zone-b"),
                        udpBackend(b2, "zone-b")),
                Limits.UNLIMITED, Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY, Optional.empty(),
                new HealthPolicy(false, od, 0, Duration.ZERO, false), Optional.empty(),
                new UdpOptions(9000, Duration.ofSeconds(2), 65_536, 1), new VipLocality(true, 2, 1.4));
        Node n = node(udp);
        await().atMost(Duration.ofSeconds(10)).until(() -> Double.valueOf(100.0).equals(view(n, "udpz")
                .localSharePercent()));
        int inA = 0;
        int total = 200;
        for (int i = 0; i < total; i++) {
            String r = askUdp(port);
            if (r != null && r.startsWith("a")) {
                inA++;
            }
        }
        assertThat(inA / (double) total).as("UDP sessions in zone a").isGreaterThanOrEqualTo(0.99);

        a1.close();
        a2.close();
        // Passive detection (ICMP port unreachable) ejects them; then every new session is in zone b.
        await().atMost(Duration.ofSeconds(15)).until(() -> {
            for (int i = 0; i < 20; i++) {
                String r = askUdp(port);
                if (r == null || !r.startsWith("b")) {
                    return false;
                }
            }
            return true;
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> Double.valueOf(0.0).equals(view(n, "udpz")
                .localSharePercent()));
        System.out.printf("ZONE-IT udp local_share_before=%.4f (%d/%d)%n", inA / (double) total, inA, total);
    }

    private static BackendConfig udpBackend(UdpNamed b, String zone) {
        return new BackendConfig(HostPort.of(b.host, b.socket.getLocalPort()), 1, Locality.of("test", zone), 0);
    }

    /** One datagram from a new socket (a new UDP session): the backend's name, or null without a reply. */
    private static String askUdp(int port) {
        try (java.net.DatagramSocket c = new java.net.DatagramSocket(new InetSocketAddress(
                InetAddress.getLoopbackAddress(), 0))) {
            c.setSoTimeout(500);
            byte[] out = {'?'};
            c.send(new java.net.DatagramPacket(out, 1, InetAddress.getLoopbackAddress(), port));
            byte[] in = new byte[64];
            java.net.DatagramPacket p = new java.net.DatagramPacket(in, in.length);
            c.receive(p);
            return new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null;
        }
    }

    /** A UDP backend that answers every datagram with its name. */
    private static final class UdpNamed implements AutoCloseable {
        final String host;
        final java.net.DatagramSocket socket;

        UdpNamed(String name, String host) throws IOException {
            this.host = host;
            this.socket = new java.net.DatagramSocket(new InetSocketAddress(InetAddress.ofLiteral(host), 0));
            byte[] reply = name.getBytes(StandardCharsets.US_ASCII);
            Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[2048];
                while (!socket.isClosed()) {
                    try {
                        java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
                        socket.receive(p);
                        socket.send(new java.net.DatagramPacket(reply, reply.length, p.getSocketAddress()));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    // ------------------------------------------------------------------ helpers

    private <T extends AutoCloseable> T keep(T c) {
        closeables.add(c);
        return c;
    }

    private static BackendConfig backend(Named b, String zone, int priority) {
        return new BackendConfig(HostPort.of(b.host, b.port), 1, Locality.of("test", zone), priority);
    }

    private static VipConfig vip(String name, List<BackendConfig> backends, boolean zoneAware) {
        OutlierDetection od = new OutlierDetection(1, Duration.ofMillis(500), Duration.ofMillis(500), 100,
                Duration.ZERO, ResponseTimeoutMode.FIRST_RESPONSE);
        return new VipConfig(name, HostPort.of("127.0.0.1", 0), Protocol.TCP, PolicyKind.ROUND_ROBIN, backends,
                Limits.UNLIMITED, new Timeouts(CONNECT_TIMEOUT, Duration.ofMinutes(1), Duration.ZERO), 3,
                ProxyProtocolVersion.NONE, RelayMode.COPY,
                Optional.of(new HealthCheckSpec.Tcp(CHECKS, OptionalInt.empty())),
                new HealthPolicy(false, od, 0, Duration.ZERO, false), Optional.empty(), UdpOptions.DEFAULTS,
                new VipLocality(zoneAware, 2, 1.4));
    }

    private Node node(VipConfig vip) throws Node.StartException {
        TandemConfig cfg = new TandemConfig(new RuntimeSettings(1, TransportKind.AUTO, Duration.ZERO),
                new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty()), DiscoverySettings.NONE,
                List.of(vip), Optional.empty(),
                new LocalitySettings(Locality.of("test", "zone-a"), List.of(), Map.of()));
        Node n = Node.start(new Node.Options("zone-it", cfg, () -> new ConfigResult.Valid(cfg), "test",
                Optional.empty()));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        return n;
    }

    private static NodeView.VipView view(Node n, String vip) {
        return n.control().view().vip(vip).orElseThrow();
    }

    private static int eligible(Node n, String vip) {
        return view(n, vip).eligible();
    }

    /** Connections and where they went: names starting with "a" are zone a (primaries), "b" zone b (backup). */
    private record Tally(int total, int zoneA, int zoneB, int failures) {
    }

    private static Tally tally(int port, int n) {
        int a = 0;
        int b = 0;
        int failures = 0;
        for (int i = 0; i < n; i++) {
            String r = request(port);
            if (r == null) {
                failures++;
            } else if (r.startsWith("a")) {
                a++;
            } else {
                b++;
            }
        }
        return new Tally(n, a, b, failures);
    }

    /**
     * @param firstOfRunAt  when the first connection of the final run of {@code run} matching ones was made
     * @param firstFastAt   when the first matching connection that needed no connect retry (it took less
     *                      than the connect timeout) was made: the snapshot had moved by then
     */
    private record Loop(int total, int failures, boolean done, long firstOfRunAt, long firstFastAt,
                        List<String> errors) {
    }

    /** New connections one after another until {@code run} in a row match, or {@code limit} passes. */
    private static Loop loopUntil(int port, java.util.function.Predicate<String> match, int run, Duration limit) {
        long end = System.nanoTime() + limit.toNanos();
        int total = 0;
        int failures = 0;
        int streak = 0;
        long streakStart = 0;
        long firstFast = 0;
        ERRORS.clear();
        while (System.nanoTime() < end) {
            long at = System.nanoTime();
            String r = request(port);
            long took = System.nanoTime() - at;
            total++;
            if (r == null) {
                failures++;
                streak = 0;
                continue;
            }
            if (match.test(r)) {
                if (firstFast == 0 && took < CONNECT_TIMEOUT.toNanos()) {
                    firstFast = at;
                }
                if (streak++ == 0) {
                    streakStart = at;
                }
                if (streak == run) {
                    return new Loop(total, failures, true, streakStart, firstFast, List.copyOf(ERRORS));
                }
            } else {
                streak = 0;
            }
        }
        return new Loop(total, failures, false, streakStart, firstFast, List.copyOf(ERRORS));
    }

    /** One request on a new connection: the backend's name, or null when it failed. */
    private static String request(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 3000);
            s.setSoTimeout(5000);
            s.getOutputStream().write('?');
            s.getOutputStream().flush();
            return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
        } catch (IOException e) {
            ERRORS.add(e.toString());
            return null;
        }
    }

    // ------------------------------------------------------------------ blackholes

    private static boolean canBlackhole() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return false;
        }
        try {
            return new ProcessBuilder("iptables", "-w", "-S", "OUTPUT").redirectErrorStream(true).start()
                    .waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private void block(Named b) {
        List<String> rule = List.of("OUTPUT", "-d", b.host + "/32", "-p", "tcp", "--dport", Integer.toString(b.port),
                "-m", "comment", "--comment", RULE_TAG, "-j", "DROP");
        List<String> cmd = new ArrayList<>(List.of("iptables", "-w", "-I"));
        cmd.addAll(rule);
        run(cmd);
        rules.add(rule);
    }

    private static void unblock(List<String> rule) {
        List<String> cmd = new ArrayList<>(List.of("iptables", "-w", "-D"));
        cmd.addAll(rule);
        run(cmd);
    }

    private static String run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return out;
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** A backend that answers every connection with its name and a newline. Restartable on its port. */
    private static final class Named implements AutoCloseable {
        final String name;
        final String host;
        final int port;
        private volatile ServerSocket server;

        Named(String name, String host) throws IOException {
            this.name = name;
            this.host = host;
            this.server = open(0);
            this.port = server.getLocalPort();
        }

        private ServerSocket open(int at) throws IOException {
            ServerSocket s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.ofLiteral(host), at), 256);
            Thread.ofVirtual().start(() -> {
                while (!s.isClosed()) {
                    try {
                        Socket c = s.accept();
                        Thread.ofVirtual().start(() -> {
                            try (c) {
                                c.setSoTimeout(5000);
                                c.getInputStream().read();
                                c.getOutputStream().write((name + "\n").getBytes(StandardCharsets.US_ASCII));
                            } catch (IOException e) {
                                // peer gone
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            return s;
        }

        /**
         * Kills the listener and returns once its port refuses connections: closing a socket that a
         * (virtual) thread is blocked accepting on releases the descriptor only when that thread
         * wakes, so for a moment after close() the kernel still completes handshakes — connections
         * made before the "kill", not after it.
         */
        void stop() throws IOException {
            server.close();
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(1)).until(() -> {
                try (Socket probe = new Socket()) {
                    probe.connect(new InetSocketAddress(InetAddress.ofLiteral(host), port), 1000);
                    return false;
                } catch (IOException refused) {
                    return true;
                }
            });
        }

        void start() throws IOException {
            server = open(port);
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
