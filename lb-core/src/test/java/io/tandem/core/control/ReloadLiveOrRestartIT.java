package io.tandem.core.control;

import static io.tandem.core.control.ReloadOffLoopIT.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.ControlLoopIT.Echo;
import io.tandem.core.control.NodeControl.BackendAction;
import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.node.Node;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Every config change a reload meets is either applied — and then really in force — or reported
 * as needing a restart, in the answer (also through the admin API) and in the log; never
 * {@code applied: true, changes: []} with the change silently ignored. One test per section that
 * applies live (runtime.drain_timeout, admin.token, discovery; runtime.dns is in DnsNamesIT, VIPs
 * in ControlLoopIT), and the restart-only keys of each kind.
 */
class ReloadLiveOrRestartIT {
    private final AtomicReference<String> yaml = new AtomicReference<>();
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final Logger controlLog = (Logger) LoggerFactory.getLogger(ControlLoop.class);
    private Echo b1;

    @BeforeEach
    void start() throws IOException {
        b1 = new Echo();
        logs.start();
        controlLog.addAppender(logs);
    }

    @AfterEach
    void stop() throws IOException {
        controlLog.detachAppender(logs);
        b1.close();
    }

    private ConfigResult read() {
        return ConfigLoader.parse(yaml.get(), "test.yaml");
    }

    private Node node(String text) throws Node.StartException {
        yaml.set(text);
        ConfigResult r = read();
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        TandemConfig cfg = ((ConfigResult.Valid) r).config();
        return Node.start(new Node.Options("test", cfg, this::read, "test.yaml", Optional.empty()));
    }

    private ReloadOutcome reload(Node n, String text) throws Exception {
        yaml.set(text);
        return n.control().reload().get(20, TimeUnit.SECONDS);
    }

