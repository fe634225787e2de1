package io.tandem.core.control;

import io.tandem.core.testing.Dnsmasq;

import static io.tandem.core.control.ReloadOffLoopIT.freePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.node.Node;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backend host names through a real node and a real DNS server (dnsmasq answering from a hosts
 * file the test rewrites): the compose case — a backend restarted with a new address — moves
 * traffic to the new address within the TTL while connections to the old one finish; a name that
 * does not resolve yet does not stop the node, is shown UNRESOLVED with the reason, and serves
 * when it appears; a DNS outage keeps the last good addresses; a reload looks every name up
 * again, with the DNS settings it brings.
 */
class DnsNamesIT {
    private static final String NAME = "web.tandem.test";

    @TempDir
    Path dir;
    private Dnsmasq dns;
    private Named old;
    private Named fresh;
    private int port;
    private final AtomicReference<String> yaml = new AtomicReference<>();

    @BeforeEach
    void start() throws IOException {
        assumeTrue(Dnsmasq.BINARY != null,
                "dnsmasq not installed (apt-get install dnsmasq-base; .ci/run installs it): skipping the real DNS test");
        // Two backends on the same port at two loopback addresses: the name moves from one to the other.
        for (int i = 0; fresh == null; i++) {
            old = new Named("127.0.0.2", 0, "old");
            port = old.port();
            try {
                fresh = new Named("127.0.0.3", port, "new");
            } catch (BindException e) {
                old.close();
                if (i > 20) {
                    throw e;
                }
            }
        }
    }

    @AfterEach
    void stop() throws IOException {
        if (dns != null) {
            dns.close();
        }
        if (old != null) {
            old.close();
        }
        if (fresh != null) {
            fresh.close();
        }
    }

    private String config(int vip, int dnsPort, String ttls, int admin) {
        return """
                admin: {enabled: %s, listen: 127.0.0.1:%d}
                runtime:
                  event_loops: 1
                  dns: {servers: [127.0.0.1:%d], %s, timeout: 300ms}
                vips:
                  - name: web
                    listen: 127.0.0.1:%d
                    backends: [%s:%d]
                """.formatted(admin > 0, admin > 0 ? admin : 9, dnsPort, ttls, vip, NAME, port);
    }

