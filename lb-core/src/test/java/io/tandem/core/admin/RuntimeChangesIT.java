package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.node.Node;
import io.tandem.core.testing.TestBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
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
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run-time changes on a real node over real sockets: each endpoint does what it says to live
 * traffic, refuses what is wrong with the right 4xx and a reason naming the value, keeps to the
 * token and the browser guard, and its changes live exactly as long as docs/admin-api.md says —
 * through a reload that leaves the VIP's backends alone, not through one that changes them.
 */
class RuntimeChangesIT {
    private static final String TOKEN = "runtime-changes-it-token-0123";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    @TempDir
    Path dir;
    private Path file;
    private String admin;

    private final List<Runnable> detach = new ArrayList<>();

    /** INFO lines of {@code type}'s logger from now on (tests log at WARN). */
    private List<String> capture(Class<?> type) {
        var appender = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
        appender.start();
        var logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(type);
        var level = logger.getLevel();
        logger.setLevel(ch.qos.logback.classic.Level.INFO);
        logger.addAppender(appender);
        detach.add(() -> {
            logger.detachAppender(appender);
            logger.setLevel(level);
        });
        return new java.util.AbstractList<>() {
            @Override
            public String get(int i) {
                return appender.list.get(i).getFormattedMessage();
            }

            @Override
            public int size() {
                return appender.list.size();
            }
        };
    }

