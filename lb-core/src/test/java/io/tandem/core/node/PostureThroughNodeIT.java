package io.tandem.core.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.TandemConfig;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.core.cli.TandemMain;
import io.tandem.core.control.PostureReport;
import io.tandem.discovery.marathon.testing.FakeMarathon;
import io.tandem.discovery.marathon.testing.MarathonPayloads;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
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
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * The posture report through a real node: {@code GET /api/posture}, the metrics, {@code tandem
 * doctor} and {@code tandem status} against the node's admin API, the WARN logged once per change,
 * and a reload that spreads a VIP's backends clearing its findings.
 */
class PostureThroughNodeIT {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<AutoCloseable> closeables = new java.util.concurrent.CopyOnWriteArrayList<>();

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

    /** A TCP backend on {@code host} that keeps each connection until its peer closes (checks watch them). */
    private int backend(String host) throws IOException {
        ServerSocket s = new ServerSocket();
        s.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        closeables.add(s);
        Thread.ofPlatform().daemon(true).start(() -> {
            while (!s.isClosed()) {
                try {
                    Socket c = s.accept();
                    closeables.add(c);
                    Thread.ofVirtual().start(() -> {
                        try (c) {
                            while (c.getInputStream().read() >= 0) {
                                // hold it open
                            }
                        } catch (IOException e) {
                            // gone
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        return s.getLocalPort();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String get(int admin, String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return r.body();
    }

    private record Cli(int exit, String out, String err) {
    }

    private static Cli cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = TandemMain.newCommandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Cli(exit, out.toString(), err.toString());
    }

    @Test
    void findingsReachTheApiMetricsDoctorStatusAndLogAndClearWhenAReloadSpreadsTheVip() throws Exception {
        var logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(
                io.tandem.core.control.PostureReport.class.getPackageName() + ".PostureWatch");
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        ch.qos.logback.classic.Level level = logger.getLevel();
        logger.setLevel(ch.qos.logback.classic.Level.INFO);
        logger.addAppender(logs);
        closeables.add(() -> {
            logger.detachAppender(logs);
            logger.setLevel(level);
        });

        int a = backend("127.0.0.1");
        int b = backend("127.0.0.1");
        int c = backend("127.0.0.2");
        int admin = freePort();
        String template = """
                admin: {listen: 127.0.0.1:%d}
                vips:
                  - name: orders
                    listen: 127.0.0.1:%d
                    health_check: {type: tcp, interval: 100ms, timeout: 500ms, rise: 1, fall: 3}
                    backends: [%s]
                  - name: dns
                    listen: 127.0.0.1:%d
                    backends: [{address: 127.0.0.1:%d}]
                """;
        int ordersPort = freePort();
        int dnsPort = freePort();
        String oneZone = "{address: 127.0.0.1:" + a + ", zone: zone-a}, {address: 127.0.0.1:" + b + ", zone: zone-a}";
        String spread = "{address: 127.0.0.1:" + a + ", zone: zone-a}, {address: 127.0.0.2:" + c + ", zone: zone-b}";
        AtomicReference<String> yaml = new AtomicReference<>(template.formatted(admin, ordersPort, oneZone, dnsPort, a));
        ConfigResult first = ConfigLoader.parse(yaml.get(), "posture.yaml");
        assertThat(first).as("%s", first).isInstanceOf(ConfigResult.Valid.class);
        TandemConfig cfg = ((ConfigResult.Valid) first).config();
        Node n = Node.start(new Node.Options("posture", cfg, () -> ConfigLoader.parse(yaml.get(), "posture.yaml"),
                "posture.yaml", Optional.empty()));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        await().atMost(Duration.ofSeconds(15)).until(() -> n.control().view().vip("orders").orElseThrow().eligible() == 2);

        // GET /api/posture
        String json = get(admin, "/api/posture");
        assertThat(json).contains("\"code\":\"node-not-ha\"", "\"code\":\"one-zone\"", "\"code\":\"one-host\"",
                "\"code\":\"one-backend\"", "\"code\":\"no-active-check\"", "\"todo\":");
        assertThat(json).doesNotContain("\"code\":\"no-eligible-backend\"");

        // The metrics: every code present, at 0 when absent, with HELP.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            String metrics = get(admin, "/metrics");
            assertThat(metrics).contains("# HELP tandem_vip_posture_findings ",
                    "tandem_vip_posture_findings{code=\"one-zone\",vip=\"orders\"} 1.0",
                    "tandem_vip_posture_findings{code=\"app-not-spread\",vip=\"orders\"} 0.0",
                    "tandem_vip_posture_findings{code=\"no-active-check\",vip=\"dns\"} 1.0",
                    "tandem_vip_backend_zones{vip=\"orders\"} 1.0",
                    "tandem_vip_backend_hosts{vip=\"orders\"} 1.0",
                    "tandem_posture_findings{code=\"node-not-ha\"} 1.0",
                    "tandem_posture_findings{code=\"ha-one-zone\"} 0.0");
        });

        // tandem doctor: readable text, exit 1 while there is a WARN; --json parses back.
        Cli doctor = cli("doctor", "--admin", "127.0.0.1:" + admin);
        assertThat(doctor.exit()).as(doctor.err()).isEqualTo(1);
        assertThat(doctor.out()).contains("WARN one-zone  vip orders", "all 2 eligible backends are in zone zone-a",
                "what to do: run instances in a second zone", "WARN node-not-ha", "VIP ", "orders ");
        Cli doctorJson = cli("doctor", "--json", "--admin", "127.0.0.1:" + admin);
        assertThat(doctorJson.exit()).isEqualTo(1);
        assertThat(doctorJson.out()).contains("\"code\" : \"one-zone\"");

        // tandem status ends with the posture.
        Cli status = cli("status", "--admin", "127.0.0.1:" + admin);
        assertThat(status.exit()).as(status.err()).isZero();
        assertThat(status.out()).contains("posture: ", "WARN one-zone  vip orders");

        // Logged once at WARN, not at every recomputation.
        await().atMost(Duration.ofSeconds(5)).until(() -> logs.list.stream()
                .anyMatch(e -> e.getFormattedMessage().contains("code=one-zone")));
        n.control().view(); // more inputs: the loop recomputes, nothing new to log
        get(admin, "/api/posture");
        await().pollDelay(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(logs.list.stream().filter(e -> e.getFormattedMessage().contains("code=one-zone")))
                        .singleElement().satisfies(e -> assertThat(e.getLevel().toString()).isEqualTo("WARN")));

        // A reload spreads orders over two zones and hosts: its findings clear (logged once, INFO).
        yaml.set(template.formatted(admin, ordersPort, spread, dnsPort, a));
        assertThat(n.control().reload().get().applied()).isTrue();
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            String after = get(admin, "/api/posture");
            assertThat(after).doesNotContain("\"code\":\"one-zone\"").doesNotContain("\"code\":\"one-host\"");
            assertThat(get(admin, "/metrics"))
                    .contains("tandem_vip_posture_findings{code=\"one-zone\",vip=\"orders\"} 0.0",
                            "tandem_vip_backend_zones{vip=\"orders\"} 2.0");
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> logs.list.stream().anyMatch(e ->
                e.getFormattedMessage().startsWith("posture finding cleared code=one-zone")));
        Cli later = cli("doctor", "--admin", "127.0.0.1:" + admin);
        assertThat(later.out()).doesNotContain("one-zone").contains("WARN node-not-ha");
    }

    @Test
    void aMarathonAppWhoseConstraintsDoNotSpreadItIsReportedAndOneThatHasHostnameUniqueIsNot() throws Exception {
        FakeMarathon marathon = FakeMarathon.leader();
        closeables.add(marathon);
        int a = backend("127.0.0.1");
        int b = backend("127.0.0.2");
        String bare = MarathonPayloads.hostApp("/bare", "[" + MarathonPayloads.portDef(10001, "tcp", "{}") + "]");
        ObjectNode spread = (ObjectNode) new ObjectMapper().readTree(
                MarathonPayloads.hostApp("/spread", "[" + MarathonPayloads.portDef(10002, "tcp", "{}") + "]"));
        spread.set("constraints", new ObjectMapper().readTree("[[\"hostname\", \"UNIQUE\"]]"));
        marathon.putApp(bare);
        marathon.putApp(spread.toString());
        for (String app : new String[] {"/bare", "/spread"}) {
            marathon.putTask(app, MarathonPayloads.task(app, app.substring(1) + ".t1", "TASK_RUNNING", "127.0.0.1", a));
            marathon.putTask(app, MarathonPayloads.task(app, app.substring(1) + ".t2", "TASK_RUNNING", "127.0.0.2", b));
        }
        String yaml = """
                admin: {enabled: false}
                discovery:
                  marathon:
                    urls: [%s]
                vips:
                  - name: bare
                    listen: 127.0.0.1:%d
                    service: "/bare#0"
                    health_check: {type: tcp, interval: 200ms, timeout: 500ms, rise: 1, fall: 3}
                  - name: spread
                    listen: 127.0.0.1:%d
                    service: "/spread#0"
                    health_check: {type: tcp, interval: 200ms, timeout: 500ms, rise: 1, fall: 3}
                """.formatted(marathon.baseUri(), freePort(), freePort());
        ConfigResult r = ConfigLoader.parse(yaml, "posture.yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        Node n = Node.start(new Node.Options("posture", ((ConfigResult.Valid) r).config(), () -> r, "posture.yaml",
                Optional.empty()));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        await().atMost(Duration.ofSeconds(15)).until(() -> n.control().view().vip("bare").orElseThrow().eligible() == 2
                && n.control().view().vip("spread").orElseThrow().eligible() == 2);

        PostureReport report = n.control().posture();
        assertThat(report.findings()).filteredOn(f -> f.code().equals("app-not-spread"))
                .singleElement().satisfies(f -> {
                    assertThat(f.subject()).isEqualTo("marathon app /bare");
                    assertThat(f.vip()).isEqualTo("bare");
                    assertThat(f.detail()).contains("no constraints");
                    assertThat(f.severity()).isEqualTo(PostureReport.Severity.WARN);
                });
        assertThat(report.findings()).filteredOn(f -> "spread".equals(f.vip())).as("two hosts, checked, spread app")
                .extracting(PostureReport.Finding::code).containsOnly("zones-unknown");
    }
}
