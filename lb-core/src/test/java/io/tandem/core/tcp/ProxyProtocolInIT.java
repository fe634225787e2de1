package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.tandem.config.AccessControl;
import io.tandem.config.Cidr;
import io.tandem.config.ProxyProtocolIn;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.testing.ProxyFixture;
import io.tandem.core.testing.ProxyFixture.TransportKind;
import io.tandem.core.testing.TestBackend;
import io.tandem.core.testing.TestBackend.Mode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code proxy_protocol_in} on real loopback sockets, per transport: the carried client reaches
 * the backend in our own PROXY header (and the ACL judges it), the bytes after the header arrive
 * byte-exact even when the header comes one byte per write, and a missing, malformed or late
 * header closes the connection without any backend hearing of it.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(TransportKind.class)
@ExtendWith(LeakWatcher.class)
class ProxyProtocolInIT extends PerTransportIT {
    private static final String HEADER = "PROXY TCP4 192.0.2.9 198.18.0.1 5555 80\r\n";

    ProxyProtocolInIT(TransportKind transport) {
        super(transport);
    }

    private static ProxyProtocolIn in(Duration timeout) {
        return new ProxyProtocolIn(true, AccessControl.OPEN, timeout, 1024);
    }

    /** Sends {@code bytes} one byte per write (with a pause every few), then half-closes. */
    private static void trickle(Socket s, byte[] bytes) throws Exception {
        OutputStream out = s.getOutputStream();
        s.setTcpNoDelay(true);
        for (int i = 0; i < bytes.length; i++) {
            out.write(bytes[i]);
            out.flush();
            if (i % 8 == 0) {
                TimeUnit.MILLISECONDS.sleep(1); // separate segments, not one coalesced write
            }
        }
        s.shutdownOutput();
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

    @Test
    void theCarriedClientReachesTheBackendAndTheBytesAfterTheHeaderArriveExactly() throws Exception {
        TestBackend capture = track(TestBackend.start(Mode.CAPTURE));
        for (RelayMode relay : List.of(RelayMode.COPY, RelayMode.SPLICE)) {
            ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(capture.address()).relay(relay)
                    .proxyProtocol(ProxyProtocolVersion.V2).proxyProtocolIn(in(Duration.ofSeconds(5))).start());
            byte[] payload = new byte[3000];
            for (int i = 0; i < payload.length; i++) {
                payload[i] = (byte) (i * 31 + 7);
            }
            byte[] header = HEADER.getBytes(StandardCharsets.US_ASCII);
            byte[] all = new byte[header.length + payload.length];
            System.arraycopy(header, 0, all, 0, header.length);
            System.arraycopy(payload, 0, all, header.length, payload.length);
            try (Socket s = new Socket()) {
                s.connect(proxy.address(), 5_000);
                trickle(s, all);
                byte[] got = capture.captured.poll(20, TimeUnit.SECONDS);
                assertThat(got).as("%s: the backend's stream", relay).isNotNull();
                EmbeddedChannel ch = new EmbeddedChannel(new HAProxyMessageDecoder());
                ch.writeInbound(Unpooled.wrappedBuffer(got));
                HAProxyMessage msg = ch.readInbound();
                assertThat(msg.sourceAddress()).as("the carried client, not 127.0.0.1").isEqualTo("192.0.2.9");
                assertThat(msg.sourcePort()).isEqualTo(5555);
                assertThat(msg.destinationAddress()).isEqualTo("198.18.0.1");
                assertThat(msg.destinationPort()).isEqualTo(80);
                msg.release();
                ByteBuf rest = ch.readInbound();
                byte[] restBytes = new byte[rest.readableBytes()];
                rest.readBytes(restBytes);
                rest.release();
                assertThat(restBytes).as("%s: payload byte-exact", relay).isEqualTo(payload);
                ch.finishAndReleaseAll();
            }
            assertThat(proxy.vip.stats().bytesIn.sum()).as("client bytes counted, the header not").isEqualTo(3000);
        }
    }

    @Test
    void aMissingMalformedOrLateHeaderClosesTheConnectionBeforeAnyBackend() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(echo.address())
                .proxyProtocolIn(in(Duration.ofMillis(300))).start());
        try (Socket s = new Socket()) {
            s.connect(proxy.address(), 5_000);
            s.setSoTimeout(5_000);
            s.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(endedByProxy(s)).as("no header").isTrue();
        }
        try (Socket s = new Socket()) {
            s.connect(proxy.address(), 5_000);
            s.setSoTimeout(5_000);
            s.getOutputStream().write("PROXY TCP4 192.0.2.9".getBytes(StandardCharsets.US_ASCII)); // and then nothing
            long start = System.nanoTime();
            assertThat(endedByProxy(s)).as("header cut short").isTrue();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("after the 300 ms timeout")
                    .isBetween(200L, 4_000L);
        }
        assertThat(echo.accepted()).as("no backend heard of them").isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> proxy.vip.stats().proxyHeaderRefused.sum() == 2);
        assertThat(proxy.vip.stats().active.get()).isZero();
        assertThat(proxy.vip.stats().totalConnections.sum()).isZero();
    }

    @Test
    void theAclJudgesTheCarriedAddressAndFromJudgesThePeer() throws Exception {
        TestBackend echo = track(TestBackend.start(Mode.ECHO));
        AccessControl denyOne = new AccessControl(List.of(), List.of(Cidr.parse("192.0.2.66").cidr().orElseThrow()));
        ProxyFixture proxy = track(ProxyFixture.builder(transport).backend(echo.address()).acl(denyOne)
                .proxyProtocolIn(in(Duration.ofSeconds(5))).start());
        assertThat(roundTrip(proxy.address(), "127.0.0.1", "PROXY TCP4 192.0.2.9 198.18.0.1 5555 80\r\n"))
                .isEqualTo("ping");
        assertThat(roundTrip(proxy.address(), "127.0.0.1", "PROXY TCP4 192.0.2.66 198.18.0.1 5555 80\r\n"))
                .as("the carried address is denied").isEqualTo("refused");
        assertThat(proxy.vip.stats().aclRefused.sum()).isEqualTo(1);

        AccessControl upstream = new AccessControl(List.of(Cidr.parse("127.0.0.2").cidr().orElseThrow()), List.of());
        ProxyFixture onlyFrom = track(ProxyFixture.builder(transport).backend(echo.address())
                .proxyProtocolIn(new ProxyProtocolIn(true, upstream, Duration.ofSeconds(5), 1024)).start());
        assertThat(roundTrip(onlyFrom.address(), "127.0.0.2", HEADER)).isEqualTo("ping");
        assertThat(roundTrip(onlyFrom.address(), "127.0.0.3", HEADER)).as("a peer not in from").isEqualTo("refused");
        assertThat(onlyFrom.vip.stats().proxyHeaderRefused.sum()).isEqualTo(1);
    }

    private static String roundTrip(InetSocketAddress proxy, String source, String header) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(InetAddress.ofLiteral(source), 0));
            s.setSoTimeout(5_000);
            try {
                s.connect(proxy, 5_000); // a reset may be reported by connect itself, it comes so fast
                s.getOutputStream().write((header + "ping").getBytes(StandardCharsets.US_ASCII));
                byte[] in = s.getInputStream().readNBytes(4);
                return in.length == 4 ? new String(in, StandardCharsets.US_ASCII) : "refused";
            } catch (SocketException e) {
                return "refused";
            }
        }
    }
}
