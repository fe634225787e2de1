package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.Unpooled;
import io.tandem.config.ProxyProtocolIn;
import io.tandem.config.RelayMode;
import io.tandem.config.SniRouting;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.TestBackend;
import io.tandem.core.testing.TestBackend.Mode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code sni} routing on real loopback sockets, per transport: JDK TLS clients reach the backend
 * set their server name selects (exact, wildcard, default), the peeked bytes and everything after
 * them arrive byte-exact on copy and splice, also when the hello comes one byte per write, and a
 * malformed hello, a missing name or a silent client is refused or defaulted as configured.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(TransportKind.class)
@ExtendWith(LeakWatcher.class)
class SniRoutingIT extends PerTransportIT {
    private static final long DEFAULT = 1L;
    private static final long API = 1L << 1;
    private static final long WILD = 1L << 2;

    SniRoutingIT(TransportKind transport) {
        super(transport);
    }

    private static SniRouting sni(boolean reject, Duration timeout) {
        return new SniRouting(List.of(new SniRouting.Route("api", List.of("api.example.com")),
                new SniRouting.Route("org", List.of("*.example.org"))),
                reject ? SniRouting.OnMalformed.REJECT : SniRouting.OnMalformed.DEFAULT, timeout,
                SniRouting.DEFAULT_MAX_LENGTH);
    }

    /** Three capture backends: the default set, route api, route org. */
    private record Sets(TestBackend def, TestBackend api, TestBackend org) {
    }

    private Sets backends() throws IOException {
        return new Sets(track(TestBackend.start(Mode.CAPTURE)), track(TestBackend.start(Mode.CAPTURE)),
                track(TestBackend.start(Mode.CAPTURE)));
    }

    private ProxyFixture proxy(Sets b, SniRouting sni, RelayMode relay) {
        return track(ProxyFixture.builder(transport).backend(b.def().address(), DEFAULT)
                .backend(b.api().address(), API).backend(b.org().address(), WILD).relay(relay).sni(sni).start());
    }

    private static byte[] payload(int n) {
        byte[] p = new byte[n];
        for (int i = 0; i < n; i++) {
            p[i] = (byte) (i * 31 + 7);
        }
        return p;
    }

    /** Sends {@code bytes} one byte per write (separate segments), then half-closes. */
    private static void trickle(Socket s, byte[] bytes) throws Exception {
        OutputStream out = s.getOutputStream();
        s.setTcpNoDelay(true);
        for (int i = 0; i < bytes.length; i++) {
            out.write(bytes[i]);
            out.flush();
            if (i % 16 == 0) {
                TimeUnit.MILLISECONDS.sleep(1);
            }
        }
        s.shutdownOutput();
    }

