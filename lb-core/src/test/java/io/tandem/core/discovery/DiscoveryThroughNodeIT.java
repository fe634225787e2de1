package io.tandem.core.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.NodeView;
import io.tandem.core.node.Node;
import io.tandem.discovery.marathon.testing.FakeMarathon;
import io.tandem.discovery.marathon.testing.MarathonPayloads;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Discovery end to end through a real node: a service registering in a real (in-process)
 * ZooKeeper gets traffic, deregistering drains it without cutting its open connection; a Marathon
 * app (fake endpoint speaking the documented protocol) scales and traffic follows, a TASK_KILLING
 * task drains, and a VIP label declares a VIP the node serves with no config change.
 */
class DiscoveryThroughNodeIT {
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void cleanup() throws Exception {
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

    private Node node(String yaml) throws Exception {
        ConfigResult r = ConfigLoader.parse(yaml, "test.yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        TandemConfig cfg = ((ConfigResult.Valid) r).config();
        Node n = Node.start(new Node.Options("t", cfg, () -> r, "test", Optional.empty()));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        return n;
    }

    private static NodeView.VipView vip(Node n, String name) {
        return n.control().view().vip(name).orElseThrow();
    }

    @Test
    void zooKeeperRegistrationGetsTrafficAndDeregistrationDrainsWithoutCuttingOpenConnections() throws Exception {
        TestingServer zk = keep(new TestingServer(true));
        Named a = keep(new Named("a"));
        Named b = keep(new Named("b"));
        Node n = node("""
                admin: {enabled: false}
                discovery:
                  zookeeper:
                    connect: %s
                    base_path: /services
                    layout: plain
                    removal_debounce: 200ms
                vips:
                  - name: orders
                    listen: 127.0.0.1:%d
                    service: orders
                """.formatted(zk.getConnectString(), freePort()));
        int vip = n.listenAddress("orders").orElseThrow().getPort();
        CuratorFramework client = keep(CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryOneTime(100)));
        client.start();
        client.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL)
                .forPath("/services/orders/127.0.0.1:" + a.port());
        await().atMost(Duration.ofSeconds(15)).until(() -> vip(n, "orders").eligible() == 1);
        assertThat(ask(vip)).isEqualTo("a");
        assertThat(vip(n, "orders").backends().getFirst().origin()).startsWith("zookeeper:/services/orders/");

        try (Socket open = connect(vip)) {
            assertThat(ask(open)).isEqualTo("a");
            client.create().withMode(CreateMode.EPHEMERAL).forPath("/services/orders/127.0.0.1:" + b.port());
            client.delete().forPath("/services/orders/127.0.0.1:" + a.port());
            await().atMost(Duration.ofSeconds(15)).until(() -> vip(n, "orders").backends().size() == 1
                    && vip(n, "orders").backends().getFirst().address().endsWith(":" + b.port()));
            for (int i = 0; i < 5; i++) {
                assertThat(ask(vip)).isEqualTo("b");
            }
            assertThat(ask(open)).as("connection opened before deregistration still served by a").isEqualTo("a");
        }
        assertThat(n.control().view().sources()).singleElement().satisfies(s -> {
            assertThat(s.name()).isEqualTo("zookeeper");
            assertThat(s.connected()).isTrue();
            assertThat(s.stale()).isFalse();
        });
    }

    @Test
    void marathonScalingKillingAndVipLabelsAreAppliedInPlace() throws Exception {
        FakeMarathon marathon = keep(FakeMarathon.leader());
        Named a = keep(new Named("a"));
        Named b = keep(new Named("b"));
        int labelled = freePort();
        String app = MarathonPayloads.hostApp("/orders", "[" + MarathonPayloads.portDef(10001, "tcp",
                "{\"VIP_0\":\"127.0.0.1:" + labelled + "\"}") + "]");
        marathon.putApp(app);
        marathon.putTask("/orders", MarathonPayloads.task("/orders", "orders.t1", "TASK_RUNNING", "127.0.0.1", a.port()));
        Node n = node("""
                admin: {enabled: false}
                discovery:
                  marathon:
                    urls: [%s]
                vips:
                  - name: orders
                    listen: 127.0.0.1:%d
                    service: "/orders#0"
                """.formatted(marathon.baseUri(), freePort()));
        int vip = n.listenAddress("orders").orElseThrow().getPort();
        await().atMost(Duration.ofSeconds(15)).until(() -> vip(n, "orders").eligible() == 1);
        assertThat(ask(vip)).isEqualTo("a");

        // The VIP label declared a VIP of its own: served on its address with no config change.
        String declared = "marathon-127.0.0.1-" + labelled + "-tcp";
        await().atMost(Duration.ofSeconds(15)).until(() -> n.control().view().vip(declared)
                .map(NodeView.VipView::eligible).orElse(0) == 1);
        assertThat(ask(labelled)).isEqualTo("a");

        // Scale up: a second task starts running (event applied in place).
        marathon.putTask("/orders", MarathonPayloads.task("/orders", "orders.t2", "TASK_RUNNING", "127.0.0.1", b.port()));
        marathon.emit("status_update_event", MarathonPayloads.statusUpdate("/orders", "orders.t2", "TASK_RUNNING",
                "127.0.0.1", b.port()));
        await().atMost(Duration.ofSeconds(15)).until(() -> vip(n, "orders").eligible() == 2);
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            seen.add(ask(vip));
        }
        assertThat(seen).contains("a", "b");

        // TASK_KILLING drains t1: no new connections to it.
        marathon.setTaskState("/orders", "orders.t1", "TASK_KILLING");
        marathon.emit("status_update_event", MarathonPayloads.statusUpdate("/orders", "orders.t1", "TASK_KILLING",
                "127.0.0.1", a.port()));
        await().atMost(Duration.ofSeconds(15)).until(() -> vip(n, "orders").backends().stream()
                .anyMatch(bv -> bv.flags().contains(HealthFlag.DRAINING)));
        for (int i = 0; i < 6; i++) {
            assertThat(ask(vip)).isEqualTo("b");
        }
    }

    // ------------------------------------------------------------------ helpers

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
        s.setSoTimeout(5000);
        return s;
    }

    /** Sends a newline, reads the backend's one-letter name. */
    private static String ask(Socket s) throws IOException {
        s.getOutputStream().write('\n');
        int c = s.getInputStream().read();
        if (c < 0) {
            throw new IOException("connection closed");
        }
        return String.valueOf((char) c);
    }

    private static String ask(int port) throws IOException {
        try (Socket s = connect(port)) {
            return ask(s);
        }
    }

    /** A backend that answers each newline with its one-letter name. */
    static final class Named implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());

        Named(String name) throws IOException {
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
