package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.tandem.config.Limits;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.core.policy.Policy;
import io.tandem.core.pool.Backend;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.RecordingEvents;
import io.tandem.core.testing.TestBackend;
import io.tandem.core.testing.TestBackend.Mode;
import io.tandem.core.testing.TestBackend.SinkResult;
import io.tandem.core.testing.TestClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Connection-level behaviour of the TCP proxy on real loopback sockets, per transport:
 * connect retries, no backend, limits, idle timeout, PROXY protocol end to end.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(TransportKind.class)
@ExtendWith(LeakWatcher.class)
class ProxyBehaviourIT extends PerTransportIT {
    static final int RETRY_CONNECTIONS = Integer.getInteger("tandem.it.retryConnections", 3000);

    ProxyBehaviourIT(TransportKind transport) {
        super(transport);
    }

    private static InetSocketAddress dead() throws IOException {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), TestBackend.deadPort());
    }

    /** Writes {@code text} and reads the same number of bytes back (through an ECHO backend). */
    private static String roundTrip(Socket s, String text) throws IOException {
        byte[] out = text.getBytes(StandardCharsets.US_ASCII);
        s.getOutputStream().write(out);
        byte[] in = s.getInputStream().readNBytes(out.length);
        return new String(in, StandardCharsets.US_ASCII);
    }

    /** True when the proxy ended the connection (EOF or reset) within the socket's read timeout. */
    private static boolean endedByProxy(Socket s) {
        try {
            return s.getInputStream().read() == -1;
        } catch (SocketException e) {
            return e.getMessage() != null && e.getMessage().contains("reset");
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Connects and reads: true when the proxy ended the connection. The proxy may reset a
     * refused connection so fast that the reset is reported by connect() itself.
     */
    private static boolean refusedByProxy(InetSocketAddress proxy) throws IOException {
        Socket s = new Socket();
        try (s) {
            s.connect(proxy, 5_000);
            s.setSoTimeout(5_000);
            return endedByProxy(s);
        } catch (SocketException e) {
            return e.getMessage() != null && e.getMessage().contains("reset");
        }
    }

    @Test
    void deadBackendIsRetriedOnAnotherWithoutClientVisibleFailures() throws Exception {
        TestBackend a = track(TestBackend.start(Mode.ECHO));
        TestBackend b = track(TestBackend.start(Mode.ECHO));
        RecordingEvents events = new RecordingEvents();
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(a.address()).backend(dead())
                .backend(b.address()).retries(2).events(events).start());
        Backend deadBackend = proxy.backends.get(1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        int failures = 0;
        int done = 0;
        for (; done < RETRY_CONNECTIONS && System.nanoTime() < deadline; done++) {
            try (Socket s = TestClient.connect(proxy.address())) {
                s.setSoTimeout(10_000);
                String msg = "m" + done;
                if (!roundTrip(s, msg).equals(msg)) {
                    failures++;
                }
            } catch (IOException e) {
                failures++;
            }
        }
        assertThat(done).as("connections made within the time bound").isEqualTo(RETRY_CONNECTIONS);
        assertThat(failures).as("client-visible failures").isZero();
        long connectFailures = deadBackend.stats().connectFailures.sum();
        assertThat(connectFailures).as("dead backend connect failures").isGreaterThanOrEqualTo(RETRY_CONNECTIONS / 4);
        assertThat(proxy.vip.stats().connectRetries.sum()).isEqualTo(connectFailures);
        assertThat(events.connectFailed.get()).isEqualTo((int) connectFailures);
        assertThat(proxy.vip.stats().noBackend.sum()).isZero();
        assertThat(a.accepted() + b.accepted()).isEqualTo(RETRY_CONNECTIONS);
    }

    @Test
    void allBackendsDownResetsTheClientFastAndCountsNoBackend() throws Exception {
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(dead()).backend(dead()).retries(3).start());
        long start = System.nanoTime();
        assertThatThrownBy(() -> {
            try (Socket s = new Socket()) {
                s.connect(proxy.address(), 5_000); // the RST may already be reported here
                s.setSoTimeout(5_000);
                s.getInputStream().read();
            }
        }).as("RST, not a clean EOF").isInstanceOf(SocketException.class).hasMessageContaining("reset");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
        assertThat(proxy.vip.stats().noBackend.sum()).isEqualTo(1);
        assertThat(proxy.backends).allSatisfy(b -> assertThat(b.stats().connectFailures.sum()).isEqualTo(1));
        await().atMost(Duration.ofSeconds(15)).until(() -> proxy.vip.stats().active.get() == 0);
    }

    @Test
    void maxConnectionsRefusesTheNextOneAndCountsIt() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(echo.address())
                .limits(new Limits(3, 0)).start());
        List<Socket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                Socket s = TestClient.connect(proxy.address());
                open.add(s);
                assertThat(roundTrip(s, "ok" + i)).isEqualTo("ok" + i);
            }
            assertThat(refusedByProxy(proxy.address())).as("4th connection closed by the proxy").isTrue();
            assertThat(proxy.vip.stats().limitHits.sum()).isEqualTo(1);
            assertThat(proxy.vip.stats().active.get()).isEqualTo(3);
            open.removeFirst().close();
            await().atMost(Duration.ofSeconds(15)).until(() -> proxy.vip.stats().active.get() == 2);
            try (Socket again = TestClient.connect(proxy.address())) {
                assertThat(roundTrip(again, "again")).isEqualTo("again");
            }
        } finally {
            for (Socket s : open) {
                s.close();
            }
        }
    }

    @Test
    void perBackendLimitRoutesToTheOtherBackendThenRefuses() throws Exception {
        TestBackend a = track(TestBackend.start(Mode.ECHO));
        TestBackend b = track(TestBackend.start(Mode.ECHO));
        // Always prefers the first backend not yet tried: only the limit can move traffic to b.
        java.util.function.Function<List<Backend>, Policy> firstAvailable = list -> (client, tried) ->
                list.stream().filter(x -> !tried.contains(x)).findFirst().orElse(null);
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(a.address()).backend(b.address())
                .limits(new Limits(0, 1)).policy(firstAvailable).start());
        try (Socket s1 = TestClient.connect(proxy.address()); Socket s2 = TestClient.connect(proxy.address())) {
            assertThat(roundTrip(s1, "one")).isEqualTo("one");
            assertThat(roundTrip(s2, "two")).isEqualTo("two");
            assertThat(a.accepted()).isEqualTo(1);
            assertThat(b.accepted()).isEqualTo(1);
            assertThat(refusedByProxy(proxy.address())).as("3rd connection refused: both backends at their limit")
                    .isTrue();
            assertThat(proxy.backends.get(0).stats().limitHits.sum()).isGreaterThanOrEqualTo(2);
            assertThat(proxy.backends.get(1).stats().limitHits.sum()).isEqualTo(1);
            assertThat(proxy.vip.stats().limitHits.sum()).isEqualTo(1);
            assertThat(proxy.vip.stats().noBackend.sum()).isZero();
        }
    }

    @Test
    void idleConnectionIsClosedAfterTheIdleTimeoutInCopyAndSpliceModes() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        for (RelayMode mode : List.of(RelayMode.COPY, RelayMode.SPLICE)) {
            ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(echo.address()).relay(mode)
                    .timeouts(new Timeouts(Duration.ofSeconds(2), Duration.ofMillis(300), Duration.ZERO)).start());
            try (Socket s = TestClient.connect(proxy.address())) {
                s.setSoTimeout(10_000);
                assertThat(roundTrip(s, "hello")).isEqualTo("hello");
                long start = System.nanoTime();
                assertThat(endedByProxy(s)).as("idle connection closed (%s)", mode).isTrue();
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertThat(ms).as("closed after ~300 ms idle (%s)", mode).isBetween(200L, 5_000L);
            }
        }
    }

    @Test
    void trafficKeepsAConnectionAliveBeyondTheIdleTimeoutInCopyAndSpliceModes() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        for (RelayMode mode : List.of(RelayMode.COPY, RelayMode.SPLICE)) {
            ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(echo.address()).relay(mode)
                    .timeouts(new Timeouts(Duration.ofSeconds(2), Duration.ofMillis(400), Duration.ZERO)).start());
            try (Socket s = TestClient.connect(proxy.address())) {
                s.setSoTimeout(5_000);
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1_500);
                int i = 0;
                while (System.nanoTime() < end) {
                    String msg = "tick" + i++;
                    assertThat(roundTrip(s, msg)).as("round trip %d (%s)", i, mode).isEqualTo(msg);
                    // pacing the traffic itself (the thing under test), not waiting for a condition
                    Thread.sleep(100);
                }
            }
        }
    }

    @Test
    void proxyProtocolHeaderReachesTheBackendBeforeThePayload() throws Exception {
        TestBackend capture = track(TestBackend.start(Mode.CAPTURE));
        for (ProxyProtocolVersion version : List.of(ProxyProtocolVersion.V1, ProxyProtocolVersion.V2)) {
            ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(capture.address())
                    .proxyProtocol(version).start());
            int clientPort;
            try (Socket s = TestClient.connect(proxy.address())) {
                clientPort = s.getLocalPort();
                s.getOutputStream().write("payload".getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                assertThat(s.getInputStream().read()).isEqualTo(-1);
            }
            byte[] bytes = capture.captured.poll(10, TimeUnit.SECONDS);
            assertThat(bytes).isNotNull();
            EmbeddedChannel ch = new EmbeddedChannel(new HAProxyMessageDecoder());
            ch.writeInbound(Unpooled.wrappedBuffer(bytes));
            HAProxyMessage msg = ch.readInbound();
            ByteBuf rest = ch.readInbound();
            try {
                assertThat(msg.sourceAddress()).isEqualTo("127.0.0.1");
                assertThat(msg.sourcePort()).isEqualTo(clientPort);
                assertThat(msg.destinationPort()).isEqualTo(proxy.address().getPort());
                assertThat(rest.toString(StandardCharsets.US_ASCII)).isEqualTo("payload");
            } finally {
                msg.release();
                rest.release();
                ch.finishAndReleaseAll();
            }
        }
    }

    @Test
    void spliceConfigWorksOnEveryTransport() throws Exception {
        // On NIO, SPLICE falls back to copy; on epoll it splices from the first byte.
        TestBackend sink = track(TestBackend.start(Mode.SINK));
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(sink.address()).relay(RelayMode.SPLICE)
                .start());
        long len = 16L * 1024 * 1024;
        try (Socket s = TestClient.connect(proxy.address())) {
            TestClient.header(s, 77, len, null);
            TestClient.writePattern(s.getOutputStream(), 77, len);
        }
        SinkResult r = sink.sinkResults.poll(30, TimeUnit.SECONDS);
        assertThat(r).isNotNull();
        assertThat(r.end()).isEqualTo(TestBackend.End.EOF);
        assertThat(r.mismatchAt()).isEqualTo(-1);
        assertThat(r.bytes()).isEqualTo(len);
    }

}
