package io.tandem.core.metrics;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.node.Node;
import io.tandem.core.testing.TestBackend;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code docs/monitoring}: the alert rules pass {@code promtool check rules} and their own
 * {@code promtool test rules} cases, the Grafana dashboard is valid JSON with its data source as
 * a variable, and every metric a rule or a dashboard query names is exposed by a real running
 * node (TCP VIP with active checks, UDP VIP, ZooKeeper discovery, after a backend failed, a panic
 * and a reload) — except the few such a node cannot produce, each listed here with the reason and
 * found in the sources instead. Every family of that scrape has a HELP text.
 */
class MonitoringIT {
    private static final Path DIR = MetricsDocumentedTest.ROOT.resolve("docs/monitoring");
    private static final Path RULES = DIR.resolve("tandem-alerts.yml");
    private static final Path RULE_TESTS = DIR.resolve("tandem-alerts.test.yml");
    private static final Path DASHBOARD = DIR.resolve("grafana-dashboard.json");
    private static final Pattern METRIC = Pattern.compile("\\b((?:tandem|jvm|process|system)_[a-z0-9_]+)\\b");

    /** Metrics a single node in this test cannot expose, and why; each is checked against the source scan. */
    private static final Map<String, String> NOT_ON_THIS_NODE = Map.of(
            "tandem_ha_", "HA series need a pair of nodes holding ZooKeeper leases (HaWiring registers them; the "
                    + "system tests in tests/ run the pair)",
            "tandem_local_errors_total", "appears at the node's first EMFILE-like error (FdExhaustionIT provokes one)");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @Test
    void theRulesPassPromtoolCheckAndTheirOwnTests() throws Exception {
        Optional<Path> promtool = onPath("promtool");
        Assumptions.assumeTrue(promtool.isPresent(),
                "promtool not found: install Debian's prometheus package to check the alert rules");
        assertThat(run(DIR, promtool.get().toString(), "check", "rules", RULES.getFileName().toString()))
                .contains("SUCCESS");
        assertThat(run(DIR, promtool.get().toString(), "test", "rules", RULE_TESTS.getFileName().toString()))
                .contains("SUCCESS");
    }

    @Test
    void theDashboardIsImportableJsonWithItsDataSourceAsAVariable() throws IOException {
        JsonNode d = JSON.readTree(DASHBOARD.toFile());
        assertThat(d.path("title").asText()).isEqualTo("Tandem");
        List<JsonNode> vars = new ArrayList<>();
        d.path("templating").path("list").forEach(vars::add);
        assertThat(vars).anySatisfy(v -> {
            assertThat(v.path("type").asText()).isEqualTo("datasource");
            assertThat(v.path("query").asText()).isEqualTo("prometheus");
            assertThat(v.path("name").asText()).isEqualTo("datasource");
        });
        List<JsonNode> panels = new ArrayList<>();
        d.path("panels").forEach(p -> {
            if (!p.path("type").asText().equals("row")) {
                panels.add(p);
            }
        });
        assertThat(panels).hasSizeGreaterThan(20).allSatisfy(p -> {
            assertThat(p.path("datasource").path("uid").asText()).as(p.path("title").asText())
                    .isEqualTo("${datasource}");
            assertThat(p.path("targets")).isNotEmpty();
        });
        assertThat(d.toString()).doesNotContain("DS_PROMETHEUS").as("no data source bound to one Grafana");
    }

