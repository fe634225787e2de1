package io.tandem.core.tcp;

import static io.tandem.core.testing.TestBackend.End.EOF;
import static io.tandem.core.testing.TestBackend.End.RESET;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.config.RelayMode;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.TestBackend;
import io.tandem.core.testing.TestBackend.Mode;
import io.tandem.core.testing.TestBackend.SinkResult;
import io.tandem.core.testing.TestClient;
import io.tandem.core.testing.TestClient.ReadResult;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Byte integrity of the TCP relay on real loopback sockets, written once and run for every
 * socket kind and relay mode: raw epoll in every mode, raw epoll on the fallback without Netty's
 * epoll descriptor (AUTO: copy, then splice), NIO (copy). Streams are deterministic patterns
 * verified incrementally.
 *
 * <p>Sizes (system properties, defaults = the CI sizes): {@code tandem.it.bigBytes} (1 GiB) for
 * the one-way transfers of each transport's default mode (epoll AUTO, NIO COPY) and
 * {@code tandem.it.mediumBytes} (256 MiB) for the other combinations; {@code tandem.it.burstBytes}
 * (256 MiB); {@code tandem.it.halfCloseBytes} (64 MiB) × {@code tandem.it.halfCloseRepeats} (10);
 * {@code tandem.it.concurrent} (1000) connections.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("combos")
@ExtendWith(LeakWatcher.class)
class RelayIntegrityIT {
    static final long MiB = 1024 * 1024;
    static final long BIG = Long.getLong("tandem.it.bigBytes", 1024 * MiB);
    static final long MEDIUM = Long.getLong("tandem.it.mediumBytes", 256 * MiB);
    static final long BURST = Long.getLong("tandem.it.burstBytes", 256 * MiB);
    static final long HALF_CLOSE = Long.getLong("tandem.it.halfCloseBytes", 64 * MiB);
    static final int HALF_CLOSE_REPEATS = Integer.getInteger("tandem.it.halfCloseRepeats", 10);
    static final int CONCURRENT = Integer.getInteger("tandem.it.concurrent", 1000);

    record Combo(TransportKind transport, RelayMode mode, boolean defaultMode) {
        @Override
        public String toString() {
            return transport.name().toLowerCase() + "/" + mode.name().toLowerCase();
        }
    }

    static Stream<Combo> combos() {
        return Stream.of(
                new Combo(TransportKind.EPOLL, RelayMode.AUTO, true),
                new Combo(TransportKind.EPOLL, RelayMode.COPY, false),
                new Combo(TransportKind.EPOLL, RelayMode.SPLICE, false),
                new Combo(TransportKind.EPOLL_FALLBACK, RelayMode.AUTO, false),
                new Combo(TransportKind.NIO, RelayMode.COPY, true));
    }

    private final Combo combo;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private ProxyFixture proxy;

    RelayIntegrityIT(Combo combo) {
        this.combo = combo;
    }

    @BeforeEach
    void requireTransport() {
        assumeTrue(combo.transport().available(), "epoll unavailable");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            ProxyFixture p = proxy;
            // Every connection must be torn down (and its counters released) once clients are gone.
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(p.vip.stats().active.get())
                    .as("active connections after the test").isZero());
            proxy.close();
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private TestBackend backend(Mode mode) throws Exception {
        TestBackend b = TestBackend.start(mode);
        closeables.add(b);
        proxy = ProxyFixture.builder(combo.transport()).relay(combo.mode()).backend(b.address()).start();
        return b;
    }

    private long oneWayBytes() {
        return combo.defaultMode() ? BIG : MEDIUM;
    }

    @Test
    void clientToBackendStreamArrivesByteExact() throws Exception {
        TestBackend sink = backend(Mode.SINK);
        long len = oneWayBytes();
        try (Socket s = TestClient.connect(proxy.address())) {
            TestClient.header(s, 11, len, null);
            TestClient.writePattern(s.getOutputStream(), 11, len);
            s.shutdownOutput();
            assertThat(s.getInputStream().read()).as("EOF after the backend closed").isEqualTo(-1);
        }
        SinkResult r = sink.sinkResults.poll(60, TimeUnit.SECONDS);
        assertThat(r).isNotNull();
        assertThat(r.end()).isEqualTo(EOF);
        assertThat(r.mismatchAt()).as("first corrupted offset").isEqualTo(-1);
        assertThat(r.bytes()).isEqualTo(len);
        assertThat(proxy.vip.stats().bytesIn.sum()).as("vip bytesIn").isEqualTo(len + 16);
        assertThat(proxy.backends.getFirst().stats().bytesOut.sum()).as("backend bytesOut").isEqualTo(len + 16);
    }

