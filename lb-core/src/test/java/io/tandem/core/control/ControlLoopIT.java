package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.config.AdminSettings;
import io.tandem.config.BackendConfig;
import io.tandem.config.ConfigError;
import io.tandem.config.ConfigResult;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.RuntimeSettings;
import io.tandem.config.TandemConfig;
import io.tandem.config.Timeouts;
import io.tandem.config.TransportKind;
import io.tandem.config.VipConfig;
import io.tandem.core.control.NodeControl.BackendAction;
import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.node.Node;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The control loop on a real node with real sockets, on epoll and NIO: operator actions change
 * new connections only, and reloads are all-or-nothing and never cut an open connection.
 */
class ControlLoopIT {
    private Echo b1;
    private Echo b2;
    private final AtomicReference<ConfigResult> source = new AtomicReference<>();

    @BeforeEach
    void start() throws IOException {
        b1 = new Echo();
        b2 = new Echo();
    }

    @AfterEach
    void stop() throws IOException {
        b1.close();
        b2.close();
    }

    private static VipConfig vip(String name, Echo... backends) {
        List<BackendConfig> bs = java.util.Arrays.stream(backends)
                .map(e -> new BackendConfig(HostPort.of("127.0.0.1", e.port()), 1)).toList();
        return new VipConfig(name, HostPort.of("127.0.0.1", 0), Protocol.TCP, PolicyKind.ROUND_ROBIN, bs,
                Limits.UNLIMITED, Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY, Optional.empty());
    }

    private static TandemConfig config(TransportKind transport, VipConfig... vips) {
        return new TandemConfig(new RuntimeSettings(1, transport, Duration.ofSeconds(1)),
                new AdminSettings(false, HostPort.of("127.0.0.1", 0), Optional.empty()), List.of(vips));
    }

    private Node node(TandemConfig cfg) throws Node.StartException {
        source.set(new ConfigResult.Valid(cfg));
        return Node.start(new Node.Options("test", cfg, source::get, "test source", Optional.empty()));
    }