    private static void sendAll(InetSocketAddress proxy, byte[] bytes) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(proxy, 5_000);
            s.getOutputStream().write(bytes);
            s.shutdownOutput();
            s.setSoTimeout(10_000);
            s.getInputStream().read(); // the backend's close
        }
    }

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
     * A real JDK TLS client naming {@code serverName}: its handshake goes on until no ServerHello
     * comes (the capture backend never answers), then it closes.
     */
    private static void tlsClient(InetSocketAddress proxy, String serverName) throws Exception {
        SSLSocket s = (SSLSocket) SSLContext.getDefault().getSocketFactory().createSocket();
        try (s) {
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(serverName)));
            s.setSSLParameters(p);
            s.connect(proxy, 5_000);
            s.setSoTimeout(500);
            s.startHandshake();
        } catch (IOException expected) {
            // no ServerHello: the backends only record
        }
    }

    private static String nameIn(byte[] captured) {
        ClientHelloParser.Result r = new ClientHelloParser(65_536).feed(Unpooled.wrappedBuffer(captured));
        return r instanceof ClientHelloParser.ServerName n ? n.name() : r.toString();
    }

    @Test
    void jdkTlsClientsReachTheSetTheirNameSelectsExactWildcardOrDefault() throws Exception {
        Sets b = backends();
        ProxyFixture proxy = proxy(b, sni(false, Duration.ofSeconds(5)), RelayMode.AUTO);
        tlsClient(proxy.address(), "api.example.com");
        assertThat(nameIn(b.api().captured.poll(20, TimeUnit.SECONDS))).isEqualTo("api.example.com");
        tlsClient(proxy.address(), "API.Example.Com");
        assertThat(nameIn(b.api().captured.poll(20, TimeUnit.SECONDS))).as("case-insensitive")
                .isEqualTo("API.Example.Com");
        tlsClient(proxy.address(), "deep.shop.example.org");
        assertThat(nameIn(b.org().captured.poll(20, TimeUnit.SECONDS))).as("wildcard")
                .isEqualTo("deep.shop.example.org");
        tlsClient(proxy.address(), "example.org");
        assertThat(nameIn(b.def().captured.poll(20, TimeUnit.SECONDS))).as("*.example.org is not example.org")
                .isEqualTo("example.org");
        tlsClient(proxy.address(), "other.example.net");
        assertThat(nameIn(b.def().captured.poll(20, TimeUnit.SECONDS))).isEqualTo("other.example.net");
        assertThat(b.api().accepted()).isEqualTo(2);
        assertThat(b.org().accepted()).isEqualTo(1);
        assertThat(b.def().accepted()).isEqualTo(2);
        var routes = proxy.vip.stats().sniRoutes;
        await().atMost(Duration.ofSeconds(5)).until(() -> routes.count("default") == 2);
        assertThat(routes.count("api")).isEqualTo(2);
        assertThat(routes.count("org")).isEqualTo(1);
    }

    @Test
    void theHelloAndWhatFollowsArriveByteExactOnCopyAndSpliceEvenOneByteAtATime() throws Exception {
        for (RelayMode relay : List.of(RelayMode.COPY, RelayMode.SPLICE)) {
            Sets b = backends();
            ProxyFixture proxy = proxy(b, sni(false, Duration.ofSeconds(10)), relay);
            byte[] hello = TlsHellos.jdk("api.example.com");
            byte[] all = TlsHellos.concat(hello, payload(100_000));
            sendAll(proxy.address(), all);
            assertThat(b.api().captured.poll(20, TimeUnit.SECONDS)).as("%s: hello and 100 KB after it", relay)
                    .isEqualTo(all);
            // The hello in 1-byte writes, fragmented over TLS records of 7 bytes too.
            byte[] fragmented = TlsHellos.records(TlsHellos.handshake(TlsHellos.sni("x.example.org")), 7);
            byte[] trickled = TlsHellos.concat(fragmented, payload(3000));
            try (Socket s = new Socket()) {
                s.connect(proxy.address(), 5_000);
                trickle(s, trickled);
                assertThat(b.org().captured.poll(20, TimeUnit.SECONDS)).as("%s: 1-byte writes", relay)
                        .isEqualTo(trickled);
            }
            assertThat(proxy.vip.stats().bytesIn.sum()).as("peeked bytes count as relayed")
                    .isEqualTo(all.length + trickled.length);
        }
    }

    @Test
    void a16KibHelloInOneByteWritesIsRoutedAndRelayedAndAnOversizedOneIsJudgedMalformed() throws Exception {
        Sets b = backends();
        ProxyFixture proxy = proxy(b, sni(false, Duration.ofSeconds(30)), RelayMode.SPLICE);
        // One full TLS record: a 16 KiB handshake (a big padding extension, as post-quantum key
        // shares make real hellos grow), then the name.
        byte[] big = TlsHellos.records(TlsHellos.handshake(TlsHellos.extension(21, new byte[16_384 - 120]),
                TlsHellos.sni("api.example.com")), 1 << 14);
        assertThat(big.length).isBetween(16_300, SniRouting.DEFAULT_MAX_LENGTH);
        byte[] all = TlsHellos.concat(big, payload(2000));
        try (Socket s = new Socket()) {
            s.connect(proxy.address(), 5_000);
            trickle(s, all);
            assertThat(b.api().captured.poll(30, TimeUnit.SECONDS)).as("16 KiB in 1-byte writes").isEqualTo(all);
        }
        // Past max_length: malformed, so (on_malformed: default) to the default set, still byte-exact.
        byte[] huge = TlsHellos.records(TlsHellos.handshake(TlsHellos.extension(21, new byte[20_000]),
                TlsHellos.sni("api.example.com")), 1 << 14);
        sendAll(proxy.address(), huge);
        assertThat(b.def().captured.poll(20, TimeUnit.SECONDS)).isEqualTo(huge);
        assertThat(b.api().accepted()).isEqualTo(1);
    }

    @Test
    void aRoutedStreamEchoesBackWholeBothWaysWithHalfCloseOnEveryRelayMode() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        TestBackend other = track(TestBackend.start(Mode.CAPTURE));
        for (RelayMode relay : List.of(RelayMode.COPY, RelayMode.SPLICE, RelayMode.AUTO)) {
            ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(other.address(), DEFAULT)
                    .backend(echo.address(), API).relay(relay).sni(sni(false, Duration.ofSeconds(5))).start());
            byte[] all = TlsHellos.concat(TlsHellos.jdk("api.example.com"), payload(8 << 20));
            try (Socket s = new Socket()) {
                s.connect(proxy.address(), 5_000);
                s.setSoTimeout(30_000);
                var writer = java.util.concurrent.CompletableFuture.runAsync(() -> {
                    try {
                        s.getOutputStream().write(all);
                        s.shutdownOutput(); // half-close: the echo still comes back whole
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                byte[] back = s.getInputStream().readAllBytes();
                writer.get(30, TimeUnit.SECONDS);
                assertThat(back.length).as("%s: bytes echoed", relay).isEqualTo(all.length);
                assertThat(java.util.Arrays.mismatch(back, all)).as("%s: first corrupted offset", relay).isEqualTo(-1);
            }
        }
        assertThat(other.accepted()).isZero();
    }

    @Test
    void withOnMalformedDefaultGarbageAndNamelessHellosGoToTheDefaultSetUnchanged() throws Exception {
        Sets b = backends();
        ProxyFixture proxy = proxy(b, sni(false, Duration.ofSeconds(5)), RelayMode.COPY);
        byte[] http = "GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        sendAll(proxy.address(), http);
        assertThat(b.def().captured.poll(20, TimeUnit.SECONDS)).as("not TLS: to the default, as sent").isEqualTo(http);
        byte[] nameless = TlsHellos.jdk(null);
        sendAll(proxy.address(), nameless);
        assertThat(b.def().captured.poll(20, TimeUnit.SECONDS)).isEqualTo(nameless);
        assertThat(b.api().accepted() + b.org().accepted()).isZero();
        assertThat(proxy.vip.stats().sniMalformedRefused.sum() + proxy.vip.stats().sniMissingRefused.sum()).isZero();
    }

    @Test
    void withOnMalformedRejectGarbageNamelessAndSilentClientsAreResetAndCounted() throws Exception {
        Sets b = backends();
        ProxyFixture proxy = proxy(b, sni(true, Duration.ofMillis(300)), RelayMode.COPY);
        try (Socket s = new Socket()) {
            s.connect(proxy.address(), 5_000);
            s.setSoTimeout(5_000);
            s.getOutputStream().write("SSH-2.0-OpenSSH_9.6\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(endedByProxy(s)).as("not TLS").isTrue();
        }
        try (Socket s = new Socket()) {
            s.connect(proxy.address(), 5_000);
            s.setSoTimeout(5_000);
            s.getOutputStream().write(TlsHellos.jdk(null));
            assertThat(endedByProxy(s)).as("no server name").isTrue();
        }
        try (Socket s = new Socket()) {
            s.connect(proxy.address(), 5_000);
            s.setSoTimeout(5_000);
            long start = System.nanoTime(); // and the client sends nothing
            assertThat(endedByProxy(s)).as("silent client").isTrue();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("after the 300 ms timeout")
                    .isBetween(200L, 4_000L);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.vip.stats().sniTimeoutRefused.sum() == 1);
        assertThat(proxy.vip.stats().sniMalformedRefused.sum()).isEqualTo(1);
        assertThat(proxy.vip.stats().sniMissingRefused.sum()).isEqualTo(1);
        assertThat(b.def().accepted() + b.api().accepted() + b.org().accepted()).as("no backend heard of them").isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.vip.stats().active.get() == 0);
        // A named client still gets through.
        tlsClient(proxy.address(), "api.example.com");
        assertThat(nameIn(b.api().captured.poll(20, TimeUnit.SECONDS))).isEqualTo("api.example.com");
    }

    @Test
    void withoutDefaultBackendsAnUnroutedNameIsRefused() throws Exception {
        TestBackend api = track(TestBackend.start(Mode.CAPTURE));
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(api.address(), API)
                .sni(sni(false, Duration.ofSeconds(5))).start());
        try (Socket s = new Socket()) {
            s.connect(proxy.address(), 5_000);
            s.setSoTimeout(5_000);
            s.getOutputStream().write(TlsHellos.jdk("www.example.net"));
            assertThat(endedByProxy(s)).isTrue();
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.vip.stats().sniNoRouteRefused.sum() == 1);
        assertThat(api.accepted()).isZero();
    }

    @Test
    void behindProxyProtocolInTheHelloAfterTheHeaderIsRoutedAndRelayed() throws Exception {
        Sets b = backends();
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(b.def().address(), DEFAULT)
                .backend(b.api().address(), API).backend(b.org().address(), WILD)
                .proxyProtocolIn(new ProxyProtocolIn(true, io.tandem.config.AccessControl.OPEN, Duration.ofSeconds(5),
                        1024))
                .sni(sni(false, Duration.ofSeconds(5))).start());
        byte[] header = "PROXY TCP4 192.0.2.9 198.18.0.1 5555 443\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] hello = TlsHellos.concat(TlsHellos.jdk("shop.example.org"), payload(500));
        try (Socket s = new Socket()) {
            s.connect(proxy.address(), 5_000);
            trickle(s, TlsHellos.concat(header, hello));
            assertThat(b.org().captured.poll(20, TimeUnit.SECONDS)).as("the header consumed, the hello relayed")
                    .isEqualTo(hello);
        }
    }
}