    @Test
    void backendToClientStreamArrivesByteExactThenEof() throws Exception {
        backend(Mode.SOURCE);
        long len = oneWayBytes();
        try (Socket s = TestClient.connect(proxy.address())) {
            TestClient.header(s, 22, len, false);
            ReadResult r = TestClient.readPattern(s.getInputStream(), 22);
            assertThat(r.end()).as("end (%s)", r.error()).isEqualTo(EOF);
            assertThat(r.mismatchAt()).as("first corrupted offset").isEqualTo(-1);
            assertThat(r.bytes()).isEqualTo(len);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(proxy.vip.stats().bytesOut.sum()).as("vip bytesOut").isEqualTo(len));
    }

    @Test
    void burstThenCloseDeliversEveryByteToTheBackend() throws Exception {
        TestBackend sink = backend(Mode.SINK);
        try (Socket s = TestClient.connect(proxy.address())) {
            TestClient.header(s, 33, BURST, null);
            TestClient.writePattern(s.getOutputStream(), 33, BURST);
        } // close right after the last write: FIN follows the burst immediately
        SinkResult r = sink.sinkResults.poll(60, TimeUnit.SECONDS);
        assertThat(r).isNotNull();
        assertThat(r.end()).as("end (%s)", r.error()).isEqualTo(EOF);
        assertThat(r.mismatchAt()).isEqualTo(-1);
        assertThat(r.bytes()).as("bytes at the backend").isEqualTo(BURST);
    }

    @Test
    void halfClosedEchoReturnsTheWholeStreamEveryTime() throws Exception {
        backend(Mode.ECHO);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < HALF_CLOSE_REPEATS; i++) {
            ReadResult r = TestClient.halfCloseEcho(proxy.address(), 100 + i, HALF_CLOSE);
            if (r.end() != EOF || r.mismatchAt() != -1 || r.bytes() != HALF_CLOSE) {
                failures.add("run " + i + ": " + r);
            }
        }
        assertThat(failures).as("failed half-close runs of %d", HALF_CLOSE_REPEATS).isEmpty();
    }

    @Test
    void backendResetMidStreamResetsTheClient() throws Exception {
        backend(Mode.SOURCE);
        try (Socket s = TestClient.connect(proxy.address())) {
            TestClient.header(s, 44, 8 * MiB, true);
            ReadResult r = TestClient.readPattern(s.getInputStream(), 44);
            assertThat(r.end()).as("client must see RST, not a clean EOF (%s bytes)", r.bytes()).isEqualTo(RESET);
            assertThat(r.mismatchAt()).as("bytes before the reset are intact").isEqualTo(-1);
        }
    }

    @Test
    void clientResetMidStreamResetsTheBackend() throws Exception {
        TestBackend sink = backend(Mode.SINK);
        try (Socket s = TestClient.connect(proxy.address())) {
            TestClient.header(s, 55, BIG, null);
            TestClient.writePattern(s.getOutputStream(), 55, 4 * MiB);
            s.setSoLinger(true, 0);
        } // RST
        SinkResult r = sink.sinkResults.poll(30, TimeUnit.SECONDS);
        assertThat(r).isNotNull();
        assertThat(r.end()).as("backend must see RST, not a clean EOF (%s)", r).isEqualTo(RESET);
        assertThat(r.mismatchAt()).isEqualTo(-1);
    }

    @Test
    void concurrentConnectionsEachGetTheirOwnStreamBack() throws Exception {
        backend(Mode.ECHO);
        // 100 KiB: past AUTO's 64 KiB switch point, so AUTO connections change mode mid-stream.
        long len = 100 * 1024;
        List<CompletableFuture<ReadResult>> results = new ArrayList<>(CONCURRENT);
        for (int i = 0; i < CONCURRENT; i++) {
            long seed = 1000 + i;
            CompletableFuture<ReadResult> f = new CompletableFuture<>();
            results.add(f);
            Thread.ofVirtual().start(() -> {
                try {
                    f.complete(TestClient.halfCloseEcho(proxy.address(), seed, len));
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            });
        }
        CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).get(180, TimeUnit.SECONDS);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < CONCURRENT; i++) {
            ReadResult r = results.get(i).join();
            if (r.end() != EOF || r.mismatchAt() != -1 || r.bytes() != len) {
                failures.add("conn " + i + ": " + r);
            }
        }
        assertThat(failures).as("failed connections of %d", CONCURRENT).isEmpty();
        assertThat(proxy.vip.stats().totalConnections.sum()).isEqualTo(CONCURRENT);
    }

}