    private Node node(String text) throws Node.StartException {
        yaml.set(text);
        ConfigResult r = ConfigLoader.parse(text, "test.yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        TandemConfig cfg = ((ConfigResult.Valid) r).config();
        return Node.start(new Node.Options("test", cfg, () -> ConfigLoader.parse(yaml.get(), "test.yaml"),
                "test.yaml", Optional.empty()));
    }

    @Test
    void aBackendWhoseAddressChangesGetsTrafficAtItsNewAddressWithinTheTtlWhileOldConnectionsFinish()
            throws Exception {
        dns = Dnsmasq.start(Dnsmasq.freePort(), dir.resolve("hosts"), 1, "127.0.0.2 " + NAME);
        int vip = freePort();
        try (Node n = node(config(vip, dns.port, "min_ttl: 200ms, max_ttl: 2s", 0))) {
            assertThat(ask(vip)).isEqualTo("old");
            assertThat(addresses(n)).containsExactly("127.0.0.2:" + port);
            assertThat(backends(n).getFirst().origin()).isEqualTo("dns:" + NAME);
            try (Socket open = connect(vip)) {
                assertThat(ask(open)).isEqualTo("old");

                // The container is restarted elsewhere: DNS now says 127.0.0.3.
                dns.hosts("127.0.0.3 " + NAME);
                dns.reread();
                long t0 = System.nanoTime();
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                        .until(() -> ask(vip).equals("new"));
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                System.out.println("traffic moved to the new address after " + ms + " ms (TTL 1 s)");
                assertThat(ms).as("within the TTL (1 s) plus generous slack").isLessThan(5_000);
                for (int i = 0; i < 10; i++) {
                    assertThat(ask(vip)).isEqualTo("new");
                }
                assertThat(addresses(n)).containsExactly("127.0.0.3:" + port);
                assertThat(ask(open)).as("the connection opened before the move finishes on the old address")
                        .isEqualTo("old");
            }
        }
    }

    @Test
    void aNameThatDoesNotResolveAtStartIsHeldUnresolvedWithItsReasonThenServesWhenItAppears() throws Exception {
        dns = Dnsmasq.start(Dnsmasq.freePort(), dir.resolve("hosts"), 1);
        int vip = freePort();
        try (Node n = node(config(vip, dns.port, "min_ttl: 200ms, max_ttl: 1s", 0))) {
            NodeView.BackendView b = backends(n).getFirst();
            assertThat(b.address()).isEqualTo(NAME + ":" + port);
            assertThat(b.flags()).containsExactly(HealthFlag.UNRESOLVED);
            assertThat(b.eligible()).isFalse();
            assertThat(b.recentTransitions()).extracting(NodeView.TransitionView::reason).containsExactly("NXDOMAIN");
            assertThat(n.control().view().vip("web").orElseThrow().eligible()).isZero();
            assertThat(n.listenAddress("web")).as("the VIP listens all the same").isPresent();

            dns.hosts("127.0.0.2 " + NAME);
            dns.reread();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                    .untilAsserted(() -> assertThat(ask(vip)).isEqualTo("old"));
            assertThat(backends(n)).singleElement().satisfies(x -> {
                assertThat(x.address()).isEqualTo("127.0.0.2:" + port);
                assertThat(x.eligible()).isTrue();
            });
        }
    }

    @Test
    void aDnsOutageKeepsTheLastGoodAddresses() throws Exception {
        dns = Dnsmasq.start(Dnsmasq.freePort(), dir.resolve("hosts"), 1, "127.0.0.2 " + NAME);
        int vip = freePort();
        try (Node n = node(config(vip, dns.port, "min_ttl: 200ms, max_ttl: 1s", 0))) {
            assertThat(ask(vip)).isEqualTo("old");
            long before = lookups(n, "failed");
            dns.close(); // every lookup from now on goes unanswered
            dns = null;
            await().atMost(Duration.ofSeconds(10)).until(() -> lookups(n, "failed") >= before + 2);
            assertThat(addresses(n)).containsExactly("127.0.0.2:" + port);
            assertThat(ask(vip)).isEqualTo("old");
        }
    }

    @Test
    void aReloadLooksEveryNameUpAgainWithTheDnsSettingsItBrings() throws Exception {
        dns = Dnsmasq.start(Dnsmasq.freePort(), dir.resolve("hosts"), 3600, "127.0.0.2 " + NAME);
        int vip = freePort();
        int admin = freePort();
        int silent = Dnsmasq.freePort(); // no server there: every lookup times out
        // TTLs of an hour: nothing but a reload can look the name up again during this test.
        String ttls = "min_ttl: 1h, max_ttl: 1h";
        try (Node n = node(config(vip, silent, ttls, admin))) {
            assertThat(backends(n).getFirst().flags()).containsExactly(HealthFlag.UNRESOLVED);
            assertThat(backends(n).getFirst().recentTransitions().getFirst().reason())
                    .startsWith("lookup failed: no answer within 300 ms from [127.0.0.1:" + silent + "]");

            // The reload brings the right name server: applied, and the name resolves at once.
            yaml.set(config(vip, dns.port, ttls, admin));
            ReloadOutcome o = n.control().reload().get(20, TimeUnit.SECONDS);
            assertThat(o.changes()).contains("runtime.dns.servers: [127.0.0.1:" + silent + "] → [127.0.0.1:"
                    + dns.port + "]", "added backend 127.0.0.2:" + port + " to web");
            assertThat(ask(vip)).isEqualTo("old");

            // The address changes; with a TTL of an hour only a reload sees it: POST /api/reload.
            dns.hosts("127.0.0.3 " + NAME);
            dns.reread();
            assertThat(ask(vip)).isEqualTo("old");
            HttpResponse<String> resp;
            try (HttpClient http = HttpClient.newHttpClient()) {
                resp = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/api/reload"))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            }
            assertThat(resp.statusCode()).isEqualTo(200);
            assertThat(resp.body()).contains("added backend 127.0.0.3:" + port + " to web",
                    "removed backend 127.0.0.2:" + port + " from web");
            assertThat(ask(vip)).isEqualTo("new");
        }
    }

    // ------------------------------------------------------------------ helpers

    private static List<NodeView.BackendView> backends(Node n) {
        return n.control().view().vip("web").orElseThrow().backends();
    }

    private static List<String> addresses(Node n) {
        return backends(n).stream().map(NodeView.BackendView::address).toList();
    }

    private static long lookups(Node n, String result) {
        String prefix = "tandem_dns_lookups_total{result=\"" + result + "\"} ";
        return n.metrics().registry().scrape().lines().filter(l -> l.startsWith(prefix))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(prefix.length()))).findFirst().orElse(0);
    }

    private static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
        s.setSoTimeout(3000);
        return s;
    }

    private static String ask(int vip) {
        try (Socket s = connect(vip)) {
            return ask(s);
        } catch (IOException e) {
            return "failed: " + e;
        }
    }

    private static String ask(Socket s) throws IOException {
        s.getOutputStream().write('\n');
        byte[] b = s.getInputStream().readNBytes(3);
        return new String(b, StandardCharsets.US_ASCII);
    }

    /** A backend at {@code host:port} answering each newline with its three-letter name. */
    static final class Named implements AutoCloseable {
        private final ServerSocket server = new ServerSocket();

        Named(String host, int port, String name) throws IOException {
            server.bind(new InetSocketAddress(InetAddress.ofLiteral(host), port), 128);
            byte[] reply = name.getBytes(StandardCharsets.US_ASCII);
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        Thread.ofVirtual().start(() -> {
                            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                                int c;
                                while ((c = in.read()) >= 0) {
                                    if (c == '\n') {
                                        out.write(reply);
                                        out.flush();
                                    }
                                }
                            } catch (IOException e) {
                                // peer gone
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
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
