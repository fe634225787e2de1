package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.EventLoopGroup;
import io.tandem.config.AdminSettings;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import io.tandem.core.control.NodeControl;
import io.tandem.core.control.NodeControl.BackendAction;
import io.tandem.core.control.NodeView;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.Vip;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The admin API over real loopback sockets, against a NodeControl of our own. */
class AdminServerTest {
    private static final String TOKEN = "s3cret-t0ken-s3cret";
    private static EventLoopGroup group;
    private static HttpClient http;

    private FakeNode node;
    private Metrics metrics;
    private AdminServer server;

    @BeforeAll
    static void group() {
        group = Transport.nioTransport().newGroup(1, "admin-test");
        http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void shutdown() {
        http.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @BeforeEach
    void start() {
        node = new FakeNode();
        metrics = new Metrics();
        server = start(Optional.empty(), node);
    }

    @AfterEach
    void stop() {
        server.close();
        metrics.close();
    }

    private AdminServer start(Optional<String> token, NodeControl control) {
        var settings = new AdminSettings(true, new HostPort("127.0.0.1", 0), token);
        return AdminServer.start(settings, group, Transport.nioTransport(), control, metrics.registry())
                .orTimeout(10, TimeUnit.SECONDS).join();
    }

    private HttpResponse<String> call(AdminServer s, String method, String path, String... headers) {
        var b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.localAddress().getPort() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (headers.length > 0) {
            b.headers(headers);
        }
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private HttpResponse<String> call(String method, String path) {
        return call(server, method, path);
    }

    private static NodeView readNode(String json) throws IOException {
        return AdminJson.MAPPER.readValue(json, NodeView.class);
    }

    @Test
    void healthAnswersOkAsPlainText() {
        var r = call("GET", "/health");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok\n");
        assertThat(r.headers().firstValue("content-type")).hasValue("text/plain; charset=utf-8");
    }

    @Test
    void readyIs200WhenReadyAnd503WithReasonWhenStartingOrDraining() {
        assertThat(call("GET", "/ready").statusCode()).isEqualTo(200);

        NodeView v = node.view;
        node.view = new NodeView(v.node(), v.startedAt(), v.transport(), v.configSource(), v.configGeneration(),
                v.configLoadedAt(), false, false, v.vips());
        var starting = call("GET", "/ready");
        assertThat(starting.statusCode()).isEqualTo(503);
        assertThat(starting.body()).contains("not ready").contains("starting");

        node.view = new NodeView(v.node(), v.startedAt(), v.transport(), v.configSource(), v.configGeneration(),
                v.configLoadedAt(), true, true, v.vips());
        var draining = call("GET", "/ready");
        assertThat(draining.statusCode()).isEqualTo(503);
        assertThat(draining.body()).isEqualTo("not ready: node is draining\n");
    }

    @Test
    void metricsServesPrometheusTextWithItsContentType() {
        metrics.counter("tandem.reloads", "result", "applied").increment(3);
        var r = call("GET", "/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(r.body()).contains("tandem_reloads_total{result=\"applied\"} 3.0").contains("jvm_memory_used_bytes");
    }

    @Test
    void metricsShowBoundVipAndBackendSeriesAndDropThemAfterUnbind() {
        var cfg = new VipConfig("web", HostPort.of("127.0.0.1", 8080), Protocol.TCP, PolicyKind.ROUND_ROBIN,
                List.of(), Limits.UNLIMITED, Timeouts.DEFAULTS, 1, ProxyProtocolVersion.NONE, RelayMode.COPY,
                Optional.empty());
        Backend backend = Backend.of(HostPort.of("127.0.0.1", 9001), 1);
        Vip vip = new Vip("web", new BackendPool(cfg, List.of(backend), (c, t) -> null, false, 1));
        metrics.bindVip(vip);
        metrics.bindBackend(vip, backend, () -> true);
        vip.stats().totalConnections.add(42);
        backend.stats().bytesOut.add(1000);

        String body = call("GET", "/metrics").body();
        assertThat(body).contains("tandem_vip_connections_total{vip=\"web\"} 42.0")
                .contains("tandem_backend_sent_bytes_total{backend=\"127.0.0.1:9001\",vip=\"web\"} 1000.0");

        metrics.unbindVip("web");
        assertThat(call("GET", "/metrics").body()).doesNotContain("vip=\"web\"");
    }

    @Test
    void nodeServesTheWholeViewAsJsonWithIsoInstantsAndFlagNames() throws IOException {
        var r = call("GET", "/api/node");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json; charset=utf-8");
        assertThat(r.body()).contains("\"startedAt\":\"2026-03-01T10:00:00Z\"")
                .contains("\"FAILED_ACTIVE_CHECK\"");
        assertThat(readNode(r.body())).isEqualTo(node.view);
    }

    @Test
    void vipsListsEveryVipAndVipByNameServesOne() throws IOException {
        var list = call("GET", "/api/vips");
        assertThat(list.statusCode()).isEqualTo(200);
        List<NodeView.VipView> vips = AdminJson.MAPPER.readValue(list.body(),
                AdminJson.MAPPER.getTypeFactory().constructCollectionType(List.class, NodeView.VipView.class));
        assertThat(vips).isEqualTo(node.view.vips());

        var one = call("GET", "/api/vips/dns");
        assertThat(one.statusCode()).isEqualTo(200);
        assertThat(AdminJson.MAPPER.readValue(one.body(), NodeView.VipView.class)).isEqualTo(node.view.vip("dns").get());
    }

    @Test
    void unknownVipIs404WithTheNameInTheError() {
        var r = call("GET", "/api/vips/nope");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body()).isEqualTo("{\"error\":\"no VIP named \\\"nope\\\"\"}\n");
    }

    @Test
    void oneBackendIsServedByAddressIncludingPercentEncodedIpv6() throws IOException {
        var r = call("GET", "/api/vips/web/backends/%5B%3A%3A1%5D%3A8080");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(AdminJson.MAPPER.readValue(r.body(), NodeView.BackendView.class).address()).isEqualTo("[::1]:8080");
        assertThat(call("GET", "/api/vips/web/backends/10.9.9.9:80").statusCode()).isEqualTo(404);
    }

    @Test
    void reloadAnswers200WithOutcomeWhenAppliedAnd422WithErrorsWhenRejected() throws IOException {
        var applied = call("POST", "/api/reload");
        assertThat(applied.statusCode()).isEqualTo(200);
        var outcome = AdminJson.MAPPER.readValue(applied.body(), NodeControl.ReloadOutcome.class);
        assertThat(outcome).isEqualTo(node.nextReload);

        node.nextReload = new NodeControl.ReloadOutcome(false, 7, List.of(),
                List.of("vips[1].listen.port: 70000 (expected 1..65535)"));
        var rejected = call("POST", "/api/reload");
        assertThat(rejected.statusCode()).isEqualTo(422);
        assertThat(rejected.body()).contains("vips[1].listen.port: 70000 (expected 1..65535)")
                .contains("\"applied\":false");
        assertThat(node.reloads).isEqualTo(2);
    }

    @Test
    void drainDisableEnableApplyTheActionAndAnswerWithTheBackend() throws IOException {
        var drained = call("POST", "/api/vips/web/backends/10.0.0.1:80/drain");
        assertThat(drained.statusCode()).isEqualTo(200);
        var view = AdminJson.MAPPER.readValue(drained.body(), NodeView.BackendView.class);
        assertThat(view.flags()).containsExactly(HealthFlag.DRAINING);

        assertThat(call("POST", "/api/vips/web/backends/10.0.0.1:80/disable").statusCode()).isEqualTo(200);
        var enabled = call("POST", "/api/vips/web/backends/10.0.0.2:80/ENABLE");
        assertThat(AdminJson.MAPPER.readValue(enabled.body(), NodeView.BackendView.class).flags())
                .containsExactly(HealthFlag.FAILED_ACTIVE_CHECK);

        assertThat(node.actions).containsExactly(
                new FakeNode.Action("web", "10.0.0.1:80", BackendAction.DRAIN),
                new FakeNode.Action("web", "10.0.0.1:80", BackendAction.DISABLE),
                new FakeNode.Action("web", "10.0.0.2:80", BackendAction.ENABLE));
    }

    @Test
    void backendActionAcceptsIpv6InBracketsRawOrPercentEncoded() throws IOException {
        assertThat(call("POST", "/api/vips/web/backends/%5B%3A%3A1%5D%3A8080/drain").statusCode()).isEqualTo(200);
        try (var raw = new RawHttp(server.localAddress())) {
            raw.send("POST /api/vips/web/backends/[::1]:8080/disable HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
            assertThat(raw.read().status()).isEqualTo(200);
        }
        assertThat(node.actions).extracting(FakeNode.Action::backend).containsExactly("[::1]:8080", "[::1]:8080");
    }

    @Test
    void backendActionOnUnknownVipOrBackendIs404WithTheControlLoopsMessage() {
        var noVip = call("POST", "/api/vips/nope/backends/10.0.0.1:80/drain");
        assertThat(noVip.statusCode()).isEqualTo(404);
        assertThat(noVip.body()).isEqualTo("{\"error\":\"no VIP named \\\"nope\\\"\"}\n");

        var noBackend = call("POST", "/api/vips/web/backends/10.9.9.9:80/drain");
        assertThat(noBackend.statusCode()).isEqualTo(404);
        assertThat(noBackend.body()).contains("no backend \\\"10.9.9.9:80\\\" in VIP \\\"web\\\"");
        assertThat(node.actions).isEmpty();
    }

    @Test
    void unknownActionOrMalformedBackendIs400() {
        var r = call("POST", "/api/vips/web/backends/10.0.0.1:80/explode");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("unknown action \\\"explode\\\" (expected drain, disable or enable)");

        var bad = call("POST", "/api/vips/web/backends/no-port/drain");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("backend: \\\"no-port\\\" (expected host:port)");
        assertThat(node.actions).isEmpty();
    }

    @Test
    void unknownPathIs404AndMalformedPercentEncodingIs400BothAsJson() throws IOException {
        var r = call("GET", "/api/nothing");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.body()).isEqualTo("{\"error\":\"no such endpoint: /api/nothing\"}\n");
        assertThat(r.headers().firstValue("content-type")).hasValue("application/json; charset=utf-8");

        try (var raw = new RawHttp(server.localAddress())) {
            raw.send("GET /api/vips/%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            var bad = raw.read();
            assertThat(bad.status()).isEqualTo(400);
            assertThat(bad.body()).startsWith("{\"error\":\"malformed path segment");
        }
    }

    @Test
    void wrongMethodIs405WithAllowHeader() {
        var post = call("POST", "/api/node");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("allow")).hasValue("GET, HEAD");
        assertThat(post.body()).contains("\"error\"");

        var get = call("GET", "/api/reload");
        assertThat(get.statusCode()).isEqualTo(405);
        assertThat(get.headers().firstValue("allow")).hasValue("POST");

        var getAction = call("GET", "/api/vips/web/backends/10.0.0.1:80/drain");
        assertThat(getAction.statusCode()).isEqualTo(405);
        assertThat(node.actions).isEmpty();
    }

    @Test
    void malformedHttpIs400AndTheConnectionIsClosed() throws IOException {
        try (var raw = new RawHttp(server.localAddress())) {
            raw.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nthis is not a header\r\n\r\n");
            var r = raw.read();
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body()).startsWith("{\"error\":\"malformed request");
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void oversizedBodyIs413AsJson() throws IOException {
        try (var raw = new RawHttp(server.localAddress())) {
            raw.send("POST /api/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n");
            var r = raw.read();
            assertThat(r.status()).isEqualTo(413);
            assertThat(r.body()).contains("request body too large");
        }
        assertThat(node.reloads).isZero();
    }

    @Test
    void keepAliveServesSequentialAndPipelinedRequestsInOrderOnOneConnection() throws IOException {
        try (var raw = new RawHttp(server.localAddress())) {
            raw.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            assertThat(raw.read().body()).isEqualTo("ok\n");
            raw.send("GET /api/vips/web HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            assertThat(raw.read().body()).contains("\"name\":\"web\"");

            // The drain completes later on another thread; the /health after it must still come second.
            raw.send("POST /api/vips/web/backends/10.0.0.1:80/drain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
                    + "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                    + "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            var first = raw.read();
            var second = raw.read();
            var third = raw.read();
            assertThat(first.status()).isEqualTo(200);
            assertThat(first.body()).contains("DRAINING");
            assertThat(second.body()).isEqualTo("ok\n");
            assertThat(third.status()).isEqualTo(404);
        }
    }

    @Test
    void connectionCloseIsHonouredAfterTheResponse() throws IOException {
        try (var raw = new RawHttp(server.localAddress())) {
            raw.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            var r = raw.read();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void headAnswersLikeGetWithoutABody() throws IOException {
        try (var raw = new RawHttp(server.localAddress())) {
            raw.send("HEAD /api/node HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            var r = raw.read(true);
            assertThat(r.status()).isEqualTo(200);
            assertThat(Integer.parseInt(r.header("content-length"))).isPositive();
            // The next response starts right away: proof that no body bytes were sent.
            raw.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            assertThat(raw.read().body()).isEqualTo("ok\n");
        }
    }

    @Test
    void withTokenEveryEndpointButHealthDemandsTheBearerToken() {
        try (var secured = start(Optional.of(TOKEN), node)) {
            assertThat(call(secured, "GET", "/health").statusCode()).isEqualTo(200);

            var missing = call(secured, "GET", "/api/node");
            assertThat(missing.statusCode()).isEqualTo(401);
            assertThat(missing.headers().firstValue("www-authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
            assertThat(missing.body()).isEqualTo("{\"error\":\"missing bearer token\"}\n");

            var wrong = call(secured, "GET", "/metrics", "Authorization", "Bearer nope");
            assertThat(wrong.statusCode()).isEqualTo(401);
            assertThat(wrong.body()).contains("invalid bearer token");

            var drain = call(secured, "POST", "/api/vips/web/backends/10.0.0.1:80/drain", "Authorization", "Basic " + TOKEN);
            assertThat(drain.statusCode()).isEqualTo(401);
            assertThat(node.actions).isEmpty();

            assertThat(call(secured, "GET", "/api/node", "Authorization", "Bearer " + TOKEN).statusCode()).isEqualTo(200);
            assertThat(call(secured, "GET", "/ready", "Authorization", "bearer " + TOKEN).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void controlCallThatThrowsSomethingElseThanUnknownNameIs500WithItsMessage() {
        var failing = new FakeNode() {
            @Override
            public CompletableFuture<ReloadOutcome> reload() {
                throw new IllegalStateException("config source unreadable");
            }
        };
        try (var s = start(Optional.empty(), failing)) {
            var r = call(s, "POST", "/api/reload");
            assertThat(r.statusCode()).isEqualTo(500);
            assertThat(r.body()).contains("config source unreadable");
        }
    }

    @Test
    void startFailsWithTheAddressWhenThePortIsTaken() {
        int taken = server.localAddress().getPort();
        var settings = new AdminSettings(true, new HostPort("127.0.0.1", taken), Optional.empty());
        assertThatThrownBy(() -> AdminServer.start(settings, group, Transport.nioTransport(), node, metrics.registry())
                .orTimeout(10, TimeUnit.SECONDS).join())
                .hasCauseInstanceOf(IllegalStateException.class)
                .hasMessageContaining("admin.listen: 127.0.0.1:" + taken + " (cannot bind");
    }

    @Test
    void closeStopsAcceptingAndIsIdempotent() {
        InetSocketAddress address = server.localAddress();
        server.close();
        server.close();
        // On NIO the JDK closes a registered listening socket only at the selector's next pass
        // (the key is deregistered there), so a connect right after close() may still land in the
        // old backlog: the listener must be gone promptly, not within the same instant.
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(2))
                .untilAsserted(() -> assertThatThrownBy(() -> new RawHttp(address).close())
                        .isInstanceOf(IOException.class));
    }

    @Test
    void aSlowViewDoesNotHoldUpOtherRequestsOnTheSameEventLoop() throws Exception {
        var release = new java.util.concurrent.CountDownLatch(1);
        var slow = new FakeNode() {
            @Override
            public NodeView view() {
                try {
                    release.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return super.view();
            }
        };
        try (var s = start(Optional.empty(), slow)) {
            var uri = URI.create("http://127.0.0.1:" + s.localAddress().getPort() + "/api/node");
            var pending = http.sendAsync(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            // One event-loop thread serves both connections: /health answering proves it is free.
            assertThat(call(s, "GET", "/health").statusCode()).isEqualTo(200);
            assertThat(pending).isNotDone();
            release.countDown();
            assertThat(pending.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
    }
}
