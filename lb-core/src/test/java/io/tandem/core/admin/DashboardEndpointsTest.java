package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.netty.channel.EventLoopGroup;
import io.tandem.config.AdminSettings;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.HostPort;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.NodeControl;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.transport.Transport;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The page at {@code /} and the endpoints it reads besides the view: {@code /api/config} (the
 * config in force, secrets masked) and {@code /api/reloads}; the page is served without the token
 * but behind the Host check, with headers that forbid framing and foreign script.
 */
class DashboardEndpointsTest {
    private static final String TOKEN = "dashboard-endpoints-token";
    private static EventLoopGroup group;
    private static HttpClient http;

    private Metrics metrics;
    private AdminServer server;
    private ConfiguredNode node;

    /** A fake node with a real parsed config and a reload history. */
    static final class ConfiguredNode extends FakeNode {
        volatile TandemConfig config;
        volatile List<ReloadRecord> history = List.of();

        @Override
        public TandemConfig config() {
            return config;
        }

        @Override
        public List<ReloadRecord> reloadHistory() {
            return history;
        }
    }

    @BeforeAll
    static void group() {
        group = Transport.nioTransport().newGroup(1, "dashboard-test");
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void shutdown() {
        http.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @BeforeEach
    void start() {
        metrics = new Metrics();
        node = new ConfiguredNode();
        ConfigResult r = ConfigLoader.parse("""
                admin: {listen: 127.0.0.1:9090, token: "%s"}
                discovery:
                  marathon: {urls: ["http://m1:8080"], basic_auth: "ops:marathon-password"}
                vips:
                  - {name: web, listen: 127.0.0.1:8080, backends: [127.0.0.1:9001]}
                """.formatted(TOKEN), "t.yaml");
        node.config = ((ConfigResult.Valid) r).config();
        server = start(node);
    }

    @AfterEach
    void stop() {
        server.close();
        metrics.close();
    }

    private AdminServer start(NodeControl control) {
        var settings = new AdminSettings(true, new HostPort("127.0.0.1", 0), Optional.of(TOKEN));
        return AdminServer.start(settings, group, Transport.nioTransport(), control, metrics.registry())
                .orTimeout(10, TimeUnit.SECONDS).join();
    }

    private HttpResponse<String> call(AdminServer s, String method, String path, String... headers) {
        var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.localAddress().getPort() + path))
                .timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody());
        if (headers.length > 0) {
            b.headers(headers);
        }
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void thePageAndItsAssetsAreServedWithoutTheTokenAndCannotBeFramed() {
        var page = call(server, "GET", "/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("content-type")).contains("text/html; charset=utf-8");
        assertThat(page.body()).contains("<script src=\"/ui/app.js\"").doesNotContain("http://", "https://");
        assertThat(page.headers().firstValue("content-security-policy").orElseThrow())
                .contains("frame-ancestors 'none'", "script-src 'self'", "connect-src 'self'");
        assertThat(page.headers().firstValue("x-frame-options")).contains("DENY");
        var js = call(server, "GET", "/ui/app.js");
        assertThat(js.statusCode()).isEqualTo(200);
        assertThat(js.headers().firstValue("content-type")).contains("text/javascript; charset=utf-8");
        assertThat(js.body()).contains("/api/node").doesNotContain("http://", "https://");
        assertThat(call(server, "GET", "/ui/app.css").headers().firstValue("content-type"))
                .contains("text/css; charset=utf-8");
        assertThat(call(server, "HEAD", "/").statusCode()).isEqualTo(200);
        assertThat(call(server, "POST", "/").statusCode()).isEqualTo(405);
        assertThat(call(server, "GET", "/ui/nothing.js").statusCode()).as("only the page's own files").isEqualTo(401);
        // The data still needs the token.
        assertThat(call(server, "GET", "/api/node").statusCode()).isEqualTo(401);
    }

    @Test
    void thePageIsBehindTheHostCheckLikeEveryEndpoint() throws IOException {
        try (var raw = new RawHttp(server.localAddress())) {
            raw.send("GET / HTTP/1.1\r\nHost: evil.example:9090\r\n\r\n");
            assertThat(raw.read().status()).isEqualTo(403);
        }
    }

    @Test
    void aPostFromThePageItselfPassesTheBrowserGuard() {
        String origin = "http://127.0.0.1:" + server.localAddress().getPort();
        var r = call(server, "POST", "/api/vips/web/backends/10.0.0.1:80/drain", "Authorization", "Bearer " + TOKEN,
                "Origin", origin, "Sec-Fetch-Site", "same-origin");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        var foreign = call(server, "POST", "/api/vips/web/backends/10.0.0.1:80/drain", "Authorization",
                "Bearer " + TOKEN, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site");
        assertThat(foreign.statusCode()).isEqualTo(403);
    }

    @Test
    void configIsTheConfigInForceWithSecretsMasked() throws IOException {
        var r = call(server, "GET", "/api/config", "Authorization", "Bearer " + TOKEN);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).doesNotContain(TOKEN).doesNotContain("marathon-password");
        JsonNode c = AdminJson.MAPPER.readTree(r.body());
        assertThat(c.at("/admin/token").asText()).isEqualTo("***");
        assertThat(c.at("/discovery/marathon/basic_auth").asText()).isEqualTo("***");
        assertThat(c.at("/vips/0/name").asText()).isEqualTo("web");
        assertThat(c.at("/vips/0/timeouts/connect").isTextual()).as("defaults filled in").isTrue();
        assertThat(c.at("/logging/format").asText()).isEqualTo("logfmt");
        assertThat(call(server, "GET", "/api/config").statusCode()).isEqualTo(401);
    }

    @Test
    void configBeforeAnyIsAppliedIs503AndANodeThatCannotSayIs404() {
        node.config = null;
        assertThat(call(server, "GET", "/api/config", "Authorization", "Bearer " + TOKEN).statusCode()).isEqualTo(503);
        try (var plain = start(new FakeNode())) {
            var r = call(plain, "GET", "/api/config", "Authorization", "Bearer " + TOKEN);
            assertThat(r.statusCode()).isEqualTo(404);
            assertThat(r.body()).contains("does not expose its config");
        }
    }

    @Test
    void reloadsListsTheRecordedReloads() throws IOException {
        node.history = List.of(new NodeControl.ReloadRecord(Instant.parse("2026-03-01T10:05:30Z"), "sighup",
                new NodeControl.ReloadOutcome(false, 7, List.of(), List.of("vips[0].listen: bad"))));
        var r = call(server, "GET", "/api/reloads", "Authorization", "Bearer " + TOKEN);
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode list = AdminJson.MAPPER.readTree(r.body());
        assertThat(list).hasSize(1);
        assertThat(list.get(0).get("trigger").asText()).isEqualTo("sighup");
        assertThat(list.get(0).get("at").asText()).isEqualTo("2026-03-01T10:05:30Z");
        assertThat(list.get(0).at("/outcome/applied").asBoolean()).isFalse();
        assertThat(list.get(0).at("/outcome/errors/0").asText()).isEqualTo("vips[0].listen: bad");
    }
}