    private static int port(Node node, String vip) {
        return node.listenAddress(vip).orElseThrow().getPort();
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "NIO"})
    void drainedBackendGetsNoNewConnectionsUntilEnabled(TransportKind transport) throws Exception {
        try (Node node = node(config(transport, vip("a", b1, b2)))) {
            int vip = port(node, "a");
            String b1Address = "127.0.0.1:" + b1.port();

            var view = node.control().backendAction("a", b1Address, BackendAction.DRAIN).join();
            assertThat(view.flags()).containsExactly(HealthFlag.DRAINING);
            assertThat(view.eligible()).isFalse();
            int before = b1.accepted.get();
            for (int i = 0; i < 20; i++) {
                assertThat(echoOnce(vip, "d" + i)).isEqualTo("d" + i);
            }
            assertThat(b1.accepted.get()).isEqualTo(before);

            node.control().backendAction("a", b1Address, BackendAction.ENABLE).join();
            for (int i = 0; i < 20; i++) {
                echoOnce(vip, "e" + i);
            }
            assertThat(b1.accepted.get()).isEqualTo(before + 10);
            NodeView.BackendView bv = node.control().view().vip("a").orElseThrow().backends().getFirst();
            assertThat(bv.recentTransitions()).extracting(NodeView.TransitionView::reason)
                    .containsExactly("operator drain", "operator enable");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "NIO"})
    void unknownVipOrBackendIsRejectedWithAReason(TransportKind transport) throws Exception {
        try (Node node = node(config(transport, vip("a", b1)))) {
            assertThatThrownBy(() -> node.control().backendAction("nope", "127.0.0.1:1", BackendAction.DRAIN).join())
                    .isInstanceOf(CompletionException.class).cause()
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("no VIP named \"nope\"");
            assertThatThrownBy(() -> node.control().backendAction("a", "127.0.0.1:1", BackendAction.DRAIN).join())
                    .cause().hasMessageContaining("has no backend 127.0.0.1:1");
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "NIO"})
    void rejectedReloadChangesNothingAndAppliedReloadKeepsOpenConnections(TransportKind transport) throws Exception {
        try (Node node = node(config(transport, vip("a", b1)))) {
            int vip = port(node, "a");
            try (Socket open = connect(vip)) {
                assertThat(echo(open, "1")).isEqualTo("1");

                source.set(new ConfigResult.Invalid(List.of(new ConfigError("vips[0].port", "0", "1..65535"))));
                ReloadOutcome rejected = node.control().reload().join();
                assertThat(rejected.applied()).isFalse();
                assertThat(rejected.errors()).containsExactly("vips[0].port: 0 (expected 1..65535)");
                assertThat(node.control().view().configGeneration()).isEqualTo(1);

                // Replace the VIP's only backend: the open connection keeps its backend.
                source.set(new ConfigResult.Valid(config(transport, vip("a", b2), vip("extra", b2))));
                ReloadOutcome applied = node.control().reload().join();
                assertThat(applied.applied()).isTrue();
                assertThat(applied.changes()).contains("removed backend 127.0.0.1:" + b1.port() + " from a",
                        "added backend 127.0.0.1:" + b2.port() + " to a");
                assertThat(echo(open, "2")).isEqualTo("2");
                assertThat(echoOnce(vip, "new")).isEqualTo("new");
                assertThat(b2.accepted.get()).isEqualTo(1);
                assertThat(echoOnce(port(node, "extra"), "x")).isEqualTo("x");

                NodeView view = node.control().view();
                assertThat(view.configGeneration()).isEqualTo(2);
                assertThat(view.vips()).extracting(NodeView.VipView::name).containsExactly("a", "extra");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = TransportKind.class, names = {"EPOLL", "NIO"})
    void reloadThatCannotBindIsRejectedWhole(TransportKind transport) throws Exception {
        try (Node node = node(config(transport, vip("a", b1)));
             ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            VipConfig clash = new VipConfig("clash", HostPort.of("127.0.0.1", taken.getLocalPort()), Protocol.TCP,
                    PolicyKind.ROUND_ROBIN, List.of(new BackendConfig(HostPort.of("127.0.0.1", b1.port()), 1)),
                    Limits.UNLIMITED, Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY,
                    Optional.empty());
            source.set(new ConfigResult.Valid(config(transport, vip("a", b2), vip("b", b2), clash)));
            ReloadOutcome outcome = node.control().reload().join();
            assertThat(outcome.applied()).isFalse();
            assertThat(outcome.errors()).singleElement().asString().startsWith("vips[clash].listen");
            // Nothing half-applied: no VIP b, VIP a still on b1.
            assertThat(node.control().view().vips()).extracting(NodeView.VipView::name).containsExactly("a");
            echoOnce(port(node, "a"), "x");
            assertThat(b1.accepted.get()).isEqualTo(1);
            assertThat(b2.accepted.get()).isZero();
        }
    }

    // ------------------------------------------------------------------ helpers

    private static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
        s.setSoTimeout(5000);
        return s;
    }

    private static String echo(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes());
        return new String(s.getInputStream().readNBytes(text.length()));
    }

    private static String echoOnce(int port, String text) throws IOException {
        try (Socket s = connect(port)) {
            return echo(s, text);
        }
    }

    /** A loopback echo backend counting accepted connections (TCP health checks included) and those that carried data. */
    static final class Echo implements AutoCloseable {
        final ServerSocket server;
        final AtomicInteger accepted = new AtomicInteger();
        final AtomicInteger carriedData = new AtomicInteger();

        Echo() throws IOException {
            this(0);
        }

        /** An echo backend on {@code port} (0 = any), e.g. to bring a "dead" backend back. */
        Echo(int port) throws IOException {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 128);
            Thread.ofVirtual().start(() -> {
                while (!server.isClosed()) {
                    try {
                        Socket s = server.accept();
                        accepted.incrementAndGet();
                        Thread.ofVirtual().start(() -> {
                            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                                int first = in.read();
                                if (first < 0) {
                                    return;
                                }
                                carriedData.incrementAndGet(); // before the echo, so a client that read it sees the count
                                out.write(first);
                                in.transferTo(out);
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
