package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.tandem.config.Timeouts;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.PatternStream;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.TestBackend;
import io.tandem.core.testing.TestBackend.Mode;
import io.tandem.core.testing.TestClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
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
    void acceptedClientSocketsHaveKeepAliveAndNoDelayOn() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(echo.address()).start());
        try (Socket s = TestClient.connect(proxy.address())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> !proxy.vip.connections().isEmpty());
            TcpConnection conn = (TcpConnection) proxy.vip.connections().iterator().next();
            // Reads the socket options from the kernel (getsockopt) on the connection's loop. On
            // epoll neither is set per accepted socket: Linux copies them from the listening socket.
            boolean[] options = conn.executor().submit(() -> switch (conn.client) {
                case RawSocket raw -> new boolean[] {raw.isKeepAlive(), raw.isTcpNoDelay()};
                case NioSocket nio -> new boolean[] {nio.isKeepAlive(), nio.isTcpNoDelay()};
                default -> throw new IllegalStateException("unknown socket " + conn.client);
            }).get(10, TimeUnit.SECONDS);
            assertThat(options[0]).as("SO_KEEPALIVE on the accepted socket").isTrue();
            assertThat(options[1]).as("TCP_NODELAY on the accepted socket").isTrue();
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

    /**
     * A connection that picked its backend from a snapshot older than the one that cuts that
     * backend ({@code close_on_backend_down}) may connect after the control loop's sweep, which
     * only sees connected ones: on connecting it checks the current snapshot and cuts itself.
     * Here the current snapshot both routes to the backend and cuts it, so the pick and the
     * check meet in one connection.
     */
    @Test
    void aConnectionThatReachesABackendBeingCutCutsItself() throws Exception {
        ServerSocket backend = backendSocket();
        ProxyFixture proxy = proxyTo(backend);
        BackendPool p = proxy.vip.pool();
        proxy.vip.publish(new BackendPool(p.config(), p.backends(), p.policy(), false, p.generation() + 1,
                Set.of(proxy.backends.getFirst())));
        CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> {
            try {
                return backend.accept();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        // The client sees its connection cut: a reset (possibly already at connect), or an end of stream.
        assertThatThrownBy(() -> {
            try (Socket s = new Socket()) {
                s.connect(proxy.address(), 5_000);
                s.setSoTimeout(10_000);
                if (s.getInputStream().read() < 0) {
                    throw new IOException("end of stream");
                }
            }
        }).isInstanceOf(IOException.class);
        // The backend sees a reset, not a clean end of the stream.
        try (Socket b = accepted.get(10, TimeUnit.SECONDS)) {
            b.setSoTimeout(10_000);
            assertThatThrownBy(() -> b.getInputStream().read()).isInstanceOf(SocketException.class);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.vip.stats().active.get() == 0);
    }

    /**
     * The proxy's client socket shut both ways (the client sent its FIN, the backend's FIN was
     * passed on) while request bytes still wait in the proxy for a backend that does not read:
     * a level-triggered poll would report that socket on every wait, and nothing can be done with
     * it until the backend reads. The raw epoll socket is edge-triggered (reported once), the NIO
     * socket stops asking for input while it is readable: the loop must not spin on it
     * meanwhile, and every byte must still arrive once the backend reads.
     *
     * <p>The client streams (through a small send buffer) until the proxy has to hold bytes
     * itself, then sends its FIN: the proxy had been reading it promptly until then, so what is
     * still unsent and the FIN fit in the proxy's receive buffer (how much the kernel buffers towards a backend that does not read depends on
     * its buffer autotuning, so a fixed request size cannot build this state reliably).
     */
    @Test
    void aClientGoneBothWaysWhileItsBytesWaitForASlowBackendDoesNotSpinTheLoop() throws Exception {
        ServerSocket backend = track(new ServerSocket());
        backend.setReceiveBufferSize(4096); // a small window: the rest waits in the proxy's buffers
        backend.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        ProxyFixture proxy = proxyTo(backend);
        CompletableFuture<Socket> accepted = CompletableFuture.supplyAsync(() -> {
            try {
                return backend.accept();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        try (Socket client = TestClient.connect(proxy.address()); Socket b = accepted.get(10, TimeUnit.SECONDS)) {
            client.setSoTimeout(10_000);
            b.setSoTimeout(10_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> !proxy.vip.connections().isEmpty());
            TcpConnection conn = (TcpConnection) proxy.vip.connections().iterator().next();
            // A small send buffer: when the proxy starts holding bytes, little is still unsent here.
            client.setSendBufferSize(32 * 1024);
            PatternStream pattern = new PatternStream(91);
            byte[] chunk = new byte[16 * 1024];
            long sent = 0;
            while (!conn.executor().submit(conn::clientBytesWaiting).get(10, TimeUnit.SECONDS)) {
                assertThat(sent).as("bytes sent before the proxy held any").isLessThan(256L << 20);
                pattern.next(chunk, 0, chunk.length);
                client.getOutputStream().write(chunk);
                sent += chunk.length;
            }
            client.shutdownOutput();
            b.getOutputStream().write("resp".getBytes(StandardCharsets.US_ASCII));
            b.shutdownOutput();
            assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .as("the answer, then the proxy's FIN").isEqualTo("resp");
            // The proxy's kernel acknowledged the client's FIN (after every request byte) once the
            // client's socket is in FIN_WAIT2 or TIME_WAIT (its FIN went first) or gone from the
            // table (the proxy's went first: LAST_ACK, then closed while the Socket is still open).
            int proxyPort = proxy.address().getPort();
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                int st = tcpState(client.getLocalPort(), proxyPort);
                return st == FIN_WAIT2 || st == TIME_WAIT || st == -1;
            });
            assertThat(conn.executor().submit(conn::clientBytesWaiting).get(10, TimeUnit.SECONDS))
                    .as("request bytes still wait in the proxy").isTrue();
            long before = loopCpuNanos();
            Thread.sleep(1_000); // the measurement window itself, not a wait for a condition
            long spent = loopCpuNanos() - before;
            System.out.printf("slow backend transport=%s sent=%d loop_cpu_ms=%d%n", transport, sent,
                    TimeUnit.NANOSECONDS.toMillis(spent));
            assertThat(Duration.ofNanos(spent)).as("event-loop CPU over 1 s while nothing can move")
                    .isLessThan(Duration.ofMillis(300));
            // The backend reads now: every request byte in order, then EOF.
            TestClient.ReadResult r = TestClient.readPattern(b.getInputStream(), 91);
            assertThat(r.mismatchAt()).isEqualTo(-1);
            assertThat(r.bytes()).isEqualTo(sent);
            assertThat(r.end()).isEqualTo(TestBackend.End.EOF);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.vip.stats().active.get() == 0);
    }

    private static final int FIN_WAIT2 = 5;
    private static final int TIME_WAIT = 6;

    /**
     * The kernel's TCP state ("st" in /proc/net/tcp, or tcp6 for dual-stack sockets) of the
     * loopback socket from {@code localPort} to {@code remotePort}, or -1 when there is none.
     */
    private static int tcpState(int localPort, int remotePort) throws IOException {
        String local = String.format(":%04X", localPort);
        String remote = String.format(":%04X", remotePort);
        for (String table : new String[] {"/proc/net/tcp", "/proc/net/tcp6"}) {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(table))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 3 && f[1].endsWith(local) && f[2].endsWith(remote)) {
                    return Integer.parseInt(f[3], 16);
                }
            }
        }
        return -1;
    }

    /** CPU time of this transport's event-loop threads (ProxyFixture names them proxy-KIND-N-M). */
    private long loopCpuNanos() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        String prefix = "proxy-" + transport.name().toLowerCase() + "-";
        long total = 0;
        for (java.lang.management.ThreadInfo t : mx.dumpAllThreads(false, false)) {
            if (t.getThreadName().startsWith(prefix)) {
                total += Math.max(0, mx.getThreadCpuTime(t.getThreadId()));
            }
        }
        return total;
    }
}
