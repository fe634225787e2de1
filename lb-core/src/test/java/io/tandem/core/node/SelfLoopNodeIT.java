package io.tandem.core.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import io.tandem.core.testing.Dnsmasq;
import io.tandem.core.testing.TestBackend;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A whole node whose VIP proxies to itself (issue #15, item 8): {@code tandem run} with a VIP on
 * {@code 127.0.0.1:P} and the backend {@code loop.tandem.test:P}, a host name that a real DNS
 * server (dnsmasq, started here) resolves to 127.0.0.1 — validation cannot see through a name
 * (it refuses {@code localhost} and the listener's own address). Before the fix one client
 * connection used every descriptor the node had in under
 * a second, the admin API stopped answering and the descriptors stayed held. Now the client gets
 * a prompt close, the node's descriptor count does not move, the admin API answers at once and
 * shows the backend flagged {@code SELF_LOOP}. The node runs in a child JVM with its descriptor
 * limit lowered, so that the code before the fix could not take the machine down with it.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(FdExhaustionIT.Engine.class)
class SelfLoopNodeIT {
    private final FdExhaustionIT.Engine engine;
    @TempDir
    Path dir;
    private NodeProcess node;
    private TestBackend echo;
    private Dnsmasq dns;

    SelfLoopNodeIT(FdExhaustionIT.Engine engine) {
        this.engine = engine;
    }

    @BeforeEach
    void requirements() {
        assumeTrue(engine == FdExhaustionIT.Engine.NIO || Epoll.isAvailable(), "epoll unavailable");
        assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc");
        assumeTrue(NodeProcess.prlimitAvailable(), "needs prlimit(1) (util-linux)");
        assumeTrue(Dnsmasq.BINARY != null, "needs dnsmasq (Debian dnsmasq-base) to resolve a name to the node");
    }

    @AfterEach
    void stop() throws Exception {
        if (node != null) {
            node.close();
            String[] out = node.output().split("\n");
            System.out.println("--- node output (last 40 lines) ---\n" + String.join("\n",
                    java.util.Arrays.asList(out).subList(Math.max(0, out.length - 40), out.length)));
        }
        if (echo != null) {
            echo.close();
        }
        if (dns != null) {
            dns.close();
        }
    }

    @Test
    void aVipWhoseBackendIsItselfCutsTheClientAtOnceAndHoldsNoDescriptor() throws Exception {
        int port = freeTcpPort();
        int mixed = port + 1; // free too (freeTcpPort)
        int udpPort = freeUdpPort();
        echo = TestBackend.start(TestBackend.Mode.ECHO);
        int admin = freeTcpPort();
        dns = Dnsmasq.start(Dnsmasq.freePort(), dir.resolve("hosts"), 60, "127.0.0.1 loop.tandem.test");
        Path config = dir.resolve("tandem.yaml");
        Files.writeString(config, "runtime: {event_loops: 2, transport: " + engine.transport + ", drain_timeout: 0s,"
                + " dns: {servers: [\"127.0.0.1:" + dns.port + "\"]}}\n"
                + "admin: {listen: 127.0.0.1:" + admin + "}\n"
                + "vips:\n"
                + "  - name: loop\n    listen: 127.0.0.1:" + port + "\n    protocol: tcp\n"
                + "    backends: [loop.tandem.test:" + port + "]\n"
                + "  - name: mixed\n    listen: 127.0.0.1:" + mixed + "\n    protocol: tcp\n"
                + "    backends: [loop.tandem.test:" + mixed + ", 127.0.0.1:" + echo.address().getPort() + "]\n"
                + "  - name: uloop\n    listen: 127.0.0.1:" + udpPort + "\n    protocol: udp\n"
                + "    backends: [loop.tandem.test:" + udpPort + "]\n");
        node = NodeProcess.start(config, admin, engine.jvmFlags);
        node.get("/api/vips");
        int before = node.openFds();
        // Bounded, so that the code before the fix runs out here rather than at the system's limit.
        node.softFdLimit(before + 200);

        long start = System.nanoTime();
        boolean closed = closedPromptly(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        long closedMs = (System.nanoTime() - start) / 1_000_000;
        int during = node.openFds();
        long adminStart = System.nanoTime();
        HttpResponse<String> vips = node.get("/api/vips");
        long adminMs = (System.nanoTime() - adminStart) / 1_000_000;
        System.out.printf("self-loop %s: client closed=%s after %d ms; node fds before=%d right after=%d;"
                + " admin answered %d in %d ms%n", engine, closed, closedMs, before, during, vips.statusCode(), adminMs);

        assertThat(closed).as("the client was closed without a byte").isTrue();
        assertThat(closedMs).isLessThan(3000);
        assertThat(during).as("node descriptors right after the loop (before: %d)", before).isLessThanOrEqualTo(before + 4);
        assertThat(vips.statusCode()).isEqualTo(200);
        assertThat(adminMs).as("admin API answer time").isLessThan(2000);
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() ->
                assertThat(node.get("/api/vips").body().toUpperCase(Locale.ROOT)).contains("SELF_LOOP"));
        assertThat(node.metric("tandem_self_loops_total{vip=\"loop\"}")).isGreaterThanOrEqualTo(1);
        assertThat(node.output()).contains("msg=\"backend self-loop\" vip=loop backend=");

        // Flagged: never routed again, not even in panic; the next client is refused at once.
        assertThat(closedPromptly(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))).isTrue();
        // A VIP with a working backend beside the loop serves every client.
        for (int i = 0; i < 10; i++) {
            assertThat(echo(mixed, "m" + i)).isEqualTo("m" + i);
        }
        // UDP: a datagram to a VIP whose backend is itself is dropped, no session piles up.
        try (DatagramSocket c = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            c.setSoTimeout(500);
            for (int i = 0; i < 5; i++) {
                c.send(new DatagramPacket(new byte[] {'q'}, 1, InetAddress.getLoopbackAddress(), udpPort));
            }
            assertThat(receives(c)).isFalse();
        }
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() ->
                assertThat(node.metric("tandem_self_loops_total{vip=\"uloop\"}")).isGreaterThanOrEqualTo(1));
        assertThat(node.metricSum("tandem_udp_sessions_active", "vip=\"uloop\"")).isZero();

        await().atMost(Duration.ofSeconds(10)).until(() -> node.openFds() <= before + 4);
        System.out.printf("self-loop %s: node fds after=%d%n", engine, node.openFds());
        assertThat(node.metricSum("tandem_backend_connect_failures_total", "vip=\"loop\"")).isZero();
    }

    private static boolean closedPromptly(InetSocketAddress address) throws IOException {
        try (Socket s = new Socket()) {
            try {
                s.connect(address, 2000);
                s.setSoTimeout(3000);
                s.getOutputStream().write("hello\n".getBytes(StandardCharsets.US_ASCII));
                return s.getInputStream().read() < 0;
            } catch (SocketTimeoutException e) {
                return false;
            } catch (SocketException e) {
                return true; // reset
            }
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

    private static String echo(int port, String text) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(text.getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readNBytes(text.length()), StandardCharsets.US_ASCII);
        }
    }

    private static int freeTcpPort() throws IOException {
        for (;;) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                 ServerSocket next = new ServerSocket(s.getLocalPort() + 1, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort(); // and the next port is free too (the "mixed" VIP)
            } catch (IOException e) {
                // the next port is taken: try another pair
            }
        }
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
