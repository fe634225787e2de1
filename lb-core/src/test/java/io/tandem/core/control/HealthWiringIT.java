package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.AdminSettings;
import io.tandem.config.BackendConfig;
import io.tandem.config.CheckTiming;
import io.tandem.config.ConfigResult;
import io.tandem.config.HealthCheckSpec;
import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.OutlierDetection;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.RuntimeSettings;
import io.tandem.config.TandemConfig;
import io.tandem.config.Timeouts;
import io.tandem.config.TransportKind;
import io.tandem.config.VipConfig;
import io.tandem.core.control.ControlLoopIT.Echo;
import io.tandem.core.control.NodeControl.BackendAction;
import io.tandem.core.node.Node;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Health wired through a real node on loopback: passive ejection on the first refused connect,
 * active checks marking a backend down and up, panic when nothing is eligible, and the two ways
 * established connections to a backend get closed (backend down, drain deadline).
 */
class HealthWiringIT {
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void cleanup() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    private <T extends AutoCloseable> T keep(T c) {
        closeables.add(c);
        return c;
    }

    private static final CheckTiming FAST = new CheckTiming(Duration.ofMillis(50), Duration.ofMillis(200), 1, 1, 0,
            Duration.ofMillis(20), Duration.ofMillis(50));

    private static VipConfig vip(List<Integer> ports, Optional<HealthCheckSpec> check, HealthPolicy health) {
        List<BackendConfig> bs = ports.stream().map(p -> new BackendConfig(HostPort.of("127.0.0.1", p), 1)).toList();
        return new VipConfig("v", HostPort.of("127.0.0.1", 0), Protocol.TCP, PolicyKind.ROUND_ROBIN, bs,
                Limits.UNLIMITED, Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY, check, health,
                Optional.empty());
    }

    private Node node(VipConfig v, Duration drain) throws Node.StartException {
        TandemConfig cfg = new TandemConfig(new RuntimeSettings(1, TransportKind.AUTO, drain),
                new AdminSettings(false, HostPort.of("127.0.0.1", 0), Optional.empty()), List.of(v));
        Node n = Node.start(new Node.Options("t", cfg, () -> new ConfigResult.Valid(cfg), "test", Optional.empty()));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        return n;
    }

    /**
     * A port that refuses connections for the whole test: bound, never listening. (A port freed
     * just before could be handed to the node's own port-0 listener: a real self-loop.)
     */
    private int deadPort() throws IOException {
        Socket s = keep(new Socket());
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return s.getLocalPort();
    }

    private static NodeView.BackendView backend(Node n, int port) {
        return n.control().view().vip("v").orElseThrow().backends().stream()
                .filter(b -> b.address().endsWith(":" + port)).findFirst().orElseThrow();
    }

