package io.tandem.core.control;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.tandem.config.AdminSettings;
import io.tandem.config.BackendConfig;
import io.tandem.config.CheckTiming;
import io.tandem.config.ConfigResult;
import io.tandem.config.HealthCheckSpec;
import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The start-up rule (docs/health.md "Start-up"): while every backend of a VIP still awaits its
 * first check the VIP is warming — it routes to them, logs INFO, never the panic WARN nor the
 * panic counter — and the node's {@code /ready} answers 503 until the first verdicts are in; once a
 * backend has passed, a backend without a pass gets no connection.
 */
class StartupWarmingIT {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final Logger controlLog = (Logger) LoggerFactory.getLogger(ControlLoop.class);
    private Level levelBefore;

    @BeforeEach
    void captureLog() {
        levelBefore = controlLog.getLevel();
        controlLog.setLevel(Level.INFO);
        log.start();
        controlLog.addAppender(log);
    }

    @AfterEach
    void cleanup() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
        controlLog.detachAppender(log);
        controlLog.setLevel(levelBefore);
    }

    private <T extends AutoCloseable> T keep(T c) {
        closeables.add(c);
        return c;
    }

    private static HealthCheckSpec http(Duration timeout, int fall) {
        CheckTiming t = new CheckTiming(Duration.ofMillis(200), timeout, 1, fall, 0, Duration.ofMillis(50),
                Duration.ofMillis(200));
        return new HealthCheckSpec.Http(t, OptionalInt.empty(), false, "GET", "/health", Optional.empty(), 200, 299,
                Optional.empty());
    }

    private Node node(HealthCheckSpec check, Backend... backends) throws Node.StartException {
        List<BackendConfig> bs = Arrays.stream(backends)
                .map(b -> new BackendConfig(HostPort.of("127.0.0.1", b.port()), 1)).toList();
        VipConfig v = new VipConfig("v", HostPort.of("127.0.0.1", 0), Protocol.TCP, PolicyKind.ROUND_ROBIN, bs,
                Limits.UNLIMITED, Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY, Optional.of(check),
                HealthPolicy.DEFAULTS, Optional.empty());
        TandemConfig cfg = new TandemConfig(new RuntimeSettings(1, TransportKind.AUTO, Duration.ZERO),
                new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty()), List.of(v));
        Node n = Node.start(new Node.Options("t", cfg, () -> new ConfigResult.Valid(cfg), "test", Optional.empty()));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        return n;
    }

    private static HttpResponse<String> get(Node n, String path) throws Exception {
        InetSocketAddress admin = n.adminAddress().orElseThrow();
        try (HttpClient client = HttpClient.newHttpClient()) {
            return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin.getPort() + path))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    private static String echoOnce(int port, String text) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(text.getBytes(US_ASCII));
            return new String(s.getInputStream().readNBytes(text.length()), US_ASCII);
        }
    }

    private List<String> warnings() {
        return log.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void startingWithEveryBackendAwaitingItsFirstCheckIsWarmingNotPanicAndReadyWaitsForTheVerdicts()
            throws Exception {
        // Health checks are answered after 1.5 s: long enough to look at the node while it warms.
        Backend a = keep(new Backend(Duration.ofMillis(1500), 200));
        Backend b = keep(new Backend(Duration.ofMillis(1500), 200));
        Node n = node(http(Duration.ofSeconds(5), 1), a, b);

        HttpResponse<String> early = get(n, "/ready");
        assertThat(early.statusCode()).as("ready before any check answered: %s", early.body()).isEqualTo(503);
        assertThat(early.body()).contains("warming: first health checks pending");
        NodeView view = n.control().view();
        assertThat(view.warming()).isTrue();
        assertThat(view.ready()).isFalse();
        NodeView.VipView vip = view.vip("v").orElseThrow();
        assertThat(vip.warming()).isTrue();
        assertThat(vip.panic()).isFalse();
        assertThat(vip.eligible()).as("nothing has passed a check yet").isZero();
        assertThat(vip.backends()).extracting(NodeView.BackendView::state).containsOnly("pending");

        // Clients are served meanwhile, by the backends still awaiting their verdict.
        int port = n.listenAddress("v").orElseThrow().getPort();
        assertThat(echoOnce(port, "while warming")).isEqualTo("while warming");

        await().atMost(Duration.ofSeconds(15)).until(() -> get(n, "/ready").statusCode() == 200);
        assertThat(get(n, "/ready").body()).isEqualTo("ready\n");
        NodeView after = n.control().view();
        assertThat(after.warming()).isFalse();
        assertThat(after.vip("v").orElseThrow().backends()).extracting(NodeView.BackendView::state)
                .containsOnly("up");

        assertThat(warnings()).as("the normal start is not a panic").noneMatch(m -> m.startsWith("vip panic"));
        assertThat(get(n, "/metrics").body().lines()
                .filter(l -> l.startsWith("tandem_vip_panic_entered_total"))
                .filter(l -> !l.endsWith(" 0.0"))).as("panic counter").isEmpty();
        assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage)
                .anyMatch(m -> m.startsWith("vip warming vip=v awaiting_first_check=2/2"))
                .anyMatch(m -> m.startsWith("vip warm vip=v eligible="));
    }

    @Test
    void aBackendFailingItsFirstCheckNeverGetsAConnectionOnceAnotherHasPassed() throws Exception {
        Backend good = keep(new Backend(Duration.ZERO, 200));
        Backend bad = keep(new Backend(Duration.ZERO, 503));
        // fall 3: the bad backend stays "awaiting its first verdict" for a while after its first failure.
        Node n = node(http(Duration.ofSeconds(2), 3), good, bad);
        await().atMost(Duration.ofSeconds(10)).until(() -> n.control().view().vip("v").orElseThrow().backends()
                .stream().anyMatch(b -> b.state().equals("up")));
        int port = n.listenAddress("v").orElseThrow().getPort();
        int before = bad.clients.get();
        for (int i = 0; i < 40; i++) {
            assertThat(echoOnce(port, "c" + i)).isEqualTo("c" + i);
        }
        assertThat(bad.clients.get() - before).as("connections to the backend without a pass").isZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> n.control().view().vip("v").orElseThrow().backends()
                .stream().anyMatch(b -> b.state().equals("down")));
        assertThat(warnings()).noneMatch(m -> m.startsWith("vip panic"));
    }

    @Test
    void aVipWhoseBackendsAllFailTheirFirstChecksPanicsOnceTheVerdictsAreIn() throws Exception {
        Backend a = keep(new Backend(Duration.ZERO, 500));
        Backend b = keep(new Backend(Duration.ZERO, 500));
        Node n = node(http(Duration.ofSeconds(2), 2), a, b);
        await().atMost(Duration.ofSeconds(10)).until(() -> n.control().view().vip("v").orElseThrow().panic());
        // A real panic still says so, once: the warning is for this, not for every start.
        await().atMost(Duration.ofSeconds(5)).until(() -> warnings().stream().anyMatch(m -> m.startsWith("vip panic")));
        assertThat(get(n, "/metrics").body()).contains("tandem_vip_panic_entered_total{vip=\"v\"} 1.0");
        await().atMost(Duration.ofSeconds(10)).until(() -> get(n, "/ready").statusCode() == 200);
        int port = n.listenAddress("v").orElseThrow().getPort();
        assertThat(echoOnce(port, "panic still routes")).isEqualTo("panic still routes");
    }

    /**
     * A backend that answers {@code GET} (its health check) with {@code status} after {@code delay}
     * and echoes anything else, counting those client connections.
     */
    static final class Backend implements AutoCloseable {
        final ServerSocket server;
        final AtomicInteger clients = new AtomicInteger();

        Backend(Duration delay, int status) throws IOException {
            server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread.ofVirtual().start(() -> serve(s, delay, status));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        private void serve(Socket s, Duration delay, int status) {
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                byte[] first = in.readNBytes(1);
                if (first.length == 0) {
                    return;
                }
                if (first[0] == 'G') {
                    Thread.sleep(delay); // the backend being slow to answer its check, not a test wait
                    out.write(("HTTP/1.1 " + status + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .getBytes(US_ASCII));
                    return;
                }
                clients.incrementAndGet();
                out.write(first);
                in.transferTo(out);
            } catch (IOException e) {
                // peer gone
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
