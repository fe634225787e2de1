package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.AdminSettings;
import io.tandem.config.BackendConfig;
import io.tandem.config.CheckTiming;
import io.tandem.config.ConfigResult;
import io.tandem.config.HealthCheckSpec;
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
import io.tandem.core.admin.StatusTable;
import io.tandem.core.control.ControlLoopIT.Echo;
import io.tandem.core.node.Node;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A backend no active check watches is shown as {@code unchecked}, never {@code up}: after it
 * crashed and its passive ejection expired it looks exactly like a healthy one, and the node must
 * not tell an operator otherwise (issue 15, item 13).
 */
class UncheckedBackendIT {
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

    private static VipConfig vip(String name, List<Integer> ports, Optional<HealthCheckSpec> check) {
        OutlierDetection od = new OutlierDetection(1, Duration.ofMillis(300), Duration.ofMillis(300), 50, Duration.ZERO,
                ResponseTimeoutMode.FIRST_RESPONSE);
        List<BackendConfig> bs = ports.stream().map(p -> new BackendConfig(HostPort.of("127.0.0.1", p), 1)).toList();
        return new VipConfig(name, HostPort.of("127.0.0.1", 0), Protocol.TCP, PolicyKind.ROUND_ROBIN, bs,
                Limits.UNLIMITED, Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY, check,
                new HealthPolicy(false, od, 0, Duration.ZERO, false), Optional.empty());
    }

    private Node node(VipConfig... vips) throws Node.StartException {
        TandemConfig cfg = new TandemConfig(new RuntimeSettings(1, TransportKind.AUTO, Duration.ZERO),
                new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty()), List.of(vips));
        Node n = Node.start(new Node.Options("t", cfg, () -> new ConfigResult.Valid(cfg), "test", Optional.empty()));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        return n;
    }

    /**
     * A port that refuses connections for the whole test: bound, never listening. (A port freed
     * just before could be handed to the node's own port-0 listener: a real self-loop.)
     */
    private int deadPort() throws IOException {
        Socket s = keep(new Socket());
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return s.getLocalPort();
    }

    private static NodeView.BackendView backend(Node n, String vip, int port) {
        return n.control().view().vip(vip).orElseThrow().backends().stream()
                .filter(b -> b.address().endsWith(":" + port)).findFirst().orElseThrow();
    }

    private static void echoOnce(int port, String text) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(text.getBytes());
            assertThat(new String(s.getInputStream().readNBytes(text.length()))).isEqualTo(text);
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
    void aCrashedBackendWithoutActiveCheckIsUncheckedAfterItsEjectionExpiresNeverUp() throws Exception {
        Echo a = keep(new Echo());
        Echo b = keep(new Echo());
        int crashed = deadPort();
        Echo c = keep(new Echo());
        CheckTiming fast = new CheckTiming(Duration.ofMillis(100), Duration.ofMillis(500), 1, 1, 0,
                Duration.ofMillis(50), Duration.ofMillis(100));
        Node n = node(vip("plain", List.of(a.port(), b.port(), crashed), Optional.empty()),
                vip("checked", List.of(c.port()), Optional.of(new HealthCheckSpec.Tcp(fast, OptionalInt.empty()))));

        assertThat(backend(n, "plain", a.port()).state()).isEqualTo("unchecked");
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(n, "checked", c.port()).state().equals("up"));

        // Traffic finds the crashed one: a refused connect ejects it (and the client is retried elsewhere).
        int port = n.listenAddress("plain").orElseThrow().getPort();
        for (int i = 0; i < 6; i++) {
            echoOnce(port, "m" + i);
        }
        NodeView.BackendView ejected = backend(n, "plain", crashed);
        assertThat(ejected.flags()).as("transitions %s", ejected.recentTransitions())
                .contains(HealthFlag.EJECTED_PASSIVE);
        assertThat(ejected.state()).isEqualTo("ejected");

        // 300 ms later the ejection is over: nothing is known against it, nothing vouches for it either.
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(n, "plain", crashed).flags().isEmpty());
        NodeView.BackendView after = backend(n, "plain", crashed);
        assertThat(after.eligible()).as("still routable: passive detection catches it again").isTrue();
        assertThat(after.state()).isEqualTo("unchecked");
        assertThat(backend(n, "plain", a.port()).state()).isEqualTo("unchecked");

        String json = api(n, "/api/vips/plain/backends/127.0.0.1:" + crashed);
        assertThat(json).contains("\"state\":\"unchecked\"").doesNotContain("\"state\":\"up\"");
        assertThat(api(n, "/api/vips/checked/backends")).contains("\"state\":\"up\"");

        String table = StatusTable.render(n.control().view());
        assertThat(table.lines().filter(l -> l.startsWith("plain "))).singleElement().asString()
                .contains("3/3").endsWith("unchecked");
        assertThat(table.lines().filter(l -> l.contains("127.0.0.1:" + crashed + " "))).singleElement().asString()
                .contains(" unchecked ").doesNotContain(" up ");
        assertThat(table.lines().filter(l -> l.contains("127.0.0.1:" + c.port() + " "))).singleElement().asString()
                .contains(" up ");
    }
}