    private List<String> warnings() {
        return logs.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void adminListenAndEventLoopsNeedARestartSaidInTheAnswerTheApiAndTheLogUntilRestarted() throws Exception {
        int admin = freePort();
        int other = freePort();
        String base = """
                runtime: {event_loops: 1}
                admin: {listen: 127.0.0.1:%d}
                vips:
                  - {name: a, listen: 127.0.0.1:%d, backends: [127.0.0.1:%d]}
                """.formatted(admin, freePort(), b1.port());
        try (Node n = node(base)) {
            yaml.set(base.replace("event_loops: 1", "event_loops: 2").replace(":" + admin + "}", ":" + other + "}"));
            HttpResponse<String> resp = postReload(admin);
            assertThat(resp.statusCode()).isEqualTo(200);
            String listenLine = "admin.listen: 127.0.0.1:" + admin + " → 127.0.0.1:" + other + " (needs a restart)";
            assertThat(resp.body()).contains("\"applied\":true").contains("\"changes\":[]")
                    .contains("\"needsRestart\":[\"runtime.event_loops: 1 → 2 (needs a restart)\",\""
                            + listenLine + "\"]");
            assertThat(warnings()).contains("config change not applied why=reload change=\"" + listenLine + "\"");
            // The API still listens where it did, and the next reload says it again.
            ReloadOutcome again = n.control().reload().get(20, TimeUnit.SECONDS);
            assertThat(again.needsRestart()).contains(listenLine);
            assertThat(n.control().config().admin().listen().port()).as("the config in force").isEqualTo(admin);
            assertThat(n.adminAddress().orElseThrow().getPort()).isEqualTo(admin);
        }
    }

    @Test
    void aNewDrainTimeoutAppliesToOperatorDrainsAndToShutdown() throws Exception {
        int vip = freePort();
        String base = """
                runtime: {event_loops: 1, drain_timeout: 30s}
                admin: {enabled: false}
                vips:
                  - {name: a, listen: 127.0.0.1:%d, backends: [127.0.0.1:%d]}
                """.formatted(vip, b1.port());
        Node n = node(base);
        try (Socket open = connect(vip); Socket drained = connect(vip)) {
            ReloadOutcome o = reload(n, base.replace("drain_timeout: 30s", "drain_timeout: 300ms"));
            assertThat(o.changes()).containsExactly("runtime.drain_timeout: 30s → 300ms");
            assertThat(o.needsRestart()).isEmpty();
            assertThat(echo(drained, "1")).isEqualTo("1");
            // An operator drain closes what is left after the new deadline.
            n.control().backendAction("a", "127.0.0.1:" + b1.port(), BackendAction.DRAIN).get(5, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> closed(drained));
            n.control().backendAction("a", "127.0.0.1:" + b1.port(), BackendAction.ENABLE).get(5, TimeUnit.SECONDS);
        } finally {
            // And shutdown waits the new 300 ms for a connection still open, not the 30 s started with.
            try (Socket open = connect(vip)) {
                assertThat(echo(open, "2")).isEqualTo("2");
                long t0 = System.nanoTime();
                n.close();
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                System.out.println("shutdown with one open connection took " + ms + " ms (drain_timeout 300ms)");
                assertThat(ms).isLessThan(10_000);
            }
        }
    }

    @Test
    void aRotatedAdminTokenIsReportedWithoutItsValueAndHandedToApplyListeners() throws Exception {
        String base = """
                admin: {enabled: true, listen: 127.0.0.1:%d, token: "first-token-1234"}
                vips:
                  - {name: a, listen: 127.0.0.1:%d, backends: [127.0.0.1:%d]}
                """.formatted(freePort(), freePort(), b1.port());
        try (Node n = node(base)) {
            List<Optional<String>> seen = new CopyOnWriteArrayList<>();
            n.control().addApplyListener(c -> seen.add(c.admin().token()));
            n.control().addApplyListener(c -> {
                throw new IllegalStateException("a broken listener");
            });
            ReloadOutcome o = reload(n, base.replace("first-token-1234", "second-token-4567"));
            assertThat(o.applied()).isTrue();
            assertThat(o.changes()).containsExactly("admin token rotated");
            assertThat(seen).containsExactly(Optional.of("second-token-4567"));
            assertThat(o.toString()).doesNotContain("token-");
            assertThat(warnings()).anySatisfy(l -> assertThat(l).contains("apply listener failed"))
                    .noneSatisfy(l -> assertThat(l).contains("token-"));
        }
    }

    @Test
    void aTokenRotatedByAReloadOverTheApiLocksTheOldTokenOutAndLetsTheNewOneIn() throws Exception {
        int admin = freePort();
        String base = """
                admin: {enabled: true, listen: 127.0.0.1:%d, token: "first-token-1234"}
                vips:
                  - {name: a, listen: 127.0.0.1:%d, backends: [127.0.0.1:%d]}
                """.formatted(admin, freePort(), b1.port());
        try (Node n = node(base); HttpClient http = HttpClient.newHttpClient()) {
            assertThat(getNode(http, admin, "first-token-1234")).isEqualTo(200);
            yaml.set(base.replace("first-token-1234", "second-token-4567"));
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin
                    + "/api/reload")).header("Authorization", "Bearer first-token-1234")
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("admin token rotated").doesNotContain("token-1234").doesNotContain("token-4567");
            // The revoked token is refused at once, the new one accepted: rotation is not a restart.
            assertThat(getNode(http, admin, "first-token-1234")).isEqualTo(401);
            assertThat(getNode(http, admin, "second-token-4567")).isEqualTo(200);
        }
    }

    private static int getNode(HttpClient http, int admin, String token) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/api/node"))
                .header("Authorization", "Bearer " + token).GET().build(), HttpResponse.BodyHandlers.ofString())
                .statusCode();
    }

    @Test
    void aChangedDiscoverySourceIsRestartedReportedAndReadsItsNewSettings() throws Exception {
        try (TestingServer zk = new TestingServer(true);
             CuratorFramework client = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100));
             Echo b2 = new Echo()) {
            client.start();
            client.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL)
                    .forPath("/old/orders/127.0.0.1:" + b1.port());
            client.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL)
                    .forPath("/new/orders/127.0.0.1:" + b2.port());
            String base = """
                    admin: {enabled: false}
                    discovery:
                      zookeeper: {connect: "%s", base_path: /old, layout: plain, removal_debounce: 0}
                    vips:
                      - {name: orders, listen: 127.0.0.1:%d, service: orders}
                    """.formatted(zk.getConnectString(), freePort());
            try (Node n = node(base)) {
                await().atMost(Duration.ofSeconds(15)).until(() -> addresses(n).equals(List.of("127.0.0.1:" + b1.port())));
                ReloadOutcome o = reload(n, base.replace("base_path: /old", "base_path: /new"));
                assertThat(o.changes()).containsExactly(
                        "discovery.zookeeper changed: source restarted with the new settings");
                await().atMost(Duration.ofSeconds(15)).until(() -> addresses(n).equals(List.of("127.0.0.1:" + b2.port())));
            }
        }
    }

    @Test
    void udpOptionsOfAListenerThatStaysNeedARestartAndAreNotCalledAnUpdate() throws Exception {
        String base = """
                admin: {enabled: false}
                vips:
                  - name: dns
                    listen: 127.0.0.1:%d
                    protocol: udp
                    backends: [127.0.0.1:53]
                    udp: {session_idle: 30s}
                """.formatted(UdpThroughNodeIT.freeUdpPort());
        try (Node n = node(base)) {
            ReloadOutcome o = reload(n, base.replace("session_idle: 30s", "session_idle: 5s"));
            assertThat(o.applied()).isTrue();
            assertThat(o.changes()).isEmpty();
            assertThat(o.needsRestart()).containsExactly("vips[dns].udp.session_idle: 30s → 5s (needs a restart)");
            // A change that does apply is named with its keys, and the udp one is still pending.
            ReloadOutcome p = reload(n, base.replace("session_idle: 30s", "session_idle: 5s")
                    .replace("backends: [127.0.0.1:53]", "backends: [127.0.0.1:53]\n    policy: maglev"));
            assertThat(p.changes()).containsExactly("updated vip dns (policy)");
            assertThat(p.needsRestart()).containsExactly("vips[dns].udp.session_idle: 30s → 5s (needs a restart)");
        }
    }

    // ------------------------------------------------------------------ helpers

    private static List<String> addresses(Node n) {
        return n.control().view().vip("orders").orElseThrow().backends().stream().map(NodeView.BackendView::address)
                .toList();
    }

    private static HttpResponse<String> postReload(int admin) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/api/reload"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    private static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
        s.setSoTimeout(5000);
        return s;
    }

    private static String echo(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes());
        return new String(s.getInputStream().readNBytes(text.length()));
    }

    /** True once the peer closed or reset {@code s}. */
    private static boolean closed(Socket s) {
        try {
            s.setSoTimeout(200);
            return s.getInputStream().read() < 0;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }
}
