package io.tandem.core.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HAProxy's agent check on a real node over real sockets: a backend's agent saying {@code drain}
 * stops new connections to it while an open one goes on, {@code 50%} halves its share of a
 * weighted VIP, {@code down} ejects it with the agent's reason in the API, and {@code up}
 * restores it. The two backends live on 127.0.0.1 and 127.0.0.2 so each has an agent of its own
 * on the same agent port.
 */
class AgentCheckThroughNodeIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final InetAddress A = InetAddress.ofLiteral("127.0.0.1");
    private static final InetAddress B = InetAddress.ofLiteral("127.0.0.2");
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    @TempDir
    Path dir;
    private String admin;

    @AfterEach
    void cleanup() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    /** A blocking TCP server on {@code host}: echoes (a backend) or writes a line and closes (an agent). */
    private final class Server implements AutoCloseable {
        final ServerSocket socket;
        /** Connections that carried a byte: the node's health and agent probes connect, but never send. */
        final AtomicInteger accepts = new AtomicInteger();

        Server(InetAddress host, int port, boolean echo, AtomicReference<String> line) throws IOException {
            socket = new ServerSocket();
            socket.bind(new InetSocketAddress(host, port), 512);
            closeables.add(this);
            Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        Thread.ofVirtual().start(() -> {
                            try (s) {
                                if (echo) {
                                    int first = s.getInputStream().read();
                                    if (first < 0) {
                                        return;
                                    }
                                    accepts.incrementAndGet();
                                    s.getOutputStream().write(first);
                                    s.getInputStream().transferTo(s.getOutputStream());
                                } else {
                                    s.getOutputStream().write(line.get().getBytes(StandardCharsets.US_ASCII));
                                }
                            } catch (IOException ignored) {
                                // resets from the proxy or the agent check: expected
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, A)) {
            return s.getLocalPort();
        }
    }

    private void start(String yaml) throws Exception {
        Path file = dir.resolve("tandem.yaml");
        Files.writeString(file, yaml);
        ConfigResult r = ConfigLoader.load(file);
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        Node n = Node.start(Node.Options.file("t", ((ConfigResult.Valid) r).config(), file, false));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        admin = "http://127.0.0.1:" + n.adminAddress().orElseThrow().getPort();
    }

    private String get(String path) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(admin + path))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return r.body();
    }

    private JsonNode backend(String address) throws Exception {
        return JSON.readTree(get("/api/vips/web/backends/" + address));
    }

    /** One connection through the VIP that echoes a byte, then closes. */
    private static void once(int vip) throws IOException {
        try (Socket s = new Socket(A, vip)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write('x');
            assertThat(s.getInputStream().read()).isEqualTo('x');
        }
    }

    @Test
    void drainStopsNewConnectionsFiftyPercentHalvesTheShareDownEjectsWithTheReasonAndUpRestores() throws Exception {
        AtomicReference<String> agentA = new AtomicReference<>("up ready 100%\n");
        AtomicReference<String> agentB = new AtomicReference<>("up ready 100%\n");
        Server agent1 = new Server(A, 0, false, agentA);
        new Server(B, agent1.port(), false, agentB); // the same agent port on the other backend's address
        Server a = new Server(A, 0, true, null);
        Server b = new Server(B, 0, true, null);
        String bAddr = "127.0.0.2:" + b.port();
        int web = freePort();
        start("admin: {listen: \"127.0.0.1:" + freePort() + "\"}\nvips:\n  - name: web\n    listen: 127.0.0.1:" + web
                + "\n    policy: weighted-round-robin\n"
                + "    health_check: {type: tcp, interval: 200ms, timeout: 1s, rise: 1, fall: 1}\n"
                + "    agent_check: {port: " + agent1.port() + ", interval: 100ms, timeout: 1s}\n"
                + "    backends:\n      - {address: 127.0.0.1:" + a.port() + ", weight: 10}\n"
                + "      - {address: " + bAddr + ", weight: 10}\n");
        await().atMost(Duration.ofSeconds(20)).until(() -> backend(bAddr).path("state").asText().equals("up")
                && backend(bAddr).path("agent").path("reachable").asBoolean());
        for (int i = 0; i < 20; i++) {
            once(web);
        }
        assertThat(b.accepts.get()).as("both serve while the agents say up").isPositive();

        // drain: an open connection goes on, no new one reaches b.
        Socket open = null;
        for (int i = 0; i < 10 && open == null; i++) {
            int before = b.accepts.get();
            Socket s = new Socket(A, web);
            closeables.add(s);
            s.setSoTimeout(10_000);
            s.getOutputStream().write('x');
            assertThat(s.getInputStream().read()).isEqualTo('x');
            if (b.accepts.get() > before) {
                open = s;
            }
        }
        assertThat(open).as("a connection open to b").isNotNull();
        agentB.set("drain\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(bAddr).path("state").asText().equals("draining"));
        JsonNode drained = backend(bAddr);
        assertThat(drained.path("flags").toString()).contains("AGENT_DRAIN");
        assertThat(drained.path("agent").path("admin").asText()).isEqualTo("drain");
        int beforeDrain = b.accepts.get();
        for (int i = 0; i < 30; i++) {
            once(web);
        }
        assertThat(b.accepts.get()).as("no new connection to the drained backend").isEqualTo(beforeDrain);
        open.getOutputStream().write('y');
        assertThat(open.getInputStream().read()).as("the open connection goes on").isEqualTo('y');

        // 50%: weight 10 -> 5 against a's 10, so b takes about a third.
        agentB.set("ready 50%\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(bAddr).path("weight").asInt() == 5
                && backend(bAddr).path("state").asText().equals("up"));
        assertThat(get("/metrics")).contains("tandem_backend_agent_weight_percent{backend=\"" + bAddr
                + "\",vip=\"web\"} 50.0");
        int a0 = a.accepts.get();
        int b0 = b.accepts.get();
        int n = 300;
        for (int i = 0; i < n; i++) {
            once(web);
        }
        double share = (b.accepts.get() - b0) / (double) ((a.accepts.get() - a0) + (b.accepts.get() - b0));
        System.out.printf("agent 50%%: b took %.3f of %d connections (1/3 expected)%n", share, n);
        assertThat(share).as("b's share at 50%% of an equal weight (1/3 expected)").isBetween(0.2, 0.45);

        // down with a reason: ejected, the reason in the API; the agent's up restores it.
        agentB.set("down # disk full\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(bAddr).path("state").asText().equals("down"));
        JsonNode down = backend(bAddr);
        assertThat(down.path("flags").toString()).contains("AGENT_DOWN");
        assertThat(down.path("eligible").asBoolean()).isFalse();
        assertThat(down.path("agent").path("reason").asText()).isEqualTo("disk full");
        assertThat(down.path("recentTransitions").toString()).contains("agent says down: disk full");
        int beforeDown = b.accepts.get();
        for (int i = 0; i < 20; i++) {
            once(web);
        }
        assertThat(b.accepts.get()).as("no connection to a backend its agent calls down").isEqualTo(beforeDown);

        agentB.set("up 100%\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(bAddr).path("state").asText().equals("up")
                && backend(bAddr).path("weight").asInt() == 10);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            once(web);
            assertThat(b.accepts.get()).isGreaterThan(beforeDown);
        });
    }
}
