package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.AdminSettings;
import io.tandem.config.BackendConfig;
import io.tandem.config.ConfigResult;
import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
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
import io.tandem.config.VipConfig;
import io.tandem.core.node.Node;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A backend's latency as an operator reads it ({@code latency} in {@code /api/vips}, the p99
 * gauges in {@code /metrics}): of two echo backends, one answers 60 ms after the client's first
 * byte; through a real node, its first-byte p50 says ~60 ms and the fast one's says ~0.
 */
class BackendLatencyIT {

    /** An echo server that waits {@code delayMs} before answering each connection's first bytes. */
    private static ServerSocket delayedEcho(long delayMs) throws IOException {
        ServerSocket server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                            byte[] buf = new byte[256];
                            int n = in.read(buf);
                            if (n > 0) {
                                Thread.sleep(delayMs); // the backend's own think time, what is measured
                                out.write(buf, 0, n);
                            }
                        } catch (IOException | InterruptedException e) {
                            // client gone
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return server;
    }

    @Test
    void theSlowBackendsFirstBytePercentilesShowItsDelayAndTheFastOnesDoNot() throws Exception {
        try (ServerSocket fast = delayedEcho(0); ServerSocket slow = delayedEcho(60)) {
            OutlierDetection od = new OutlierDetection(0, Duration.ofMillis(300), Duration.ofMillis(300), 50,
                    Duration.ZERO, ResponseTimeoutMode.FIRST_RESPONSE);
            VipConfig vip = new VipConfig("web", HostPort.of("127.0.0.1", 0), Protocol.TCP, PolicyKind.ROUND_ROBIN,
                    List.of(new BackendConfig(HostPort.of("127.0.0.1", fast.getLocalPort()), 1),
                            new BackendConfig(HostPort.of("127.0.0.1", slow.getLocalPort()), 1)),
                    Limits.UNLIMITED, Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY,
                    Optional.empty(), new HealthPolicy(false, od, 0, Duration.ZERO, false), Optional.empty());
            TandemConfig cfg = new TandemConfig(new RuntimeSettings(1, TransportKind.AUTO, Duration.ZERO),
                    new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty()), List.of(vip));
            Node n = Node.start(new Node.Options("t", cfg, () -> new ConfigResult.Valid(cfg), "test",
                    Optional.empty()));
            try {
                int port = n.listenAddress("web").orElseThrow().getPort();
                for (int i = 0; i < 20; i++) {
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
                        s.setSoTimeout(5000);
                        s.getOutputStream().write(("m" + i).getBytes());
                        assertThat(new String(s.getInputStream().readNBytes(("m" + i).length()))).isEqualTo("m" + i);
                    }
                }
                NodeView.LatencyView f = latency(n, fast.getLocalPort());
                NodeView.LatencyView w = latency(n, slow.getLocalPort());
                assertThat(f.firstByteSamples()).isEqualTo(10);
                assertThat(w.firstByteSamples()).isEqualTo(10);
                assertThat(f.connectSamples()).isEqualTo(10);
                assertThat(w.firstByteP50Ms()).as("slow backend p50 (ms): %s", w).isBetween(50.0, 250.0);
                assertThat(f.firstByteP50Ms()).as("fast backend p50 (ms): %s", f).isLessThan(25.0);
                assertThat(f.connectP99Ms()).as("loopback connect p99 (ms)").isBetween(0.0, 250.0);

                String table = io.tandem.core.admin.StatusTable.render(n.control().view());
                assertThat(table).contains("CONN-P99", "TTFB-P99");
                assertThat(table.lines().filter(l -> l.contains("127.0.0.1:" + slow.getLocalPort() + " ")))
                        .singleElement().asString().containsPattern(" ([5-9][0-9]|1[0-9][0-9]|2[0-4][0-9])ms$");
                String json = get(n, "/api/vips/web/backends/127.0.0.1:" + slow.getLocalPort());
                assertThat(json).contains("\"latency\":{\"connectSamples\":10").contains("\"firstByteP50Ms\":");
                String metrics = get(n, "/metrics");
                java.util.regex.Matcher m = java.util.regex.Pattern.compile(
                        "(?m)^tandem_backend_first_byte_time_p99_seconds\\{backend=\"127.0.0.1:" + slow.getLocalPort()
                                + "\",vip=\"web\"} ([0-9.eE-]+)$").matcher(metrics);
                assertThat(m.find()).as("the slow backend's p99 gauge in /metrics").isTrue();
                assertThat(Double.parseDouble(m.group(1))).as("p99 seconds").isBetween(0.05, 0.25);
            } finally {
                n.shutdown(Duration.ZERO);
            }
        }
    }

    private static NodeView.LatencyView latency(Node n, int port) {
        return n.control().view().vip("web").orElseThrow().backends().stream()
                .filter(b -> b.address().endsWith(":" + port)).findFirst().orElseThrow().latency();
    }

    private static String get(Node n, String path) throws Exception {
        try (HttpClient client = HttpClient.newHttpClient()) {
            return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + n.adminAddress().orElseThrow().getPort() + path)).build(), HttpResponse.BodyHandlers.ofString())
                    .body();
        }
    }
}
