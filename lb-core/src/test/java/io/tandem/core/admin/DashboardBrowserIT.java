package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.control.NodeView;
import io.tandem.core.node.Node;
import io.tandem.core.testing.Chromium;
import io.tandem.core.testing.TestBackend;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The dashboard in a real headless Chromium against a real node: the page asks for the token and
 * uses it, shows the VIPs and their backends, shows a backend whose process died as {@code down}
 * within about a second of the node knowing it (the page polls {@code /api/node} every second), and
 * its Drain button — clicked with real mouse events — drains the backend through the admin API's
 * browser guard. A ZooKeeper-discovered VIP shows its backend's origin and the source's freshness. Leaves {@code target/dashboard.png}. Skipped with a message when no Chromium is
 * installed ({@code apt-get install chromium}; {@code .ci/run} does).
 */
class DashboardBrowserIT {
    private static final String TOKEN = "dashboard-test-token-0123456789";

    @Test
    void thePageShowsTheNodeFollowsABackendGoingDownAndDrainsOnAClick() throws Exception {
        Optional<Path> binary = Chromium.find();
        Assumptions.assumeTrue(binary.isPresent(),
                "no Chromium found (chromium, chromium-browser, google-chrome or $TANDEM_CHROMIUM): "
                        + "install Debian's chromium package to run the dashboard browser test");
        int admin = freePort();
        try (TestBackend a = TestBackend.start(TestBackend.Mode.ECHO);
             TestBackend b = TestBackend.start(TestBackend.Mode.ECHO);
             TestBackend c = TestBackend.start(TestBackend.Mode.ECHO);
             TestBackend orders = TestBackend.start(TestBackend.Mode.ECHO);
             DatagramSocket dns = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             TestingServer zk = new TestingServer(true);
             CuratorFramework client = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100))) {
            client.start();
            client.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL)
                    .forPath("/services/orders/127.0.0.1:" + orders.port());
            String yaml = """
                    admin: {listen: 127.0.0.1:%d, token: "%s"}
                    discovery:
                      zookeeper: {connect: "%s", base_path: /services, layout: plain}
                    vips:
                      - name: web
                        listen: 127.0.0.1:%d
                        policy: least-connections
                        health_check: {type: tcp, interval: 200ms, timeout: 100ms, fall: 1, rise: 1}
                        backends: [127.0.0.1:%d, {address: 127.0.0.1:%d, weight: 2}, 127.0.0.1:%d]
                      - name: orders
                        listen: 127.0.0.1:%d
                        service: orders
                      - name: dns
                        listen: 127.0.0.1:%d
                        protocol: udp
                        policy: maglev
                        backends: [127.0.0.1:%d]
                    """.formatted(admin, TOKEN, zk.getConnectString(), freePort(), a.port(), b.port(), c.port(),
                    freePort(), freeUdpPort(), dns.getLocalPort());
            ConfigResult r = ConfigLoader.parse(yaml, "dashboard.yaml");
            assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
            try (Node node = Node.start(new Node.Options("edge-1",
                    ((ConfigResult.Valid) r).config(), () -> r, "dashboard.yaml", Optional.empty()));
                 Chromium chrome = Chromium.start(binary.get(), 1400, 900)) {
                await().atMost(Duration.ofSeconds(10)).until(() -> node.control().view().vip("web").orElseThrow()
                        .backends().stream().allMatch(x -> x.state().equals("up")));
                int web = node.listenAddress("web").orElseThrow().getPort();
                for (int i = 0; i < 6; i++) {
                    echo(web); // some traffic for the counters
                }
                // A reload through the API, as an operator would: it shows in the reload history.
                try (var http = java.net.http.HttpClient.newHttpClient()) {
                    var res = http.send(java.net.http.HttpRequest.newBuilder(
                                    java.net.URI.create("http://127.0.0.1:" + admin + "/api/reload"))
                            .header("Authorization", "Bearer " + TOKEN)
                            .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                            java.net.http.HttpResponse.BodyHandlers.ofString());
                    assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
                }

                chrome.navigate("http://127.0.0.1:" + admin + "/");
                // The API wants the token: the page asks, keeps it for the tab and uses it.
                await().atMost(Duration.ofSeconds(10)).until(() ->
                        !chrome.evaluate("document.getElementById('token-form').hidden").asBoolean());
                chrome.click("#token-input");
                chrome.type(TOKEN);
                chrome.click("#token-submit");

                // Every VIP and backend, with its state word.
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    assertThat(text(chrome, "[data-vip=\"web\"] h3")).isEqualTo("web");
                    assertThat(text(chrome, "[data-vip=\"dns\"] h3")).isEqualTo("dns");
                    for (TestBackend x : new TestBackend[] {a, b, c}) {
                        assertThat(state(chrome, "web", x.port())).isEqualTo("up");
                    }
                    assertThat(state(chrome, "dns", dns.getLocalPort())).isEqualTo("unchecked");
                    // The discovered backend, with where it came from, and its source.
                    assertThat(state(chrome, "orders", orders.port())).isEqualTo("unchecked");
                    assertThat(text(chrome, "[data-vip=\"orders\"] tr[data-backend=\"127.0.0.1:" + orders.port()
                            + "\"]")).contains("zookeeper:/services/orders/");
                    assertThat(text(chrome, "[data-source=\"zookeeper\"]")).contains("connected").contains("fresh");
                });
                assertThat(chrome.evaluate("sessionStorage.getItem('tandem.token')").asText()).isEqualTo(TOKEN);
                assertThat(text(chrome, "#node-name")).isEqualTo("edge-1");

                // A backend dies: its check fails, the node marks it down, the page follows.
                a.close();
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                        .until(() -> state(node, "web", a.port()).equals("down"));
                long nodeKnew = System.nanoTime();
                await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                        .until(() -> state(chrome, "web", a.port()).equals("down"));
                long pageMs = (System.nanoTime() - nodeKnew) / 1_000_000;
                System.out.println("dashboard: backend down on the page " + pageMs + " ms after the node knew it");
                // Polling every second: a second plus a request; generous for a shared machine.
                assertThat(pageMs).as("page shows the backend down after the node knew it (ms)").isLessThan(2_500);

                // Drain another backend with a real click on its button.
                chrome.click("button[data-action=\"drain\"][data-vip=\"web\"][data-backend=\"127.0.0.1:" + b.port() + "\"]");
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    assertThat(node.control().view().vip("web").orElseThrow().backends().stream()
                            .filter(x -> x.address().equals("127.0.0.1:" + b.port())).findFirst().orElseThrow().flags())
                            .contains(HealthFlag.DRAINING);
                    assertThat(state(chrome, "web", b.port())).isEqualTo("draining");
                });
                // Set a weight with a real click: the page asks (the prompt answered here) and the node applies it.
                chrome.evaluate("window.prompt = () => '5'");
                chrome.click("button[data-action=\"weight\"][data-vip=\"web\"][data-backend=\"127.0.0.1:" + c.port() + "\"]");
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    assertThat(node.control().view().vip("web").orElseThrow().backends().stream()
                            .filter(x -> x.address().equals("127.0.0.1:" + c.port())).findFirst().orElseThrow().weight())
                            .isEqualTo(5);
                    assertThat(text(chrome, "[data-vip=\"web\"] tr[data-backend=\"127.0.0.1:" + c.port() + "\"]"))
                            .contains("5*");
                });
                await().atMost(Duration.ofSeconds(10)).until(() -> text(chrome, "#health-events").contains("DRAINING")
                        && text(chrome, "#reloads").contains("api"));
                chrome.evaluate("document.getElementById('config-details').open = true");
                await().atMost(Duration.ofSeconds(10)).until(() -> text(chrome, "#config").contains("\"token\": \"***\""));
                assertThat(text(chrome, "#config")).doesNotContain(TOKEN);
                chrome.evaluate("document.getElementById('config-details').open = false");
                Path png = Path.of("target", "dashboard.png");
                chrome.screenshot(png);
                assertThat(png).isNotEmptyFile();
                assertThat(chrome.console()).as("console errors and exceptions")
                        .noneMatch(l -> l.startsWith("error") || l.startsWith("exception"));
            }
        }
    }

    private static String text(Chromium chrome, String css) throws Exception {
        return chrome.evaluate("(document.querySelector(" + quote(css) + ") || {}).textContent || ''").asText();
    }

    private static String state(Chromium chrome, String vip, int port) throws Exception {
        return text(chrome, "[data-vip=\"" + vip + "\"] tr[data-backend=\"127.0.0.1:" + port + "\"] [data-state]");
    }

    private static String state(Node node, String vip, int port) {
        return node.control().view().vip(vip).orElseThrow().backends().stream()
                .filter(x -> x.address().equals("127.0.0.1:" + port)).map(NodeView.BackendView::state).findFirst()
                .orElse("?");
    }

    private static String quote(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    private static void echo(int port) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(5_000);
            s.getOutputStream().write("hello dashboard\n".getBytes());
            s.getInputStream().readNBytes(16);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
