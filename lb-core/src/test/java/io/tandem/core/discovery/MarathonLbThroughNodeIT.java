package io.tandem.core.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.NodeView;
import io.tandem.core.node.Node;
import io.tandem.discovery.marathon.testing.FakeMarathon;
import io.tandem.discovery.marathon.testing.MarathonPayloads;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.naming.directory.InitialDirContext;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replacing Marathon-LB and the DC/OS L4 balancer, through real nodes on real sockets: an app
 * labelled for Marathon-LB is served on its service port by a node of its group and not by a node
 * of another; its Marathon HTTP health check becomes a Tandem check that ejects a failing task;
 * {@code dig} and the JDK resolver get a named VIP's address from both nodes of a pair; a node
 * started with Marathon and ZooKeeper down serves the backends it saved, and says they are stale;
 * {@code /metrics} carries the discovery series.
 */
class MarathonLbThroughNodeIT {
    private static final String SUFFIX = "marathon.l4lb.thisdcos.directory";
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @TempDir
    Path state;

    @AfterEach
    void cleanup() {
        for (AutoCloseable c : closeables.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                // keep closing the rest
            }
        }
    }

    private <T extends AutoCloseable> T keep(T c) {
        closeables.add(c);
        return c;
    }

    private Node node(String name, String yaml) throws Exception {
        ConfigResult r = ConfigLoader.parse(yaml, name + ".yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        TandemConfig cfg = ((ConfigResult.Valid) r).config();
        Node n = Node.start(new Node.Options(name, cfg, () -> r, "test", Optional.empty()));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        return n;
    }

    private static Optional<NodeView.VipView> vip(Node n, String name) {
        return n.control().view().vip(name);
    }

    private static String shopApp(int servicePort, String checks) {
        return MarathonPayloads.labelledHostApp("/shop", "{\"HAPROXY_GROUP\":\"external\",\"HAPROXY_0_VHOST\":"
                + "\"shop.example.com\"}", checks, "[" + MarathonPayloads.portDef(servicePort, "tcp", "{}") + "]");
    }

    @Test
    void anAppForMarathonLbIsServedOnItsServicePortByANodeOfItsGroupOnly() throws Exception {
        FakeMarathon marathon = keep(FakeMarathon.leader());
        Backend a = keep(new Backend("a", 200));
        int servicePort = freePort();
        marathon.putApp(shopApp(servicePort, "[]"));
        marathon.putTask("/shop", MarathonPayloads.task("/shop", "shop.t1", "TASK_RUNNING", "127.0.0.1", a.port()));
        int admin = freePort();
        Node external = node("external", """
                admin: {listen: 127.0.0.1:%d}
                discovery:
                  marathon: {urls: [%s], groups: [external], bind_address: 127.0.0.2}
                vips: []
                """.formatted(admin, marathon.baseUri()));
        Node internal = node("internal", """
                admin: {enabled: false}
                discovery:
                  marathon: {urls: [%s], groups: [internal], bind_address: 127.0.0.3}
                vips: []
                """.formatted(marathon.baseUri()));
        String declared = "marathon-lb-shop-" + servicePort + "-tcp";

        await().atMost(Duration.ofSeconds(15)).until(() -> vip(external, declared)
                .map(NodeView.VipView::eligible).orElse(0) == 1);
        assertThat(vip(external, declared).orElseThrow().listen()).isEqualTo("127.0.0.2:" + servicePort);
        assertThat(ask("127.0.0.2", servicePort)).isEqualTo("a");
        // the other group's node knows the app (it reads every app) but declares nothing for it
        await().atMost(Duration.ofSeconds(15)).until(() -> internal.control().view().sources().getFirst().endpoints() > 0);
        assertThat(internal.control().view().vips()).isEmpty();
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> ask("127.0.0.3", servicePort)))
                .isInstanceOf(ConnectException.class);

        // the label without L4 meaning is reported for the app, in the source view and the JSON API
        NodeView.SourceView source = external.control().view().sources().getFirst();
        assertThat(source.notes()).containsKey("/shop");
        assertThat(source.notes().get("/shop")).anySatisfy(n -> assertThat(n).startsWith("HAPROXY_0_VHOST: not applicable"));
        try (HttpClient http = HttpClient.newHttpClient()) {
            String node = get(http, admin, "/api/node");
            assertThat(node).contains("HAPROXY_0_VHOST: not applicable at L4", "\"resyncs\":1");
            String metrics = get(http, admin, "/metrics");
            assertThat(metrics).contains("tandem_discovery_connected{source=\"marathon\"} 1",
                    "tandem_discovery_stale{source=\"marathon\"} 0", "tandem_discovery_resyncs_total{source=\"marathon\"} 1",
                    "tandem_discovery_endpoints{source=\"marathon\"}");
        }
    }

    @Test
    void theAppsMarathonHttpHealthCheckEjectsAFailingTask() throws Exception {
        FakeMarathon marathon = keep(FakeMarathon.leader());
        Backend good = keep(new Backend("g", 200));
        Backend bad = keep(new Backend("b", 500));
        int servicePort = freePort();
        marathon.putApp(shopApp(servicePort, "[" + MarathonPayloads.healthCheck("HTTP", 0, "/health", 1, 1, 1) + "]"));
        marathon.putTask("/shop", MarathonPayloads.task("/shop", "shop.g", "TASK_RUNNING", "127.0.0.1", good.port()));
        marathon.putTask("/shop", MarathonPayloads.task("/shop", "shop.b", "TASK_RUNNING", "127.0.0.1", bad.port()));
        Node n = node("checks", """
                admin: {enabled: false}
                discovery:
                  marathon: {urls: [%s], groups: [external], bind_address: 127.0.0.2}
                vips: []
                """.formatted(marathon.baseUri()));
        String declared = "marathon-lb-shop-" + servicePort + "-tcp";
        await().atMost(Duration.ofSeconds(20)).until(() -> vip(n, declared).map(v -> v.backends().size() == 2
                && v.backends().stream().anyMatch(b -> b.address().endsWith(":" + bad.port()) && b.state().equals("down"))
                && v.backends().stream().anyMatch(b -> b.address().endsWith(":" + good.port()) && b.state().equals("up")))
                .orElse(false));
        for (int i = 0; i < 10; i++) {
            assertThat(ask("127.0.0.2", servicePort)).isEqualTo("g");
        }
        assertThat(bad.healthRequests()).as("Tandem probed GET /health itself").isPositive();

        bad.status(200); // recovers: one success is healthy, as in Marathon
        await().atMost(Duration.ofSeconds(20)).until(() -> vip(n, declared).orElseThrow().eligible() == 2);
    }

    @Test
    void aNamedVipResolvesByDnsOnBothNodesOfAPairToTheSameAddress() throws Exception {
        FakeMarathon marathon = keep(FakeMarathon.leader());
        Backend a = keep(new Backend("a", 200));
        marathon.putApp(MarathonPayloads.hostApp("/orders", "[" + MarathonPayloads.portDef(10001, "tcp",
                "{\"VIP_0\":\"/orders:8080\"}") + "]"));
        marathon.putApp(MarathonPayloads.hostApp("/grp/my_app", "[" + MarathonPayloads.portDef(10002, "tcp",
                "{\"VIP_0\":\"/grp/my_app:80\"}") + "]"));
        marathon.putTask("/orders", MarathonPayloads.task("/orders", "orders.t1", "TASK_RUNNING", "127.0.0.1", a.port()));
        String yaml = """
                admin: {enabled: false}
                discovery:
                  dns: {listen: 127.0.0.1:%d}
                  marathon: {urls: [%s]}
                vips: []
                """;
        Node lb1 = node("lb1", yaml.formatted(freePort(), marathon.baseUri()));
        Node lb2 = node("lb2", yaml.formatted(freePort(), marathon.baseUri()));
        for (Node n : List.of(lb1, lb2)) {
            int port = n.namedVipDnsAddress().orElseThrow().getPort();
            await().atMost(Duration.ofSeconds(15)).until(() -> jndiA(port, "orders." + SUFFIX).equals("198.18.175.99"));
            assertThat(jndiA(port, "grpmy-app." + SUFFIX)).as("nested group, made DNS-safe as DC/OS does")
                    .isEqualTo(n.control().view().namedVips().get("/grp/my_app:80/tcp").replace(":80", ""));
            if (hasDig()) {
                assertThat(dig(port, "+short", "orders." + SUFFIX)).isEqualTo("198.18.175.99");
                assertThat(dig(port, "+short", "+tcp", "_orders._tcp." + SUFFIX, "SRV"))
                        .isEqualTo("0 1 8080 orders." + SUFFIX + ".");
                assertThat(dig(port, "nope." + SUFFIX)).contains("status: NXDOMAIN");
            }
        }
        assertThat(lb1.control().view().namedVips()).isEqualTo(lb2.control().view().namedVips());
        assumeTrue(hasDig(), "dig is not installed (Debian: bind9-dnsutils; .ci/run installs it): JNDI checked only");
    }

    @Test
    void aDnsAddressThatCannotBeBoundStopsTheStartWithTheKeyAndAddress() throws Exception {
        try (java.net.DatagramSocket taken = new java.net.DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            String yaml = """
                    admin: {enabled: false}
                    discovery:
                      dns: {listen: 127.0.0.1:%d}
                      marathon: {urls: ["http://127.0.0.1:1"]}
                    vips: []
                    """.formatted(taken.getLocalPort());
            ConfigResult r = ConfigLoader.parse(yaml, "taken.yaml");
            assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> Node.start(new Node.Options("taken",
                    ((ConfigResult.Valid) r).config(), () -> r, "test", Optional.empty()))))
                    .isInstanceOf(Node.StartException.class)
                    .hasMessage("discovery.dns.listen: 127.0.0.1:" + taken.getLocalPort()
                            + " (expected a bindable address: UDP bind failed)");
        }
    }

    @Test
    void aNodeStartedWithMarathonAndZooKeeperDownServesTheSavedBackendsAndSaysTheyAreStale() throws Exception {
        TestingServer zk = keep(new TestingServer(true));
        FakeMarathon marathon = keep(FakeMarathon.leader());
        Backend a = keep(new Backend("a", 200));
        Backend z = keep(new Backend("z", 200));
        int servicePort = freePort();
        int zkVip = freePort();
        marathon.putApp(shopApp(servicePort, "[" + MarathonPayloads.healthCheck("TCP", 0, null, 1, 1, 2) + "]"));
        marathon.putTask("/shop", MarathonPayloads.task("/shop", "shop.t1", "TASK_RUNNING", "127.0.0.1", a.port()));
        CuratorFramework client = keep(CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100)));
        client.start();
        client.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL)
                .forPath("/services/orders/127.0.0.1:" + z.port());
        int admin = freePort();
        String yaml = """
                admin: {listen: 127.0.0.1:%d}
                discovery:
                  state_dir: %s
                  zookeeper: {connect: "%s", base_path: /services, layout: plain, session_timeout: 2s,
                              connection_timeout: 1s}
                  marathon: {urls: [%s], groups: [external], bind_address: 127.0.0.2}
                vips:
                  - name: orders
                    listen: 127.0.0.1:%d
                    service: orders
                """.formatted(admin, state, zk.getConnectString(), marathon.baseUri(), zkVip);
        String declared = "marathon-lb-shop-" + servicePort + "-tcp";
        Node first = node("first", yaml);
        await().atMost(Duration.ofSeconds(20)).until(() -> vip(first, "orders").map(v -> v.eligible() == 1).orElse(false)
                && vip(first, declared).map(v -> v.eligible() == 1).orElse(false));
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(state.resolve("marathon.json"))
                && Files.exists(state.resolve("zookeeper.json")));
        first.shutdown(Duration.ZERO);
        client.close();
        zk.close();
        marathon.close();

        Node second = node("second", yaml);
        await().atMost(Duration.ofSeconds(20)).until(() -> vip(second, "orders").map(v -> v.eligible() == 1).orElse(false)
                && vip(second, declared).map(v -> v.eligible() == 1).orElse(false));
        assertThat(ask("127.0.0.1", zkVip)).isEqualTo("z");
        assertThat(ask("127.0.0.2", servicePort)).isEqualTo("a");
        assertThat(second.control().view().sources()).hasSize(2).allSatisfy(s -> {
            assertThat(s.connected()).as(s.name()).isFalse();
            assertThat(s.stale()).as(s.name()).isTrue();
            assertThat(s.restored()).as(s.name()).isTrue();
            assertThat(s.staleSince()).as(s.name()).isPresent();
        });
        try (HttpClient http = HttpClient.newHttpClient()) {
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(get(http, admin, "/metrics")).contains(
                    "tandem_discovery_stale{source=\"marathon\"} 1", "tandem_discovery_stale{source=\"zookeeper\"} 1",
                    "tandem_discovery_restored{source=\"marathon\"} 1", "tandem_discovery_restored{source=\"zookeeper\"} 1",
                    "tandem_discovery_connected{source=\"zookeeper\"} 0"));
            assertThat(get(http, admin, "/api/node")).contains("\"restored\":true");
        }
    }

    /**
     * Event received → snapshot published, as {@code tandem_discovery_propagation_seconds} shows it
     * after 50 scale-ups of one app (the number the closing note quotes).
     */
    @Test
    void propagationIsMeasuredByTheDiscoveryHistogram() throws Exception {
        FakeMarathon marathon = keep(FakeMarathon.leader());
        Backend a = keep(new Backend("a", 200));
        int servicePort = freePort();
        marathon.putApp(shopApp(servicePort, "[]"));
        int admin = freePort();
        Node n = node("propagation", """
                admin: {listen: 127.0.0.1:%d}
                discovery:
                  marathon: {urls: [%s], groups: [external], bind_address: 127.0.0.2}
                vips: []
                """.formatted(admin, marathon.baseUri()));
        await().atMost(Duration.ofSeconds(15)).until(() -> !n.control().view().sources().isEmpty()
                && n.control().view().sources().getFirst().connected() && !n.control().view().sources().getFirst().stale());
        int trials = 50;
        for (int i = 1; i <= trials; i++) {
            String task = MarathonPayloads.task("/shop", "shop." + i, "TASK_RUNNING", "127.0.0." + (10 + i), a.port());
            marathon.putTask("/shop", task);
            marathon.emit("status_update_event", MarathonPayloads.statusUpdate("/shop", "shop." + i, "TASK_RUNNING",
                    "127.0.0." + (10 + i), a.port()));
            int want = i;
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(2)).until(() ->
                    n.control().view().sources().getFirst().endpoints() >= want * 2);
        }
        try (HttpClient http = HttpClient.newHttpClient()) {
            String metrics = get(http, admin, "/metrics");
            double count = value(metrics, "tandem_discovery_propagation_seconds_count{source=\"marathon\"}");
            double sum = value(metrics, "tandem_discovery_propagation_seconds_sum{source=\"marathon\"}");
            assertThat(count).isGreaterThanOrEqualTo(trials);
            StringBuilder buckets = new StringBuilder();
            Matcher m = Pattern.compile("tandem_discovery_propagation_seconds_bucket\\{(?=[^}]*source=\"marathon\")"
                    + "[^}]*le=\"([^\"]+)\"[^}]*} (\\S+)").matcher(metrics);
            while (m.find()) {
                buckets.append(" le=").append(m.group(1)).append(':').append((long) Double.parseDouble(m.group(2)));
            }
            System.out.printf("discovery-propagation source=marathon samples=%d mean_ms=%.2f buckets:%s%n", (long) count,
                    sum / count * 1000, buckets);
            assertThat(sum / count).as("mean propagation, generous on a shared machine").isLessThan(1.0);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static double value(String metrics, String series) {
        for (String line : metrics.lines().toList()) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        throw new AssertionError(series + " not in /metrics");
    }

    private static String get(HttpClient http, int admin, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + path)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static String jndiA(int port, String name) {
        Hashtable<String, String> env = new Hashtable<>();
        env.put("java.naming.factory.initial", "com.sun.jndi.dns.DnsContextFactory");
        env.put("java.naming.provider.url", "dns://127.0.0.1:" + port);
        try {
            InitialDirContext ctx = new InitialDirContext(env);
            try {
                return (String) ctx.getAttributes(name, new String[] {"A"}).get("A").get();
            } finally {
                ctx.close();
            }
        } catch (Exception e) {
            return "";
        }
    }

    private static boolean hasDig() {
        try {
            Process p = new ProcessBuilder("dig", "-v").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static String dig(int port, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("dig", "@127.0.0.1", "-p", Integer.toString(port), "+time=2",
                "+tries=1"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Sends a newline, reads the backend's one-letter name. */
    private static String ask(String host, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write('\n');
            int c = s.getInputStream().read();
            if (c < 0) {
                throw new IOException("connection closed");
            }
            return String.valueOf((char) c);
        }
    }

    /**
     * A task: answers each newline with its one-letter name, and an HTTP request ({@code GET /health})
     * with the configured status — the traffic port and the health port are one, as with
     * {@code portIndex: 0}.
     */
    static final class Backend implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        private volatile int status;
        private final java.util.concurrent.atomic.AtomicInteger health = new java.util.concurrent.atomic.AtomicInteger();

        Backend(String name, int status) throws IOException {
            this.status = status;
            byte[] reply = name.getBytes(StandardCharsets.US_ASCII);
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread.ofVirtual().start(() -> serve(s, reply));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        private void serve(Socket s, byte[] reply) {
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("GET ")) {
                        health.incrementAndGet();
                        while ((line = r.readLine()) != null && !line.isEmpty()) {
                            // headers
                        }
                        out.write(("HTTP/1.1 " + status + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        return;
                    }
                    out.write(reply);
                    out.flush();
                }
            } catch (IOException e) {
                // peer gone
            }
        }

        void status(int code) {
            this.status = code;
        }

        int healthRequests() {
            return health.get();
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
