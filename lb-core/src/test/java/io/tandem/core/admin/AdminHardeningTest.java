package io.tandem.core.admin;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.tandem.config.AdminSettings;
import io.tandem.config.HostPort;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.transport.Transport;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/**
 * The admin API against what the outside probe of issue #15 threw at it: token rotation by
 * reload, DNS rebinding and cross-site requests, smuggling-shaped and exotic HTTP, slowloris,
 * connection floods, a wildcard bind that also took IPv6, and backend ids config would reject.
 */
class AdminHardeningTest {
    private static final String OLD = "old-token-0123456789";
    private static final String NEW = "new-token-9876543210";
    private static final String DRAIN = "/api/vips/web/backends/10.0.0.1:80/drain";
    private static EventLoopGroup group;

    private FakeNode node;
    private Metrics metrics;
    private final List<AdminServer> servers = new ArrayList<>();

    @BeforeAll
    static void group() {
        group = Transport.nioTransport().newGroup(1, "admin-hardening");
    }

    @AfterAll
    static void shutdown() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @BeforeEach
    void start() {
        node = new FakeNode();
        metrics = new Metrics();
    }

    @AfterEach
    void stop() {
        servers.forEach(AdminServer::close);
        metrics.close();
    }

    private AdminServer start(AdminSettings settings) {
        return start(settings, AdminServer.Limits.DEFAULTS, Transport.nioTransport(), group);
    }

    private AdminServer start(AdminSettings settings, AdminServer.Limits limits, Transport transport,
                              EventLoopGroup g) {
        AdminServer s = AdminServer.start(settings, g, transport, node, metrics.registry(), limits)
                .orTimeout(10, TimeUnit.SECONDS).join();
        servers.add(s);
        return s;
    }