    @AfterEach
    void cleanup() throws Exception {
        detach.forEach(Runnable::run);
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static int freeUdpPort() throws IOException {
        try (java.net.DatagramSocket s = new java.net.DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private TestBackend backend() throws IOException {
        TestBackend b = TestBackend.start(TestBackend.Mode.ECHO);
        closeables.add(b);
        return b;
    }

    private static String config(int adminPort, String vips) {
        return "admin: {listen: \"127.0.0.1:" + adminPort + "\", token: \"" + TOKEN + "\"}\nvips:\n" + vips;
    }

    private static String vip(String name, int port, String extra, TestBackend... backends) {
        StringBuilder b = new StringBuilder("  - name: " + name + "\n    listen: 127.0.0.1:" + port
                + "\n    policy: weighted-round-robin\n" + extra + "    backends:\n");
        for (TestBackend t : backends) {
            b.append("      - 127.0.0.1:").append(t.port()).append('\n');
        }
        return b.toString();
    }

    private Node start(String yaml) throws Exception {
        file = dir.resolve("tandem.yaml");
        Files.writeString(file, yaml);
        ConfigResult r = ConfigLoader.load(file);
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        Node n = Node.start(Node.Options.file("t", ((ConfigResult.Valid) r).config(), file, false));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        admin = "http://127.0.0.1:" + n.adminAddress().orElseThrow().getPort();
        return n;
    }

    private HttpResponse<String> send(String method, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(admin + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).timeout(Duration.ofSeconds(30));
        b.header("Authorization", "Bearer " + TOKEN);
        for (int i = 0; i < headers.length; i += 2) {
            if (headers[i].equals("Authorization")) {
                b.setHeader(headers[i], headers[i + 1]);
            } else {
                b.header(headers[i], headers[i + 1]);
            }
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> r) throws IOException {
        return JSON.readTree(r.body());
    }

    private static String error(HttpResponse<String> r) throws IOException {
        return json(r).path("error").asText();
    }

    private JsonNode backendView(String vip, String backend) throws Exception {
        HttpResponse<String> r = send("GET", "/api/vips/" + vip + "/backends/" + backend);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json(r);
    }

    /** Opens a connection through the VIP and checks it echoes; the caller closes it. */
    private Socket connect(int port, String message) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        closeables.add(s);
        s.setSoTimeout(10_000);
        OutputStream out = s.getOutputStream();
        out.write(message.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        byte[] back = in.readNBytes(message.length());
        assertThat(new String(back, StandardCharsets.US_ASCII)).isEqualTo(message);
        return s;
    }

    private void echoOnce(int port) throws IOException {
        try (Socket s = connect(port, "x")) {
            closeables.remove(s);
        }
    }

    @Test
    void weightZeroSendsNoNewConnectionsToTheBackendAndBadWeightsAre400() throws Exception {
        TestBackend a = backend();
        TestBackend b = backend();
        int web = freePort();
        start(config(freePort(), vip("web", web, "", a, b)));
        String bAddr = "127.0.0.1:" + b.port();

        HttpResponse<String> set = send("POST", "/api/vips/web/backends/" + bAddr + "/weight?value=0");
        assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
        assertThat(json(set).path("weight").asInt()).isZero();
        assertThat(json(set).path("runtime").toString()).isEqualTo("[\"weight\"]");
        int before = b.accepted();
        for (int i = 0; i < 10; i++) {
            echoOnce(web);
        }
        assertThat(b.accepted()).as("connections to the weight-0 backend").isEqualTo(before);
        assertThat(backendView("web", bAddr).path("runtime").toString()).isEqualTo("[\"weight\"]");

        assertThat(send("POST", "/api/vips/web/backends/" + bAddr + "/weight?value=257"))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(400))
                .satisfies(r -> assertThat(error(r)).isEqualTo("weight: 257 (expected 0..256)"));
        assertThat(send("POST", "/api/vips/web/backends/" + bAddr + "/weight?value=heavy"))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(400))
                .satisfies(r -> assertThat(error(r)).isEqualTo("value: \"heavy\" (expected a whole number)"));
        assertThat(send("POST", "/api/vips/web/backends/" + bAddr + "/weight"))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(400));
        assertThat(send("POST", "/api/vips/web/backends/127.0.0.1:9/weight?value=3"))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(404))
                .satisfies(r -> assertThat(error(r)).isEqualTo("VIP \"web\" has no backend 127.0.0.1:9"));
        assertThat(send("POST", "/api/vips/nope/backends/" + bAddr + "/weight?value=3").statusCode()).isEqualTo(404);
        assertThat(send("GET", "/api/vips/web/backends/" + bAddr + "/weight?value=3").statusCode()).isEqualTo(405);

        List<String> audit = capture(AdminRouter.class);
        List<String> control = capture(io.tandem.core.control.ControlLoop.class);
        HttpResponse<String> back = send("POST", "/api/vips/web/backends/" + bAddr + "/weight?value=5");
        assertThat(send("POST", "/api/vips/web/backends/" + bAddr + "/weight?value=300").statusCode()).isEqualTo(400);
        assertThat(List.copyOf(audit)).anySatisfy(l -> assertThat(l).matches(
                "admin action=set-weight vip=web backend=" + bAddr + " weight=5 remote=127\\.0\\.0\\.1:\\d+ status=200"));
        assertThat(List.copyOf(audit)).anySatisfy(l -> assertThat(l).matches(
                "admin action=set-weight vip=web backend=" + bAddr + " weight=300 remote=127\\.0\\.0\\.1:\\d+ status=400"
                        + " reason=\"weight: 300 \\(expected 0\\.\\.256\\)\""));
        assertThat(List.copyOf(control)).contains("backend weight set vip=web backend=" + bAddr
                + " weight=5 was=0 origin=runtime");
        assertThat(json(back).path("weight").asInt()).isEqualTo(5);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            echoOnce(web);
            assertThat(b.accepted()).isGreaterThan(before);
        });
    }

    @Test
    void anAddedBackendServesAndARemovedOneStopsAndEveryMistakeIsRefused() throws Exception {
        TestBackend a = backend();
        TestBackend c = backend();
        int web = freePort();
        int checked = freePort();
        start(config(freePort(), vip("web", web, "", a) + vip("checked", checked,
                "    health_check: {type: tcp, interval: 200ms, timeout: 1s, rise: 1, fall: 1}\n", a)));
        String aAddr = "127.0.0.1:" + a.port();
        String cAddr = "127.0.0.1:" + c.port();

        HttpResponse<String> added = send("POST", "/api/vips/web/backends/" + cAddr + "?weight=3&zone=z1");
        assertThat(added.statusCode()).as(added.body()).isEqualTo(201);
        assertThat(json(added).path("origin").asText()).isEqualTo("runtime");
        assertThat(json(added).path("weight").asInt()).isEqualTo(3);
        assertThat(json(added).path("zone").asText()).isEqualTo("z1");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            echoOnce(web);
            assertThat(c.accepted()).isPositive();
        });

        // A VIP with a check: the new backend waits for its first check, then serves.
        TestBackend d = backend();
        String dAddr = "127.0.0.1:" + d.port();
        HttpResponse<String> pending = send("POST", "/api/vips/checked/backends/" + dAddr);
        assertThat(pending.statusCode()).as(pending.body()).isEqualTo(201);
        assertThat(json(pending).path("recentTransitions").toString()).contains("PENDING_FIRST_CHECK");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> backendView("checked", dAddr).path("state").asText().equals("up"));

        assertThat(send("POST", "/api/vips/web/backends/" + cAddr))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(409))
                .satisfies(r -> assertThat(error(r)).isEqualTo("VIP \"web\" already has backend " + cAddr));
        assertThat(send("POST", "/api/vips/web/backends/127.0.0.1:" + web))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(400))
                .satisfies(r -> assertThat(error(r)).contains("this node's own listener vips[web].listen"));
        assertThat(send("POST", "/api/vips/web/backends/nowhere"))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(400))
                .satisfies(r -> assertThat(error(r)).startsWith("backend: "));
        assertThat(send("POST", "/api/vips/web/backends/127.0.0.1:7?weight=999"))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(400))
                .satisfies(r -> assertThat(error(r)).isEqualTo("weight: 999 (expected 0..256)"));
        assertThat(send("POST", "/api/vips/web/backends/127.0.0.1:7?colour=red"))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(400))
                .satisfies(r -> assertThat(error(r)).isEqualTo(
                        "unknown parameter \"colour\" (expected priority, region, weight, zone)"));
        assertThat(send("POST", "/api/vips/nope/backends/127.0.0.1:7").statusCode()).isEqualTo(404);
        assertThat(send("DELETE", "/api/vips/web/backends/127.0.0.1:7").statusCode()).isEqualTo(404);

        // Remove the static one: new connections go to the added one only.
        HttpResponse<String> removed = send("DELETE", "/api/vips/web/backends/" + aAddr);
        assertThat(removed.statusCode()).as(removed.body()).isEqualTo(200);
        assertThat(json(removed).path("origin").asText()).isEqualTo("static");
        int beforeC = c.accepted();
        for (int i = 0; i < 5; i++) {
            connect(web, "y" + i); // kept open: the listing shows where each went
        }
        assertThat(c.accepted() - beforeC).isEqualTo(5);
        JsonNode open = json(send("GET", "/api/vips/web/connections"));
        assertThat(open.path("matched").asInt()).isEqualTo(5);
        assertThat(open.path("connections")).allSatisfy(x -> assertThat(x.path("backend").asText()).isEqualTo(cAddr));
        assertThat(send("GET", "/api/vips/web/backends/" + aAddr).statusCode()).isEqualTo(404);
    }

    @Test
    void changesSurviveAReloadThatLeavesTheVipsBackendsAloneAndAreDroppedByOneThatChangesThem() throws Exception {
        TestBackend a = backend();
        TestBackend b = backend();
        TestBackend c = backend();
        int web = freePort();
        int api = freePort();
        int adminPort = freePort();
        start(config(adminPort, vip("web", web, "", a) + vip("api", api, "", a)));
        String aAddr = "127.0.0.1:" + a.port();
        String cAddr = "127.0.0.1:" + c.port();
        assertThat(send("POST", "/api/vips/web/backends/" + aAddr + "/weight?value=7").statusCode()).isEqualTo(200);
        assertThat(send("POST", "/api/vips/web/backends/" + cAddr).statusCode()).isEqualTo(201);

        // Another VIP's backends change: web keeps its run-time changes.
        Files.writeString(file, config(adminPort, vip("web", web, "", a) + vip("api", api, "", a, b)));
        HttpResponse<String> other = send("POST", "/api/reload");
        assertThat(other.statusCode()).as(other.body()).isEqualTo(200);
        assertThat(json(other).path("changes").toString()).doesNotContain("dropped run-time");
        assertThat(backendView("web", aAddr).path("weight").asInt()).isEqualTo(7);
        assertThat(backendView("web", cAddr).path("origin").asText()).isEqualTo("runtime");

        // web's own backends change: every run-time change of web is dropped, and the reload says so.
        Files.writeString(file, config(adminPort, vip("web", web, "", a, b) + vip("api", api, "", a, b)));
        HttpResponse<String> mine = send("POST", "/api/reload");
        assertThat(mine.statusCode()).as(mine.body()).isEqualTo(200);
        assertThat(json(mine).path("changes").toString())
                .contains("dropped run-time weight 7 of backend " + aAddr + " of web (the reload changed the VIP's"
                        + " backends)")
                .contains("dropped run-time added backend " + cAddr + " of web");
        JsonNode view = backendView("web", aAddr);
        assertThat(view.path("weight").asInt()).isEqualTo(1);
        assertThat(view.path("runtime").toString()).isEqualTo("[]");
        assertThat(send("GET", "/api/vips/web/backends/" + cAddr).statusCode()).isEqualTo(404);
    }

    @Test
    void aRestartForgetsEveryRuntimeChange() throws Exception {
        TestBackend a = backend();
        TestBackend c = backend();
        int web = freePort();
        Node first = start(config(freePort(), vip("web", web, "", a)));
        String aAddr = "127.0.0.1:" + a.port();
        String cAddr = "127.0.0.1:" + c.port();
        assertThat(send("POST", "/api/vips/web/backends/" + aAddr + "/weight?value=9").statusCode()).isEqualTo(200);
        assertThat(send("POST", "/api/vips/web/backends/" + cAddr).statusCode()).isEqualTo(201);
        String before = Files.readString(file);

        first.shutdown(Duration.ZERO);
        assertThat(Files.readString(file)).as("nothing is written back").isEqualTo(before);
        start(before);

        JsonNode view = backendView("web", aAddr);
        assertThat(view.path("weight").asInt()).isEqualTo(1);
        assertThat(view.path("runtime").toString()).isEqualTo("[]");
        assertThat(send("GET", "/api/vips/web/backends/" + cAddr).statusCode()).isEqualTo(404);
    }

    @Test
    void connectionsAreListedInPagesWithTheirBytesEachWay() throws Exception {
        TestBackend a = backend();
        TestBackend b = backend();
        int web = freePort();
        start(config(freePort(), vip("web", web, "", a, b) + "  - name: dns\n    listen: 127.0.0.1:" + freeUdpPort()
                + "\n    protocol: udp\n    backends: [127.0.0.1:53]\n"));
        String aAddr = "127.0.0.1:" + a.port();
        List<Socket> open = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            open.add(connect(web, "hello-" + i)); // 7 bytes each way
        }

        HttpResponse<String> first = send("GET", "/api/vips/web/connections?limit=2");
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        JsonNode p1 = json(first);
        assertThat(p1.path("matched").asInt()).isEqualTo(5);
        assertThat(p1.path("connections")).hasSize(2);
        JsonNode c0 = p1.path("connections").get(0);
        assertThat(c0.path("client").asText()).startsWith("127.0.0.1:");
        assertThat(c0.path("backend").asText()).startsWith("127.0.0.1:");
        assertThat(c0.path("bytesFromClient").asLong()).isEqualTo(7);
        assertThat(c0.path("bytesToClient").asLong()).isEqualTo(7);
        assertThat(c0.path("ageMillis").asLong()).isNotNegative();
        long next = p1.path("next").asLong();
        assertThat(next).isPositive();

        List<Long> ids = new ArrayList<>();
        p1.path("connections").forEach(c -> ids.add(c.path("id").asLong()));
        String cursor = String.valueOf(next);
        while (cursor != null) {
            JsonNode p = json(send("GET", "/api/vips/web/connections?limit=2&after=" + cursor));
            p.path("connections").forEach(c -> ids.add(c.path("id").asLong()));
            cursor = p.path("next").isNull() ? null : p.path("next").asText();
        }
        assertThat(ids).as("every connection once, in id order").hasSize(5).doesNotHaveDuplicates().isSorted();

        JsonNode toA = json(send("GET", "/api/vips/web/backends/" + aAddr + "/connections"));
        assertThat(toA.path("connections")).allSatisfy(c -> assertThat(c.path("backend").asText()).isEqualTo(aAddr));
        assertThat(toA.path("matched").asInt()).isBetween(1, 4);
        assertThat(toA.path("next").isNull()).isTrue();

        assertThat(send("GET", "/api/vips/web/connections?limit=0"))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(400))
                .satisfies(r -> assertThat(error(r)).isEqualTo("limit: 0 (expected 1..1000)"));
        assertThat(send("GET", "/api/vips/web/connections?limit=1001").statusCode()).isEqualTo(400);
        assertThat(send("GET", "/api/vips/web/connections?after=x").statusCode()).isEqualTo(400);
        assertThat(send("GET", "/api/vips/nope/connections").statusCode()).isEqualTo(404);
        assertThat(send("GET", "/api/vips/dns/connections"))
                .satisfies(r -> assertThat(r.statusCode()).isEqualTo(501))
                .satisfies(r -> assertThat(error(r)).startsWith("VIP \"dns\" is UDP: its sessions are not listed"));
        assertThat(send("GET", "/api/vips/web/backends/127.0.0.1:9/connections").statusCode()).isEqualTo(404);

        for (Socket s : open) {
            s.close();
        }
        await().atMost(Duration.ofSeconds(10)).until(() ->
                json(send("GET", "/api/vips/web/connections")).path("matched").asInt() == 0);
    }

    @Test
    void everyChangeNeedsTheTokenAndIsRefusedFromAnotherOrigin() throws Exception {
        TestBackend a = backend();
        int web = freePort();
        start(config(freePort(), vip("web", web, "", a)));
        String aAddr = "127.0.0.1:" + a.port();
        String[] changes = {"POST /api/vips/web/backends/" + aAddr + "/weight?value=0",
                "POST /api/vips/web/backends/127.0.0.1:7", "DELETE /api/vips/web/backends/" + aAddr};
        for (String change : changes) {
            String[] mp = change.split(" ");
            assertThat(send(mp[0], mp[1], "Authorization", "Bearer wrong-token-wrong-token").statusCode())
                    .as(change).isEqualTo(401);
            assertThat(send(mp[0], mp[1], "Origin", "http://evil.example").statusCode()).as(change).isEqualTo(403);
            assertThat(send(mp[0], mp[1], "Sec-Fetch-Site", "cross-site").statusCode()).as(change).isEqualTo(403);
        }
        assertThat(send("GET", "/api/vips/web/connections", "Authorization", "Bearer wrong-token-wrong-token")
                .statusCode()).isEqualTo(401);
        JsonNode view = backendView("web", aAddr);
        assertThat(view.path("weight").asInt()).as("nothing changed").isEqualTo(1);
        assertThat(send("GET", "/api/vips/web/backends/127.0.0.1:7").statusCode()).isEqualTo(404);
    }
}
