package io.tandem.core.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.testing.TestBackend;
import io.tandem.ha.OwnershipCause;
import io.tandem.ha.OwnershipListener;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Issue 19: a node that loses a VIP address resets the connections it proxied on it at once,
 * instead of keeping them until the idle timeout (the old owner still held 32–83 connections
 * 40 s after a thaw, and its next SIGTERM waited the whole drain timeout). A real node with two
 * VIPs on two loopback addresses; the HA node's "released" call is made as the HA module makes
 * it, through the listener the node registers ({@link HaWiring#listener}).
 */
class OrphanedConnectionsIT {

    @Test
    void releasingAVipAddressResetsItsConnectionsAtOnceAndLeavesOtherAddressesAlone() throws Exception {
        try (TestBackend echo = TestBackend.start(TestBackend.Mode.ECHO)) {
            int portA = freePort("127.0.0.2");
            int portB = freePort("127.0.0.3");
            String yaml = """
                    vips:
                      - name: lost
                        listen: 127.0.0.2:%d
                        timeouts: {idle: 10m}
                        backends: [127.0.0.1:%d]
                      - name: kept
                        listen: 127.0.0.3:%d
                        timeouts: {idle: 10m}
                        backends: [127.0.0.1:%d]
                    """.formatted(portA, echo.port(), portB, echo.port());
            ConfigResult r = ConfigLoader.parse(yaml, "orphans.yaml");
            assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
            try (Node node = Node.start(new Node.Options("edge-1", ((ConfigResult.Valid) r).config(), () -> r,
                    "orphans.yaml", Optional.empty()));
                 Socket a1 = connect("127.0.0.2", portA);
                 Socket a2 = connect("127.0.0.2", portA);
                 Socket b = connect("127.0.0.3", portB)) {
                for (Socket s : new Socket[] {a1, a2, b}) {
                    assertThat(roundTrip(s, "hello")).isEqualTo("hello");
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> node.control().activeConnections() == 3);
                OwnershipListener ha = HaWiring.listener(node.control(), node.metrics());

                long released = System.nanoTime();
                ha.released("127.0.0.2", OwnershipCause.FENCED);
                for (Socket s : new Socket[] {a1, a2}) {
                    s.setSoTimeout(5_000);
                    // The proxy's reset: a read fails with "Connection reset" (never a clean EOF,
                    // which a client could take for a complete response).
                    assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketException.class);
                }
                long ms = (System.nanoTime() - released) / 1_000_000;
                System.out.println("HA-MEASURE orphan-reset: release->client reset ms=" + ms);
                assertThat(ms).as("both clients reset within a bound (ms)").isLessThan(2_000);

                assertThat(roundTrip(b, "still here")).as("the other VIP address's connection").isEqualTo("still here");
                await().atMost(Duration.ofSeconds(5)).until(() -> node.control().activeConnections() == 1);
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(node.metrics().registry()
                        .get("tandem.ha.connections.reset").tag("address", "127.0.0.2").counter().count())
                        .isEqualTo(2.0));
            }
        }
    }

    /**
     * A VIP listening on 0.0.0.0 takes connections for every address of the host; when one address
     * is released, only the connections that arrived on it are reset (each looks at its own local
     * address), and the count says so. On the old code none was reset (wildcard VIPs were skipped).
     */
    @Test
    void aWildcardVipResetsOnlyTheConnectionsThatArrivedOnTheReleasedAddress() throws Exception {
        try (TestBackend echo = TestBackend.start(TestBackend.Mode.ECHO)) {
            int port = freePort("0.0.0.0");
            String yaml = """
                    vips:
                      - name: any
                        listen: 0.0.0.0:%d
                        timeouts: {idle: 10m}
                        backends: [127.0.0.1:%d]
                    """.formatted(port, echo.port());
            ConfigResult r = ConfigLoader.parse(yaml, "orphans-wildcard.yaml");
            assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
            try (Node node = Node.start(new Node.Options("edge-1", ((ConfigResult.Valid) r).config(), () -> r,
                    "orphans-wildcard.yaml", Optional.empty()));
                 Socket lost1 = connect("127.0.0.4", port);
                 Socket lost2 = connect("127.0.0.4", port);
                 Socket kept = connect("127.0.0.5", port)) {
                for (Socket s : new Socket[] {lost1, lost2, kept}) {
                    assertThat(roundTrip(s, "hello")).isEqualTo("hello");
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> node.control().activeConnections() == 3);

                var byVip = node.control().resetConnectionsOn("127.0.0.4").get(5, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(byVip).as("connections reset per VIP").containsExactly(java.util.Map.entry("any", 2));
                for (Socket s : new Socket[] {lost1, lost2}) {
                    assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(SocketException.class);
                }
                assertThat(roundTrip(kept, "still here")).as("the connection to another address").isEqualTo("still here");
                await().atMost(Duration.ofSeconds(5)).until(() -> node.control().activeConnections() == 1);
            }
        }
    }

    /**
     * A UDP VIP on the released address ends its sessions (their upstream sockets closed), so a
     * backend's late answer cannot go out from this node as well as from the new owner; the VIP
     * keeps listening. On the old code the session lived on until it idled out (here: 10 min).
     */
    @Test
    void releasingAUdpVipsAddressEndsItsSessions() throws Exception {
        try (java.net.DatagramSocket backend = new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress());
             java.net.DatagramSocket client = new java.net.DatagramSocket(0, java.net.InetAddress.getByName("127.0.0.1"))) {
            Thread echo = Thread.ofPlatform().daemon().start(() -> {
                byte[] buf = new byte[2048];
                while (!backend.isClosed()) {
                    try {
                        java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
                        backend.receive(p);
                        backend.send(new java.net.DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            int port;
            try (java.net.DatagramSocket probe = new java.net.DatagramSocket(0, java.net.InetAddress.getByName("127.0.0.6"))) {
                port = probe.getLocalPort();
            }
            String yaml = """
                    vips:
                      - name: dns
                        protocol: udp
                        listen: 127.0.0.6:%d
                        udp: {session_idle: 10m}
                        backends: [127.0.0.1:%d]
                    """.formatted(port, backend.getLocalPort());
            ConfigResult r = ConfigLoader.parse(yaml, "orphans-udp.yaml");
            assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
            try (Node node = Node.start(new Node.Options("edge-1", ((ConfigResult.Valid) r).config(), () -> r,
                    "orphans-udp.yaml", Optional.empty()))) {
                client.setSoTimeout(5_000);
                InetSocketAddress vip = new InetSocketAddress("127.0.0.6", port);
                byte[] ping = "ping".getBytes(StandardCharsets.US_ASCII);
                client.send(new java.net.DatagramPacket(ping, ping.length, vip));
                java.net.DatagramPacket back = new java.net.DatagramPacket(new byte[16], 16);
                client.receive(back);
                assertThat(new String(back.getData(), 0, back.getLength(), StandardCharsets.US_ASCII)).isEqualTo("ping");
                var sessions = node.metrics().registry().get("tandem.udp.sessions.active").gauge();
                assertThat(sessions.value()).isEqualTo(1.0);

                var byVip = node.control().resetConnectionsOn("127.0.0.6").get(5, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(byVip).as("sessions ended per VIP").containsExactly(java.util.Map.entry("dns", 1));
                assertThat(sessions.value()).as("open sessions after the release").isZero();

                // still listening: a new datagram opens a new session
                client.send(new java.net.DatagramPacket(ping, ping.length, vip));
                client.receive(back);
                assertThat(sessions.value()).isEqualTo(1.0);
            } finally {
                backend.close();
                echo.join(2_000);
            }
        }
    }

    private static Socket connect(String host, int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(host, port), 2_000);
        s.setSoTimeout(5_000);
        return s;
    }

    private static String roundTrip(Socket s, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(out);
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        byte[] back = in.readNBytes(out.length);
        return new String(back, StandardCharsets.UTF_8);
    }

    private static int freePort(String host) throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(host, 0));
            return s.getLocalPort();
        }
    }
}