    @Test
    void everyMetricTheRulesAndTheDashboardNameIsExposedByARunningNode() throws Exception {
        Map<String, String> named = namedMetrics();
        assertThat(named.keySet()).contains("tandem_vip_backends_eligible", "tandem_vip_panic",
                "tandem_discovery_stale", "tandem_config_last_reload_successful", "tandem_ha_address_served",
                "tandem_local_errors_total", "tandem_health_detection_seconds_bucket");

        try (TestingServer zk = new TestingServer(true);
             TestBackend a = TestBackend.start(TestBackend.Mode.ECHO);
             TestBackend b = TestBackend.start(TestBackend.Mode.ECHO);
             TestBackend orders = TestBackend.start(TestBackend.Mode.ECHO);
             DatagramSocket dnsBackend = new DatagramSocket(0, InetAddress.getLoopbackAddress());
             CuratorFramework client = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100));
             HttpClient http = HttpClient.newHttpClient()) {
            client.start();
            client.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL)
                    .forPath("/services/orders/127.0.0.1:" + orders.port());
            // A malformed entry: the source drops it (tandem_discovery_dropped_total appears).
            client.create().withMode(CreateMode.EPHEMERAL).forPath("/services/orders/not-an-address");
            int admin = freePort();
            int dead = freePort();
            String yaml = """
                    runtime: {event_loops: 1}
                    admin: {listen: 127.0.0.1:%d, token: "monitoring-test-token"}
                    discovery:
                      zookeeper: {connect: "%s", base_path: /services, layout: plain, removal_debounce: 200ms}
                    vips:
                      - name: web
                        listen: 127.0.0.1:%d
                        health_check: {type: tcp, interval: 100ms, timeout: 100ms, fall: 1, rise: 1}
                        backends: [127.0.0.1:%d, 127.0.0.1:%d]
                      - name: gone
                        listen: 127.0.0.1:%d
                        health_check: {type: tcp, interval: 100ms, timeout: 100ms, fall: 1, rise: 1}
                        backends: [127.0.0.1:%d, 127.0.0.1:%d]
                      - name: orders
                        listen: 127.0.0.1:%d
                        service: orders
                      - name: dns
                        listen: 127.0.0.1:%d
                        protocol: udp
                        backends: [127.0.0.1:%d]
                    """.formatted(admin, zk.getConnectString(), freePort(), a.port(), b.port(), dead, freePort(),
                    freePort(), freePort(), freeUdpPort(), dnsBackend.getLocalPort());
            ConfigResult r = ConfigLoader.parse(yaml, "monitoring.yaml");
            assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
            try (Node node = Node.start(new Node.Options("monitoring", ((ConfigResult.Valid) r).config(), () -> r,
                    "monitoring.yaml", Optional.empty()))) {
                // A reload through the API (the reload gauges), a backend dying (transitions,
                // detection time), and traffic to a VIP whose backends are all dead (panic,
                // passive signals, refused connections).
                assertThat(send(http, admin, "POST", "/api/reload").statusCode()).isEqualTo(200);
                a.close();
                int gone = node.listenAddress("gone").orElseThrow().getPort();
                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                    try (Socket s = new Socket("127.0.0.1", gone)) {
                        s.setSoTimeout(2_000);
                        s.getOutputStream().write('x');
                        s.getInputStream().read();
                    } catch (IOException expected) {
                        // refused or reset: no backend to give us
                    }
                    assertThat(scrape(http, admin)).contains("tandem_health_detection_seconds_bucket",
                            "tandem_passive_signals_total", "tandem_vip_panic_entered_total",
                            "tandem_discovery_connected{source=\"zookeeper\"} 1.0",
                            "tandem_discovery_endpoints{source=\"zookeeper\"} 1.0",
                            "tandem_discovery_dropped_total{reason=",
                            "tandem_config_last_reload_successful 1.0");
                });
                String body = scrape(http, admin);
                Set<String> families = PrometheusTextTest.names(body);
                Set<String> scanned = new TreeSet<>();
                MetricsDocumentedTest.namesInSources().forEach(n -> scanned.add(n.replace('.', '_')));

                List<String> missing = new ArrayList<>();
                for (var e : named.entrySet()) {
                    String name = e.getKey();
                    if (exposed(name, families)) {
                        continue;
                    }
                    String excused = NOT_ON_THIS_NODE.keySet().stream().filter(name::startsWith).findFirst().orElse(null);
                    if (excused == null) {
                        missing.add(name + " (named in " + e.getValue() + ")");
                    } else {
                        assertThat(inSources(name, scanned)).as(name + " is registered somewhere in the sources ("
                                + NOT_ON_THIS_NODE.get(excused) + ")").isTrue();
                    }
                }
                assertThat(missing).as("metrics named by docs/monitoring that a running node does not expose")
                        .isEmpty();
                assertThat(MetricHelpTest.emptyHelp(body)).as("families without HELP text").isEmpty();
            }
        }
    }

    /** Metric names in the rules' and the dashboard's queries → where they were found. */
    static Map<String, String> namedMetrics() throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (JsonNode group : YAML.readTree(RULES.toFile()).path("groups")) {
            for (JsonNode rule : group.path("rules")) {
                names(rule.path("expr").asText(), RULES.getFileName() + " " + rule.path("alert").asText(), out);
            }
        }
        List<String> queries = new ArrayList<>();
        collect(JSON.readTree(DASHBOARD.toFile()), queries);
        queries.forEach(q -> names(q, DASHBOARD.getFileName().toString(), out));
        return out;
    }

    private static void collect(JsonNode n, List<String> out) {
        if (n.isObject()) {
            n.fields().forEachRemaining(f -> {
                if ((f.getKey().equals("expr") || f.getKey().equals("query") || f.getKey().equals("definition"))
                        && f.getValue().isTextual()) {
                    out.add(f.getValue().asText());
                } else {
                    collect(f.getValue(), out);
                }
            });
        } else if (n.isArray()) {
            n.forEach(x -> collect(x, out));
        }
    }

    private static void names(String expr, String where, Map<String, String> out) {
        Matcher m = METRIC.matcher(expr);
        while (m.find()) {
            out.putIfAbsent(m.group(1), where);
        }
    }

    /** A family of the scrape, or a histogram's bucket/count/sum series. */
    private static boolean exposed(String name, Set<String> families) {
        if (families.contains(name)) {
            return true;
        }
        for (String suffix : List.of("_bucket", "_count", "_sum")) {
            if (name.endsWith(suffix) && families.contains(name.substring(0, name.length() - suffix.length()))) {
                return true;
            }
        }
        return false;
    }

    private static boolean inSources(String name, Set<String> scanned) {
        return Arrays.stream(new String[] {"", "_total", "_seconds", "_bytes"})
                .anyMatch(s -> name.endsWith(s) && scanned.contains(name.substring(0, name.length() - s.length())));
    }

    private static String scrape(HttpClient http, int admin) throws IOException, InterruptedException {
        return send(http, admin, "GET", "/metrics").body();
    }

    private static HttpResponse<String> send(HttpClient http, int admin, String method, String path)
            throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + path))
                .header("Authorization", "Bearer monitoring-test-token")
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String run(Path dir, String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ":\n" + out).isZero();
        return out;
    }

    private static Optional<Path> onPath(String name) {
        for (String dir : Optional.ofNullable(System.getenv("PATH")).orElse("/usr/bin:/bin").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /** Ports handed out by {@link #freePort}: the kernel may give a just-closed ephemeral port again. */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** A free TCP port not handed out before in this run (the admin API and a VIP once got the same one). */
    private static int freePort() throws IOException {
        for (;;) {
            try (ServerSocket s = new ServerSocket(0)) {
                if (HANDED_OUT.add(s.getLocalPort())) {
                    return s.getLocalPort();
                }
            }
        }
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
