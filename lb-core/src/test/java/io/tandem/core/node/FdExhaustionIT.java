package io.tandem.core.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import io.tandem.core.testing.TestBackend;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A node that runs out of file descriptors (issue #15, item 7): its own EMFILE is never a
 * backend's failure. The node runs in a child JVM ({@link NodeProcess}) whose soft
 * RLIMIT_NOFILE the test lowers with {@code prlimit} once it is up, to just above (or exactly at)
 * what it already uses; backends and clients live in this JVM, whose limit stays untouched.
 * Each transport: epoll, NIO.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(FdExhaustionIT.Engine.class)
class FdExhaustionIT {
    enum Engine {
        EPOLL("epoll", List.of()),
        NIO("nio", List.of());

        final String transport;
        final List<String> jvmFlags;

        Engine(String transport, List<String> jvmFlags) {
            this.transport = transport;
            this.jvmFlags = jvmFlags;
        }
    }

    private final Engine engine;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    @TempDir
    Path dir;
    private NodeProcess node;
    private int webPort;
    private int dnsPort;

    FdExhaustionIT(Engine engine) {
        this.engine = engine;
    }

    @BeforeEach
    void startNode() throws Exception {
        assumeTrue(engine == Engine.NIO || Epoll.isAvailable(), "epoll unavailable");
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc");
        assumeTrue(NodeProcess.prlimitAvailable(), "needs prlimit(1) (util-linux)");
        List<String> web = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            TestBackend b = keep(TestBackend.start(TestBackend.Mode.ECHO));
            web.add("127.0.0.1:" + b.address().getPort());
        }
        List<String> dns = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            dns.add("127.0.0.1:" + keep(new UdpEcho()).port());
        }
        int admin = freeTcpPort();
        webPort = freeTcpPort();
        dnsPort = freeUdpPort();
        // Ejections last a minute, so any ejection is still visible when the test looks.
        String outliers = "    outlier_detection: {consecutive_failures: 1, base_ejection_time: 60s, "
                + "max_ejection_percent: 50}\n";
        String yaml = "runtime:\n  event_loops: 2\n  transport: " + engine.transport + "\n  drain_timeout: 0s\n"
                + "admin:\n  listen: 127.0.0.1:" + admin + "\n"
                + "vips:\n"
                + "  - name: web\n    listen: 127.0.0.1:" + webPort + "\n    protocol: tcp\n"
                + "    policy: round-robin\n    retries: 3\n    relay: copy\n"
                + "    timeouts: {connect: 1s, idle: 1m}\n"
                + "    backends: [" + String.join(", ", web) + "]\n" + outliers
                + "  - name: dns\n    listen: 127.0.0.1:" + dnsPort + "\n    protocol: udp\n"
                + "    policy: round-robin\n"
                + "    backends: [" + String.join(", ", dns) + "]\n" + outliers;
        Path config = dir.resolve("tandem.yaml");
        Files.writeString(config, yaml);
        node = NodeProcess.start(config, admin, engine.jvmFlags);
        // Warm up both VIPs (classes loaded, sessions path taken) before counting descriptors.
        assertThat(echoTcp("warm")).isEqualTo("warm");
        try (DatagramSocket c = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            assertThat(echoUdp(c, "warm")).isEqualTo("warm");
        }
    }

    @AfterEach
    void stop() throws Exception {
        if (node != null) {
            node.close();
            String[] out = node.output().split("\n");
            // The node's last lines, in the test report (what it logged is the first thing to read on a failure).
            System.out.println("--- node output (last 80 lines) ---\n"
                    + String.join("\n", java.util.Arrays.asList(out).subList(Math.max(0, out.length - 80), out.length)));
        }
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    /**
     * The probe's scenario: far more clients than the node has descriptors for. Nothing may be
     * ejected, the errors are counted as the node's own, the node does not spin on a listener it
     * cannot accept from, and it serves again once the clients leave.
     */
    @Test
    void fourHundredClientsOverTheFdLimitEjectNoBackendAndTheNodeRecovers() throws Exception {
        int baseline = node.openFds();
        node.softFdLimit(baseline + 40);
        List<Socket> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 400; i++) {
                Socket s = new Socket();
                try {
                    // The kernel completes the handshake into the listen backlog even when the node
                    // cannot accept: the connect itself succeeds.
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), webPort), 2000);
                    s.getOutputStream().write('x');
                } catch (IOException e) {
                    // reset by the node already: it is short of descriptors
                }
                clients.add(s);
            }
            // While the node sits at its limit with clients waiting: it must not spin.
            Duration before = node.cpuTime();
            long start = System.nanoTime();
            Thread.sleep(3000); // a measuring window, not a wait for a condition
            Duration used = node.cpuTime().minus(before);
            long window = (System.nanoTime() - start) / 1_000_000;
            System.out.printf("%s: node CPU %d ms in %d ms at the descriptor limit (baseline %d fds, limit %d)%n",
                    engine, used.toMillis(), window, baseline, baseline + 40);
            assertThat(used.toMillis()).as("node CPU during %d ms at the descriptor limit", window)
                    .isLessThan(window / 2);
        } finally {
            for (Socket s : clients) {
                s.close();
            }
        }
        // Back to normal, with the limit still low: the connections the clients left in the listen
        // backlog are drained first (at the limit again now and then, each time pausing accepts
        // for a second), then traffic flows, the admin API answers and the descriptors are back.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                .until(() -> "back".equals(echoTcp("back")));
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
                .until(() -> node.get("/api/vips").statusCode() == 200);
        await().atMost(Duration.ofSeconds(20)).until(() -> node.openFds() <= baseline + 8);

        String vips = node.get("/api/vips").body();
        assertThat(vips.toUpperCase(Locale.ROOT)).as("backends after the storm: %s", vips)
                .doesNotContain("EJECTED_PASSIVE");
        assertThat(node.metricSum("tandem_backend_connect_failures_total", "vip=\"web\""))
                .as("backend connect failures").isZero();
        assertThat(node.metricSum("tandem_health_transitions_total", "flag=\"EJECTED_PASSIVE\"")).isZero();
        assertThat(node.metricSum("tandem_local_errors_total", "vip=\"web\"")).as("local errors of vip web")
                .isPositive();
        assertThat(node.output()).contains("msg=\"local resource error\" vip=web").contains("raise LimitNOFILE");
        assertThat(node.output()).doesNotContain("backend ejected");
    }

    /**
     * Exactly one descriptor left: the accept takes it, so the backend socket cannot be opened.
     * The client is reset at once; the error is the node's ({@code op=connect errno=EMFILE}),
     * never a connect failure of the backend's, on TCP and on UDP (where no descriptor is left
     * for the session's upstream socket).
     */
    @Test
    void aBackendSocketTheNodeCannotOpenIsALocalErrorNeverABackendFailure() throws Exception {
        long[] limits = node.fdLimits();
        boolean reset = false;
        for (int attempt = 0; attempt < 5 && !reset; attempt++) {
            // The next descriptor (the accepted client) is the last one allowed.
            node.softFdLimit(node.lowestFreeFd() + 1);
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), webPort), 2000);
                s.setSoTimeout(5000);
                s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                long start = System.nanoTime();
                reset = readsNothing(s.getInputStream());
                assertThat((System.nanoTime() - start) / 1_000_000).as("ms until the client was closed")
                        .isLessThan(3000);
            } finally {
                node.softFdLimit(limits[0]);
            }
        }
        assertThat(reset).as("a client was refused for want of a descriptor").isTrue();

        // UDP: no descriptor at all for a new session's upstream socket.
        try (DatagramSocket c = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            node.softFdLimit(node.lowestFreeFd());
            try {
                c.setSoTimeout(500);
                c.send(new DatagramPacket(new byte[] {'q'}, 1, InetAddress.getLoopbackAddress(), dnsPort));
                assertThat(receives(c)).as("reply without an upstream socket").isFalse();
            } finally {
                node.softFdLimit(limits[0]);
            }
            await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> "again".equals(echoUdp(c, "again")));
        }

        assertThat(node.metric("tandem_local_errors_total{errno=\"EMFILE\",op=\"connect\",vip=\"web\"}"))
                .isGreaterThanOrEqualTo(1);
        assertThat(node.metric("tandem_local_errors_total{errno=\"EMFILE\",op=\"connect\",vip=\"dns\"}"))
                .isGreaterThanOrEqualTo(1);
        assertThat(node.metricSum("tandem_udp_dropped_total", "vip=\"dns\"", "reason=\"local_error\""))
                .isGreaterThanOrEqualTo(1);
        assertThat(node.metricSum("tandem_backend_connect_failures_total")).as("backend connect failures").isZero();
        assertThat(node.metricSum("tandem_health_transitions_total", "flag=\"EJECTED_PASSIVE\"")).isZero();
        String vips = node.get("/api/vips").body();
        assertThat(vips.toUpperCase(Locale.ROOT)).as("backends: %s", vips).doesNotContain("EJECTED_PASSIVE");
        assertThat(node.output()).contains("msg=\"local resource error\" vip=web op=connect errno=EMFILE count=")
                .contains("msg=\"local resource error\" vip=dns op=connect errno=EMFILE count=");
        assertThat(echoTcp("fine")).isEqualTo("fine");
    }

    /** True when the node closed the connection (reset or EOF) without a byte. */
    private static boolean readsNothing(InputStream in) throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketException e) {
            return true; // connection reset
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    private static boolean receives(DatagramSocket c) throws IOException {
        try {
            c.receive(new DatagramPacket(new byte[64], 64));
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    private String echoTcp(String text) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), webPort), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readNBytes(text.length()), StandardCharsets.US_ASCII);
        }
    }

    private String echoUdp(DatagramSocket c, String text) throws IOException {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        c.setSoTimeout(2000);
        c.send(new DatagramPacket(b, b.length, InetAddress.getLoopbackAddress(), dnsPort));
        DatagramPacket p = new DatagramPacket(new byte[64], 64);
        c.receive(p);
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
    }

    private <T extends AutoCloseable> T keep(T c) {
        closeables.add(c);
        return c;
    }

    private static int freeTcpPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A UDP backend that echoes every datagram, on a platform thread of its own. */
    private static final class UdpEcho implements AutoCloseable {
        private final DatagramSocket socket;

        UdpEcho() throws IOException {
            socket = new DatagramSocket(0, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[2048];
                while (!socket.isClosed()) {
                    try {
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        socket.receive(p);
                        socket.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() {
            socket.close();
        }
    }
}