    private AdminServer open() {
        return start(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty()));
    }

    private static RawHttp.Response exchange(AdminServer s, String request) throws IOException {
        try (var raw = new RawHttp(s.localAddress())) {
            raw.send(request);
            return raw.read();
        }
    }

    private static String get(String path, String... headers) {
        return "GET " + path + " HTTP/1.1\r\n" + String.join("", headers) + "\r\n";
    }

    private static String post(String path, String... headers) {
        return "POST " + path + " HTTP/1.1\r\n" + String.join("", headers) + "Content-Length: 0\r\n\r\n";
    }

    private static final String LOCAL = "Host: 127.0.0.1\r\n";

    // ---------------------------------------------------------------- item 3: token rotation

    @Test
    void updateRotatesTheTokenAtOnceOldRefusedNewAcceptedAndLogsWithoutTheToken() throws IOException {
        var log = capture(AdminServer.class);
        AdminServer s = start(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.of(OLD)));
        assertThat(exchange(s, get("/api/node", LOCAL, "Authorization: Bearer " + OLD + "\r\n")).status())
                .isEqualTo(200);

        s.update(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.of(NEW)));

        assertThat(exchange(s, get("/api/node", LOCAL, "Authorization: Bearer " + OLD + "\r\n")).status())
                .isEqualTo(401);
        assertThat(exchange(s, get("/api/node", LOCAL, "Authorization: Bearer " + NEW + "\r\n")).status())
                .isEqualTo(200);
        assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage).anyMatch(m -> m.startsWith(
                "admin token rotated"));
        assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage)
                .noneMatch(m -> m.contains(OLD) || m.contains(NEW));
    }

    @Test
    void aTokenOnAnOpenApiTakesEffectAndARemovedOneOpensItOnLoopback() throws IOException {
        AdminServer s = open();
        assertThat(exchange(s, get("/api/node", LOCAL)).status()).isEqualTo(200);
        s.update(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.of(NEW)));
        assertThat(exchange(s, get("/api/node", LOCAL)).status()).isEqualTo(401);
        s.update(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty()));
        assertThat(exchange(s, get("/api/node", LOCAL)).status()).isEqualTo(200);
    }

    @Test
    void aTokenRemovedWhileListeningOnAWildcardIsKeptUntilRestart() throws IOException {
        var log = capture(AdminServer.class);
        AdminServer s = start(new AdminSettings(true, HostPort.of("0.0.0.0", 0), Optional.of(OLD)));
        // The new config moved listen to loopback (valid without a token), but that needs a restart.
        s.update(new AdminSettings(true, HostPort.of("127.0.0.1", 9090), Optional.empty()));
        assertThat(exchange(s, get("/api/node", LOCAL)).status()).isEqualTo(401);
        assertThat(exchange(s, get("/api/node", LOCAL, "Authorization: Bearer " + OLD + "\r\n")).status())
                .isEqualTo(200);
        assertThat(log.list).extracting(ILoggingEvent::getFormattedMessage)
                .anyMatch(m -> m.startsWith("admin token kept"))
                .anyMatch(m -> m.startsWith("admin listener unchanged until restart"));
    }

    // ---------------------------------------------------------------- item 4: Host header

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.0.0.1:9090", "localhost", "LOCALHOST:9090", "localhost.",
        "[::1]:9090", "[::1]", "10.1.2.3:80"})
    void ipLiteralsAndLocalhostAreAcceptedHosts(String host) throws IOException {
        assertThat(exchange(open(), get("/api/node", "Host: " + host + "\r\n")).status()).isEqualTo(200);
    }

    @ParameterizedTest
    @ValueSource(strings = {"evil.example", "evil.example:9090", "127.0.0.1.evil.example", "localhost.evil.example",
        "[::1", "127.0.0.1:x", "1.2.3.4.5", "localhost:08080"})
    void anyOtherHostIsRefusedWith403AndAReason(String host) throws IOException {
        AdminServer s = open();
        var r = exchange(s, get("/api/node", "Host: " + host + "\r\n"));
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.body()).contains("not allowed (expected an IP address, localhost or a name in admin.allowed_hosts)");
        assertThat(exchange(s, post(DRAIN, "Host: " + host + "\r\n")).status()).isEqualTo(403);
        assertThat(node.actions).isEmpty();
    }

    @Test
    void healthAnswersWhateverTheHost() throws IOException {
        var r = exchange(open(), get("/health", "Host: evil.example\r\n"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("ok\n");
    }

    @Test
    void configuredNamesAreAcceptedAndAnUpdateChangesThemLive() throws IOException {
        AdminServer s = start(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty(),
                List.of("lb1.example.com")));
        assertThat(exchange(s, get("/api/node", "Host: LB1.example.com:9090\r\n")).status()).isEqualTo(200);
        assertThat(exchange(s, get("/api/node", "Host: lb2.example.com\r\n")).status()).isEqualTo(403);

        s.update(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty(), List.of("lb2.example.com")));
        assertThat(exchange(s, get("/api/node", "Host: lb2.example.com\r\n")).status()).isEqualTo(200);
        assertThat(exchange(s, get("/api/node", "Host: lb1.example.com\r\n")).status()).isEqualTo(403);
    }

    @Test
    void http11WithoutHostIs400AndHttp10WithoutHostIsServed() throws IOException {
        AdminServer s = open();
        var missing = exchange(s, "GET /api/node HTTP/1.1\r\n\r\n");
        assertThat(missing.status()).isEqualTo(400);
        assertThat(missing.body()).contains("missing Host header");
        assertThat(exchange(s, "GET /api/node HTTP/1.0\r\n\r\n").status()).isEqualTo(200);
        assertThat(exchange(s, get("/api/node", "Host: 127.0.0.1\r\nHost: evil.example\r\n")).status())
                .isEqualTo(400);
    }

    // ---------------------------------------------------------------- item 4: browsers

    @ParameterizedTest
    @ValueSource(strings = {"Origin: http://evil.example\r\n", "Origin: null\r\n",
        "Origin: http://127.0.0.1:1\r\n", "Sec-Fetch-Site: cross-site\r\n", "Sec-Fetch-Site: same-site\r\n",
        "Content-Type: text/plain\r\n", "Content-Type: application/x-www-form-urlencoded\r\n",
        "Content-Type: multipart/form-data; boundary=x\r\n", "Content-Type: TEXT/PLAIN;charset=utf-8\r\n"})
    void aStateChangingRequestFromABrowserPageIsRefusedAndChangesNothing(String header) throws IOException {
        AdminServer s = open();
        var drain = exchange(s, post(DRAIN, LOCAL, header));
        assertThat(drain.status()).isEqualTo(403);
        assertThat(drain.body()).contains("refused");
        assertThat(exchange(s, post("/api/reload", LOCAL, header)).status()).isEqualTo(403);
        assertThat(node.actions).isEmpty();
        assertThat(node.reloads).isZero();
    }

    @Test
    void theProbesExactRequestsAreRefused() throws IOException {
        AdminServer s = open();
        var csrf = exchange(s, "POST " + DRAIN + " HTTP/1.1\r\nHost: 127.0.0.1:9090\r\nOrigin: http://evil.example\r\n"
                + "Content-Type: text/plain\r\nContent-Length: 1\r\n\r\nx");
        assertThat(csrf.status()).isEqualTo(403);
        assertThat(csrf.body()).isEqualTo("{\"error\":\"cross-origin request refused (Origin \\\"http://evil.example\\\""
                + " is not this API's origin)\"}\n");
        assertThat(exchange(s, post("/api/reload", LOCAL, "Origin: null\r\n")).status()).isEqualTo(403);
        assertThat(exchange(s, get("/api/node", "Host: evil.example\r\n")).status()).isEqualTo(403);
        assertThat(node.actions).isEmpty();
        assertThat(node.reloads).isZero();
    }

    @Test
    void toolsAndSameOriginRequestsStillWork() throws IOException {
        AdminServer s = open();
        int port = s.localAddress().getPort();
        // curl -X POST, Java's HttpClient, Python requests: no Origin, no body type.
        assertThat(exchange(s, post(DRAIN, "Host: 127.0.0.1:" + port + "\r\n")).status()).isEqualTo(200);
        assertThat(exchange(s, post(DRAIN, "Host: 127.0.0.1:" + port + "\r\n",
                "Content-Type: application/json\r\n")).status()).isEqualTo(200);
        assertThat(exchange(s, post(DRAIN, "Host: 127.0.0.1:" + port + "\r\n",
                "Origin: http://127.0.0.1:" + port + "\r\n", "Sec-Fetch-Site: same-origin\r\n")).status())
                .isEqualTo(200);
        assertThat(exchange(s, post(DRAIN, LOCAL, "Sec-Fetch-Site: none\r\n")).status()).isEqualTo(200);
        // Reads from a foreign page are not refused: without CORS headers the page cannot read them.
        assertThat(exchange(s, get("/api/node", LOCAL, "Origin: http://evil.example\r\n")).status()).isEqualTo(200);
        assertThat(node.actions).hasSize(4);
    }

    @Test
    void tandemsOwnClientStillWorks() {
        AdminServer s = start(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.of(OLD)));
        try (var client = new AdminClient()) {
            HostPort admin = HostPort.of("127.0.0.1", s.localAddress().getPort());
            assertThat(client.fetchNode(admin, Optional.of(OLD))).isEqualTo(node.view);
            assertThat(client.backendAction(admin, Optional.of(OLD), "web", "10.0.0.1:80", "drain").flags())
                    .isNotEmpty();
            assertThat(client.reload(admin, Optional.of(OLD)).applied()).isTrue();
        }
    }

    // ---------------------------------------------------------------- item 6: HTTP strictness

    @Test
    void anHttpVersionOtherThan10Or11Is505AndNotEchoed() throws IOException {
        try (var raw = new RawHttp(open().localAddress())) {
            raw.send("GET /api/node HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n");
            var r = raw.readRaw();
            assertThat(r).startsWith("HTTP/1.1 505 ").contains("HTTP version \\\"HTTP/9.9\\\" not supported");
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void contentLengthTogetherWithTransferEncodingIs400AndTheConnectionCloses() throws IOException {
        AdminServer s = open();
        try (var raw = new RawHttp(s.localAddress())) {
            raw.send("POST " + DRAIN + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                    + "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            var r = raw.read();
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body()).contains("both Content-Length and Transfer-Encoding");
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(node.actions).isEmpty();
    }

    /** RFC 9112 section 6.3: chunked not the final coding leaves the body length unknown: 400, close. */
    @ParameterizedTest
    @ValueSource(strings = {"gzip", "chunked, gzip", "identity"})
    void aTransferEncodingWhoseFinalCodingIsNotChunkedIs400(String te) throws IOException {
        AdminServer s = open();
        try (var raw = new RawHttp(s.localAddress())) {
            raw.send("POST " + DRAIN + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + te + "\r\n\r\n"
                    + "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            var r = raw.read();
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body()).contains("Transfer-Encoding refused").contains("expected chunked as the final coding");
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(node.actions).isEmpty();
    }

    /** A coding this server does not know, under a final chunked: 501 (RFC 9112 section 6.1). */
    @ParameterizedTest
    @ValueSource(strings = {"gzip, chunked"})
    void aTransferEncodingOtherThanChunkedIs501(String te) throws IOException {
        AdminServer s = open();
        try (var raw = new RawHttp(s.localAddress())) {
            raw.send("POST " + DRAIN + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + te + "\r\n\r\n"
                    + "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            var r = raw.read();
            assertThat(r.status()).isEqualTo(501);
            assertThat(r.body()).contains("not implemented (expected chunked or none)");
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(node.actions).isEmpty();
    }

    @Test
    void aChunkedBodyAloneIsStillAccepted() throws IOException {
        var r = exchange(open(), "POST " + DRAIN + " HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "0\r\n\r\n");
        assertThat(r.status()).isEqualTo(200);
    }

    @Test
    void slowlorisConnectionsAreClosedWhenTheirRequestDoesNotArriveInTime() throws Exception {
        AdminServer s = start(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty()),
                new AdminServer.Limits(Duration.ofSeconds(1), Duration.ofSeconds(30), 256), Transport.nioTransport(),
                group);
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 50; i++) {
                Socket so = new Socket(InetAddress.getLoopbackAddress(), s.localAddress().getPort());
                so.setSoTimeout(2);
                slow.add(so);
            }
            byte[] request = "GET /api/node HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ".getBytes(UTF_8);
            long start = System.nanoTime();
            java.util.Set<Socket> closedSet = new java.util.HashSet<>();
            // One byte per socket every 200 ms, like the probe (it sent one a second), for up to 10 s.
            for (int b = 0; closedSet.size() < slow.size()
                    && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10); b++) {
                for (Socket so : slow) {
                    if (!closedSet.contains(so) && isClosedByPeer(so, request[Math.min(b, request.length - 1)])) {
                        closedSet.add(so);
                    }
                }
                Thread.sleep(200); // the drip rate itself, not a wait for a condition
            }
            int closed = closedSet.size();
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(closed).as("slow connections closed by the server").isEqualTo(slow.size());
            assertThat(tookMs).as("time to close them (request timeout 1 s)").isLessThan(6_000);
            // The server still answers.
            assertThat(exchange(s, get("/api/node", LOCAL)).status()).isEqualTo(200);
        } finally {
            for (Socket so : slow) {
                so.close();
            }
        }
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws IOException {
        AdminServer s = start(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty()),
                new AdminServer.Limits(Duration.ofSeconds(10), Duration.ofMillis(500), 256), Transport.nioTransport(),
                group);
        try (var raw = new RawHttp(s.localAddress())) {
            raw.send(get("/health", LOCAL));
            assertThat(raw.read().status()).isEqualTo(200);
            long start = System.nanoTime();
            assertThat(raw.closedByServer()).isTrue();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(5_000);
        }
    }

    @Test
    void connectionsBeyondTheCapAreClosedAtOnceAndTheCapFreesUpWhenOnesClose() throws Exception {
        AdminServer s = start(new AdminSettings(true, HostPort.of("127.0.0.1", 0), Optional.empty()),
                new AdminServer.Limits(Duration.ofSeconds(10), Duration.ofSeconds(30), 8), Transport.nioTransport(),
                group);
        List<RawHttp> held = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                RawHttp raw = new RawHttp(s.localAddress());
                raw.send(get("/health", LOCAL));
                assertThat(raw.read().status()).isEqualTo(200);
                held.add(raw);
            }
            try (var over = new RawHttp(s.localAddress())) {
                assertThat(over.closedByServerOrReset()).as("the ninth connection").isTrue();
            }
            held.removeFirst().close();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                try (var again = new RawHttp(s.localAddress())) {
                    again.send(get("/health", LOCAL));
                    assertThat(again.read().status()).isEqualTo(200);
                }
            });
        } finally {
            for (RawHttp r : held) {
                r.close();
            }
        }
    }

    @Test
    void aWildcardIpv4ListenBindsIpv4OnlyOnNio() throws IOException {
        wildcardIpv4BindsIpv4Only(Transport.nioTransport(), group);
    }

    @Test
    void aWildcardIpv4ListenBindsIpv4OnlyOnEpoll() throws IOException {
        Assumptions.assumeTrue(Epoll.isAvailable(), "epoll unavailable");
        Transport epoll = Transport.epollTransport();
        EventLoopGroup g = epoll.newGroup(1, "admin-hardening-epoll");
        try {
            wildcardIpv4BindsIpv4Only(epoll, g);
        } finally {
            servers.forEach(AdminServer::close);
            servers.clear();
            g.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private void wildcardIpv4BindsIpv4Only(Transport transport, EventLoopGroup g) throws IOException {
        Assumptions.assumeTrue(hasIpv6Loopback(), "no ::1 on this machine");
        AdminServer s = start(new AdminSettings(true, HostPort.of("0.0.0.0", 0), Optional.of(OLD)),
                AdminServer.Limits.DEFAULTS, transport, g);
        int port = s.localAddress().getPort();
        try (var v4 = new Socket("127.0.0.1", port)) {
            assertThat(v4.isConnected()).isTrue();
        }
        assertThatThrownBy(() -> new Socket("::1", port).close()).as("[::1]:" + port)
                .isInstanceOf(java.net.ConnectException.class);
    }

    // ---------------------------------------------------------------- item 6: backend ids

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.1:080", "10.0.0.1:%D9%A8%D9%A0", "10.0.0.1:+80", "10.0.0.1:0080"})
    void backendIdsConfigWouldRejectAre400(String backend) throws IOException {
        var r = exchange(open(), post("/api/vips/web/backends/" + backend + "/drain", LOCAL));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body()).contains("(expected host:port)");
        assertThat(node.actions).isEmpty();
    }

    // ----------------------------------------------------------------

    private static boolean isClosedByPeer(Socket so, byte next) {
        try {
            so.getOutputStream().write(next);
            so.getOutputStream().flush();
            InputStream in = so.getInputStream();
            try {
                return in.read() == -1;
            } catch (java.net.SocketTimeoutException stillOpen) {
                return false;
            }
        } catch (IOException reset) {
            return true;
        }
    }

    private static boolean hasIpv6Loopback() {
        try (var ss = new java.net.ServerSocket()) {
            ss.bind(new InetSocketAddress("::1", 0));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static ListAppender<ILoggingEvent> capture(Class<?> type) {
        var appender = new ListAppender<ILoggingEvent>();
        appender.start();
        var logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(type);
        logger.setLevel(ch.qos.logback.classic.Level.INFO);
        logger.addAppender(appender);
        return appender;
    }
}
