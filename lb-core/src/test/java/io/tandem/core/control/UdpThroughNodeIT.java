package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.node.Node;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A udp VIP from a YAML config through a real node: sessions stick, options apply, metrics show. */
class UdpThroughNodeIT {

    /** A UDP echo backend that prefixes replies with its name. */
    static final class NamedUdpEcho implements AutoCloseable {
        final DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));

        NamedUdpEcho(String name) throws IOException {
            Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[2048];
                while (!socket.isClosed()) {
                    try {
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        socket.receive(p);
                        byte[] reply = (name + ":" + new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8))
                                .getBytes(StandardCharsets.UTF_8);
                        socket.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
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

    /** A UDP port on loopback that was free a moment ago. */
    static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            return s.getLocalPort();
        }
    }

    private static String ask(DatagramSocket client, int port, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.UTF_8);
        byte[] in = new byte[2048];
        for (int attempt = 0; attempt < 5; attempt++) { // UDP: resend on loss
            client.send(new DatagramPacket(out, out.length, InetAddress.getLoopbackAddress(), port));
            try {
                DatagramPacket p = new DatagramPacket(in, in.length);
                client.receive(p);
                return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
            } catch (java.net.SocketTimeoutException e) {
                // try again
            }
        }
        throw new IOException("no reply to " + text);
    }

    @Test
    void udpVipKeepsEachClientOnOneBackendAndDropsOversizeDatagrams() throws Exception {
        try (NamedUdpEcho a = new NamedUdpEcho("a"); NamedUdpEcho b = new NamedUdpEcho("b")) {
            int vip = freeUdpPort();
            ConfigResult r = ConfigLoader.parse("""
                    admin: {enabled: false}
                    vips:
                      - name: dns
                        listen: 127.0.0.1:%d
                        protocol: udp
                        policy: maglev
                        backends: [127.0.0.1:%d, 127.0.0.1:%d]
                        udp: {max_datagram_size: 512, session_idle: 5s}
                    """.formatted(vip, a.port(), b.port()), "t.yaml");
            assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
            var cfg = ((ConfigResult.Valid) r).config();
            try (Node n = Node.start(new Node.Options("t", cfg, () -> r, "test", Optional.empty()))) {
                Set<String> backendsSeen = new HashSet<>();
                for (int c = 0; c < 8; c++) {
                    try (DatagramSocket client = new DatagramSocket(new InetSocketAddress(
                            InetAddress.getLoopbackAddress(), 0))) {
                        client.setSoTimeout(1000);
                        String first = ask(client, vip, "c" + c + "-0");
                        String name = first.substring(0, 1);
                        backendsSeen.add(name);
                        assertThat(first).isEqualTo(name + ":c" + c + "-0");
                        for (int i = 1; i < 5; i++) {
                            assertThat(ask(client, vip, "c" + c + "-" + i)).isEqualTo(name + ":c" + c + "-" + i);
                        }
                        // 600 bytes > max_datagram_size 512: dropped, not truncated; the session goes on.
                        byte[] big = new byte[600];
                        client.send(new DatagramPacket(big, big.length, InetAddress.getLoopbackAddress(), vip));
                        assertThat(ask(client, vip, "after")).isEqualTo(name + ":after");
                    }
                }
                assertThat(backendsSeen).containsAnyOf("a", "b");
                String scrape = n.metrics().registry().scrape();
                assertThat(scrape).contains("tandem_udp_sessions_opened_total{vip=\"dns\"} 8.0");
                assertThat(scrape).contains("tandem_udp_dropped_total{reason=\"too_big\",vip=\"dns\"} 8.0");
                assertThat(n.control().view().vip("dns").orElseThrow().protocol()).isEqualTo("udp");
                n.shutdown(Duration.ZERO);
            }
        }
    }

    @Test
    void aUdpVipMovedToANewAddressByAReloadKeepsItsUdpMeters() throws Exception {
        try (NamedUdpEcho a = new NamedUdpEcho("a")) {
            int first = freeUdpPort();
            int second = freeUdpPort();
            String yaml = """
                    admin: {enabled: false}
                    vips:
                      - {name: dns, listen: 127.0.0.1:%d, protocol: udp, backends: [127.0.0.1:%d]}
                    """;
            java.util.concurrent.atomic.AtomicReference<String> text = new java.util.concurrent.atomic.AtomicReference<>(
                    yaml.formatted(first, a.port()));
            ConfigResult r = ConfigLoader.parse(text.get(), "t.yaml");
            assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
            try (Node n = Node.start(new Node.Options("t", ((ConfigResult.Valid) r).config(),
                    () -> ConfigLoader.parse(text.get(), "t.yaml"), "test", Optional.empty()))) {
                text.set(yaml.formatted(second, a.port()));
                assertThat(n.control().reload().get(20, java.util.concurrent.TimeUnit.SECONDS).changes())
                        .anyMatch(c -> c.startsWith("listening vip dns on /127.0.0.1:" + second));
                try (DatagramSocket client = new DatagramSocket(new InetSocketAddress(
                        InetAddress.getLoopbackAddress(), 0))) {
                    client.setSoTimeout(1000);
                    assertThat(ask(client, second, "moved")).isEqualTo("a:moved");
                }
                // The new listener's meters, not none: the old VIP's were removed before the new ones were bound.
                assertThat(n.metrics().registry().scrape()).contains("tandem_udp_sessions_opened_total{vip=\"dns\"} 1.0");
            }
        }
    }
}
