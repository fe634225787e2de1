package io.tandem.core.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.Channel;
import io.netty.channel.socket.SocketChannelConfig;
import io.tandem.config.Timeouts;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.TestBackend;
import io.tandem.core.testing.TestBackend.Mode;
import io.tandem.core.testing.TestClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The per-connection shortcuts of the data path keep the connection's semantics: SO_KEEPALIVE
 * inherited from the listener, idle timers armed late, and the close at EOF that replaces a
 * half-closing shutdown once the other direction has finished (bytes still arrive, a requested
 * close still resets).
 */
@ParameterizedClass(name = "{0}")
@EnumSource(TransportKind.class)
@ExtendWith(LeakWatcher.class)
class ConnectionTeardownIT extends PerTransportIT {
    ConnectionTeardownIT(TransportKind transport) {
        super(transport);
    }

    /** What a backend saw after it answered and half-closed: the bytes that followed, and how its input ended. */
    private record AfterAnswer(String bytes, boolean reset) {
    }

    /**
     * A one-connection backend: reads {@code request.length()} bytes, answers, shuts its output
     * down (FIN), then reads whatever the client sends until EOF or reset.
     */
    private CompletableFuture<AfterAnswer> answerThenHalfClose(ServerSocket server, String request, String answer) {
        return CompletableFuture.supplyAsync(() -> {
            try (Socket s = server.accept()) {
                s.setSoTimeout(10_000);
                InputStream in = s.getInputStream();
                assertThat(new String(in.readNBytes(request.length()), StandardCharsets.US_ASCII)).isEqualTo(request);
                s.getOutputStream().write(answer.getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                ByteArrayOutputStream rest = new ByteArrayOutputStream();
                try {
                    in.transferTo(rest);
                } catch (SocketException e) {
                    return new AfterAnswer(rest.toString(StandardCharsets.US_ASCII), true);
                }
                return new AfterAnswer(rest.toString(StandardCharsets.US_ASCII), false);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private ServerSocket backendSocket() throws IOException {
        return track(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
    }

    private ProxyFixture proxyTo(ServerSocket backend) {
        return track(ProxyFixture.builder(transport)
                .backend(new InetSocketAddress(InetAddress.getLoopbackAddress(), backend.getLocalPort())).start());
    }

    @Test
    void acceptedClientSocketsHaveKeepAliveOn() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(echo.address()).start());
        try (Socket s = TestClient.connect(proxy.address())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> !proxy.vip.connections().isEmpty());
            Channel client = proxy.vip.connections().iterator().next();
            // Reads the socket option from the kernel (getsockopt) on both transports.
            boolean keepAlive = client.eventLoop().submit(() -> ((SocketChannelConfig) client.config()).isKeepAlive())
                    .get(10, TimeUnit.SECONDS);
            assertThat(keepAlive).as("SO_KEEPALIVE on the accepted socket").isTrue();
        }
    }

    @Test
    void idleTimeoutAboveTheLateArmingThresholdStillClosesAnIdleConnection() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        Duration idle = Duration.ofNanos(LateIdleTimers.MIN_IDLE_NANOS);
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(echo.address())
                .timeouts(new Timeouts(Duration.ofSeconds(2), idle, Duration.ZERO)).start());
        try (Socket s = TestClient.connect(proxy.address())) {
            s.setSoTimeout(15_000);
            s.getOutputStream().write('x');
            assertThat(s.getInputStream().read()).isEqualTo('x');
            long start = System.nanoTime();
            int end;
            try {
                end = s.getInputStream().read();
            } catch (SocketException e) {
                end = -1; // closed by the proxy with a reset is also an end
            }
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(end).as("proxy ended the idle connection").isEqualTo(-1);
            assertThat(ms).as("closed after ~%d ms idle", idle.toMillis()).isBetween(idle.toMillis() - 300, 12_000L);
        }
    }

    @Test
    void clientBytesSentAfterTheBackendFinishedArriveBeforeACleanFin() throws Exception {
        ServerSocket backend = backendSocket();
        ProxyFixture proxy = proxyTo(backend);
        CompletableFuture<AfterAnswer> seen = answerThenHalfClose(backend, "req", "resp");
        try (Socket s = TestClient.connect(proxy.address())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("req".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("resp");
            // The proxy's output to us is shut; our FIN now closes its client channel at EOF.
            s.getOutputStream().write("tail after the answer".getBytes(StandardCharsets.US_ASCII));
        }
        AfterAnswer after = seen.get(15, TimeUnit.SECONDS);
        assertThat(after.bytes()).isEqualTo("tail after the answer");
        assertThat(after.reset()).as("backend input ended with FIN, not reset").isFalse();
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.vip.stats().active.get() == 0);
    }

    @Test
    void requestedCloseAfterTheBackendFinishedStillResetsTheBackend() throws Exception {
        ServerSocket backend = backendSocket();
        ProxyFixture proxy = proxyTo(backend);
        CompletableFuture<AfterAnswer> seen = answerThenHalfClose(backend, "req", "resp");
        try (Socket s = TestClient.connect(proxy.address())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("req".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("resp");
            // Client still open, backend done: the control loop cuts the connection (close_on_backend_down).
            assertThat(proxy.vip.closeConnectionsTo(proxy.backends.getFirst())).isEqualTo(1);
            AfterAnswer after = seen.get(15, TimeUnit.SECONDS);
            assertThat(after.bytes()).isEmpty();
            assertThat(after.reset()).as("a cut connection resets the backend").isTrue();
        }
    }
}
