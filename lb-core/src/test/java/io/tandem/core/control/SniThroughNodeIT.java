package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.AdminSettings;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.HostPort;
import io.tandem.config.RuntimeSettings;
import io.tandem.config.TandemConfig;
import io.tandem.config.TransportKind;
import io.tandem.config.VipConfig;
import io.tandem.core.admin.StatusTable;
import io.tandem.core.control.ControlLoopIT.Echo;
import io.tandem.core.node.Node;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code vips[].sni} end to end through a running node: YAML with routes → members checked and
 * listed in status → a TLS hello routed by its name (echoed back unchanged by the route's
 * backend) → the per-route counters and refusals on {@code /metrics}.
 */
class SniThroughNodeIT {
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void cleanup() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    private <T extends AutoCloseable> T keep(T c) {
        closeables.add(c);
        return c;
    }

    private static byte[] hello(String serverName) throws Exception {
        SSLEngine engine = SSLContext.getDefault().createSSLEngine(serverName, 443);
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(serverName)));
        engine.setSSLParameters(p);
        engine.beginHandshake();
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        return b;
    }

    /** Sends {@code bytes}; true when they come back unchanged (an echo backend), false when refused. */
    private static boolean echoed(int port, byte[] bytes) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(bytes);
            byte[] back = s.getInputStream().readNBytes(bytes.length);
            return java.util.Arrays.equals(back, bytes);
        } catch (SocketException e) {
            return false; // reset
        }
    }

    private static String api(Node n, String path) throws Exception {
        try (HttpClient client = HttpClient.newHttpClient()) {
            return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + n.adminAddress().orElseThrow().getPort() + path)).build(), HttpResponse.BodyHandlers.ofString())
                    .body();
        }
    }

    @Test
    void aNodeRoutesByServerNameAndShowsTheRoutesInStatusAndMetrics() throws Exception {
        Echo def = keep(new Echo());
        Echo api = keep(new Echo());
        Echo org = keep(new Echo());
        ConfigResult parsed = ConfigLoader.parse("""
                admin: {enabled: false}
                vips:
                  - name: tls
                    listen: 127.0.0.1:443
                    relay: copy
                    health_check: {type: tcp, interval: 100ms, timeout: 500ms, rise: 1, fall: 1}
                    backends: [127.0.0.1:%d]
                    sni:
                      routes:
                        - {name: api, server_names: [api.example.com], backends: [127.0.0.1:%d]}
                        - {name: org, server_names: ["*.example.org"], backends: [127.0.0.1:%d]}
                      on_malformed: reject
                """.formatted(def.port(), api.port(), org.port()), "t.yaml");
        assertThat(parsed).as("%s", parsed).isInstanceOf(ConfigResult.Valid.class);
        VipConfig v = ((ConfigResult.Valid) parsed).config().vips().getFirst();
        VipConfig anyPort = new VipConfig(v.name(), HostPort.of("127.0.0.1", 0), v.protocol(), v.policy(),
                v.backends(), v.limits(), v.timeouts(), v.retries(), v.proxyProtocol(), v.relay(), v.healthCheck(),
                v.health(), v.service(), v.udp(), v.locality(), v.acl(), v.hashBalanceFactor(), v.proxyProtocolIn(),
                v.sni());
        TandemConfig cfg = new TandemConfig(new RuntimeSettings(1, TransportKind.AUTO, Duration.ZERO),
                new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty()), List.of(anyPort));
        Node n = Node.start(new Node.Options("t", cfg, () -> new ConfigResult.Valid(cfg), "test", Optional.empty()));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        await().atMost(Duration.ofSeconds(10)).until(() -> n.control().view().vip("tls").orElseThrow().backends()
                .stream().allMatch(b -> b.state().equals("up")));
        assertThat(n.control().view().vip("tls").orElseThrow().backends()).hasSize(3);
        // which route each backend serves, as /api/vips shows it
        assertThat(n.control().view().vip("tls").orElseThrow().backends())
                .extracting(b -> b.address() + "=" + b.sniRoutes())
                .containsExactlyInAnyOrder("127.0.0.1:" + def.port() + "=[default]",
                        "127.0.0.1:" + api.port() + "=[api]", "127.0.0.1:" + org.port() + "=[org]");
        String table = StatusTable.render(n.control().view());
        for (Echo e : List.of(def, api, org)) {
            assertThat(table).contains("127.0.0.1:" + e.port());
        }
        int port = n.listenAddress("tls").orElseThrow().getPort();
        int apiBefore = api.accepted.get(); // the checks connect too
        int orgBefore = org.accepted.get();
        assertThat(echoed(port, hello("api.example.com"))).isTrue();
        assertThat(echoed(port, hello("shop.example.org"))).isTrue();
        assertThat(echoed(port, hello("www.example.net"))).as("no route: the default").isTrue();
        assertThat(echoed(port, "GET / HTTP/1.0\r\n\r\n".getBytes())).as("on_malformed: reject").isFalse();
        assertThat(api.carriedData.get()).isGreaterThanOrEqualTo(1);
        assertThat(api.accepted.get() - apiBefore).isGreaterThanOrEqualTo(1);
        assertThat(org.accepted.get() - orgBefore).isGreaterThanOrEqualTo(1);
        String metrics = api(n, "/metrics");
        assertThat(metrics).contains("tandem_vip_sni_connections_total{route=\"api\",vip=\"tls\"} 1.0")
                .contains("tandem_vip_sni_connections_total{route=\"org\",vip=\"tls\"} 1.0")
                .contains("tandem_vip_sni_connections_total{route=\"default\",vip=\"tls\"} 1.0")
                .contains("tandem_vip_refused_total{reason=\"sni_malformed\",vip=\"tls\"} 1.0");
    }
}