    private static String echoOnce(int port, String text) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(text.getBytes());
            return new String(s.getInputStream().readNBytes(text.length()));
        }
    }

    @Test
    void aRefusingBackendIsEjectedOnItsFirstFailureAndNoClientSeesIt() throws Exception {
        Echo a = keep(new Echo());
        Echo b = keep(new Echo());
        int dead = deadPort();
        Node n = node(vip(List.of(a.port(), dead, b.port()), Optional.empty(), HealthPolicy.DEFAULTS), Duration.ZERO);
        int vip = n.listenAddress("v").orElseThrow().getPort();
        for (int i = 0; i < 300; i++) {
            assertThat(echoOnce(vip, "m" + i)).isEqualTo("m" + i);
        }
        NodeView.BackendView bv = backend(n, dead);
        // Ejected on the first refusal for 1 s, then 2 s, 4 s...: only a few of the 300 attempts reached
        // it (those accepted before the new pool was published; more on a loaded machine), each retried
        // on another backend at once.
        assertThat(bv.connectFailures()).as("transitions %s", bv.recentTransitions()).isBetween(1L, 30L);
        assertThat(bv.recentTransitions().getFirst().reason()).startsWith("1 consecutive failure");
        assertThat(bv.recentTransitions()).first().satisfies(t -> {
            assertThat(t.flag()).isEqualTo(HealthFlag.EJECTED_PASSIVE);
            assertThat(t.set()).isTrue();
            assertThat(t.reason()).isNotBlank();
        });
        assertThat(n.metrics().registry().scrape()).contains("tandem_health_detection_seconds_count{cause=\"passive\",vip=\"v\"}");
    }

    @Test
    void activeCheckTakesADeadBackendOutAndBringsItBackWhenItReturns() throws Exception {
        Echo a = keep(new Echo());
        Echo b = new Echo();
        int bPort = b.port();
        HealthCheckSpec tcp = new HealthCheckSpec.Tcp(FAST, OptionalInt.empty());
        Node n = node(vip(List.of(a.port(), bPort), Optional.of(tcp), new HealthPolicy(false,
                OutlierDetection.DEFAULTS, 0, Duration.ZERO, false)), Duration.ZERO);
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(n, bPort).eligible() && backend(n, a.port()).eligible());

        b.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(n, bPort).flags().contains(HealthFlag.FAILED_ACTIVE_CHECK));
        int vip = n.listenAddress("v").orElseThrow().getPort();
        for (int i = 0; i < 50; i++) {
            assertThat(echoOnce(vip, "x" + i)).isEqualTo("x" + i);
        }

        Echo back = keep(new Echo(bPort));
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(n, bPort).eligible());
        int before = back.accepted.get();
        for (int i = 0; i < 20; i++) {
            echoOnce(vip, "y" + i);
        }
        // Round-robin over two: 10 of the 20 connections, plus any health probes in between.
        assertThat(back.accepted.get() - before).isBetween(10, 20);
    }

    @Test
    void whenEveryBackendFailsItsCheckTheVipPanicsAndStillRoutes() throws Exception {
        // Backends that accept TCP (so traffic works) but fail an HTTP check (they echo, never answer HTTP).
        Echo a = keep(new Echo());
        Echo b = keep(new Echo());
        HealthCheckSpec http = new HealthCheckSpec.Http(FAST, OptionalInt.empty(), false, "GET", "/health",
                Optional.empty(), 200, 299, Optional.empty());
        Node n = node(vip(List.of(a.port(), b.port()), Optional.of(http), HealthPolicy.DEFAULTS), Duration.ZERO);
        await().atMost(Duration.ofSeconds(10)).until(() -> n.control().view().vip("v").orElseThrow().panic());
        assertThat(backend(n, a.port()).flags()).containsAnyOf(HealthFlag.FAILED_ACTIVE_CHECK,
                HealthFlag.PENDING_FIRST_CHECK);
        int vip = n.listenAddress("v").orElseThrow().getPort();
        assertThat(echoOnce(vip, "still served")).isEqualTo("still served");
        assertThat(n.metrics().registry().scrape()).contains("tandem_vip_panic{vip=\"v\"} 1.0");
    }

    @Test
    void closeOnBackendDownCutsTheConnectionsOfABackendThatStopsAccepting() throws Exception {
        Echo a = keep(new Echo());
        Echo b = keep(new Echo());
        HealthCheckSpec tcp = new HealthCheckSpec.Tcp(FAST, OptionalInt.empty());
        Node n = node(vip(List.of(a.port(), b.port()), Optional.of(tcp), new HealthPolicy(true,
                OutlierDetection.DEFAULTS, 0, Duration.ZERO, true)), Duration.ZERO);
        int vip = n.listenAddress("v").orElseThrow().getPort();
        List<Socket> open = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Socket s = new Socket();
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), vip), 2000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write('x');
            assertThat(s.getInputStream().read()).isEqualTo('x');
            open.add(s);
        }
        // carriedData, not accepted: a TCP health check may connect to b at any moment
        assertThat(b.carriedData.get()).as("round robin put two client connections on b").isEqualTo(2);
        b.server.close(); // stops accepting; its two established connections stay up on the backend side
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(n, b.port()).flags()
                .contains(HealthFlag.FAILED_ACTIVE_CHECK));
        int cut = 0;
        int alive = 0;
        for (Socket s : open) {
            try {
                s.getOutputStream().write('y');
                int r = s.getInputStream().read();
                if (r == 'y') {
                    alive++;
                } else {
                    cut++;
                }
            } catch (IOException e) {
                cut++;
            }
            s.close();
        }
        assertThat(cut).as("connections to the dead backend closed").isEqualTo(2);
        assertThat(alive).as("connections to the healthy backend untouched").isEqualTo(2);
    }

    @Test
    void aHungBackendIsEjectedByTheResponseTimeoutAndItsConnectionsAreClosed() throws Exception {
        // Accepts and reads, never answers: what a SIGSTOPped process looks like from outside.
        ServerSocket hung = keep(new ServerSocket(0, 128, InetAddress.getLoopbackAddress()));
        List<Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
        Thread.ofVirtual().start(() -> {
            while (!hung.isClosed()) {
                try {
                    Socket s = hung.accept();
                    held.add(s);
                    Thread.ofVirtual().start(() -> {
                        try {
                            s.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
                        } catch (IOException e) {
                            // closed
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
        closeables.add(() -> held.forEach(s -> {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }));
        Echo a = keep(new Echo());
        OutlierDetection od = new OutlierDetection(1, Duration.ofSeconds(5), Duration.ofSeconds(60), 50,
                Duration.ofMillis(300), io.tandem.config.ResponseTimeoutMode.FIRST_RESPONSE);
        Node n = node(vip(List.of(hung.getLocalPort(), a.port()), Optional.empty(),
                new HealthPolicy(false, od, 0, Duration.ZERO, true)), Duration.ZERO);
        int vip = n.listenAddress("v").orElseThrow().getPort();
        // Round-robin: one of the first two connections lands on the hung backend.
        List<Socket> clients = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            Socket s = new Socket();
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), vip), 2000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write('q');
            clients.add(s);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(n, hung.getLocalPort()).flags()
                .contains(HealthFlag.EJECTED_PASSIVE));
        assertThat(backend(n, hung.getLocalPort()).recentTransitions().getLast().reason())
                .contains("no response within");
        int answered = 0;
        int closed = 0;
        for (Socket s : clients) {
            try {
                int r = s.getInputStream().read();
                if (r == 'q') {
                    answered++;
                } else {
                    closed++;
                }
            } catch (IOException e) {
                closed++;
            }
            s.close();
        }
        assertThat(answered).as("the healthy backend answered").isEqualTo(1);
        assertThat(closed).as("the stuck connection was closed, not left hanging").isEqualTo(1);
        for (int i = 0; i < 10; i++) {
            assertThat(echoOnce(vip, "r" + i)).isEqualTo("r" + i);
        }
    }

    @Test
    void drainedBackendsConnectionsAreClosedAtTheDrainDeadline() throws Exception {
        Echo a = keep(new Echo());
        Node n = node(vip(List.of(a.port()), Optional.empty(), HealthPolicy.DEFAULTS), Duration.ofMillis(500));
        int vip = n.listenAddress("v").orElseThrow().getPort();
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), vip), 2000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write('x');
            assertThat(s.getInputStream().read()).isEqualTo('x');
            n.control().backendAction("v", "127.0.0.1:" + a.port(), BackendAction.DRAIN).join();
            s.getOutputStream().write('y');
            assertThat(s.getInputStream().read()).as("still served while draining").isEqualTo('y');
            long start = System.nanoTime();
            int r;
            try {
                r = s.getInputStream().read();
            } catch (IOException reset) {
                r = -1;
            }
            assertThat(r).isEqualTo(-1);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(8));
        }
    }

}
