package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.core.testing.LeakWatcher;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Our PROXY protocol bytes, checked by Netty's independent decoder and against the spec text. */
@ExtendWith(LeakWatcher.class)
class ProxyProtocolHeaderTest {
    private static final InetSocketAddress CLIENT4 = new InetSocketAddress("192.0.2.10", 51234);
    private static final InetSocketAddress VIP4 = new InetSocketAddress("198.18.0.1", 443);
    private static final InetSocketAddress CLIENT6 = new InetSocketAddress("2001:db8::1", 40000);
    private static final InetSocketAddress VIP6 = new InetSocketAddress("2001:db8::ff", 8080);

    private static HAProxyMessage decode(ByteBuf header) {
        EmbeddedChannel ch = new EmbeddedChannel(new HAProxyMessageDecoder());
        ch.writeInbound(header);
        HAProxyMessage msg = ch.readInbound();
        ch.finishAndReleaseAll();
        return msg;
    }

    private static void assertDecodes(HAProxyMessage msg, HAProxyProtocolVersion version,
                                      HAProxyProxiedProtocol protocol, String src, String dst, int sport, int dport) {
        try {
            assertThat(msg).isNotNull();
            assertThat(msg.protocolVersion()).isEqualTo(version);
            assertThat(msg.command()).isEqualTo(HAProxyCommand.PROXY);
            assertThat(msg.proxiedProtocol()).isEqualTo(protocol);
            assertThat(msg.sourceAddress()).isEqualTo(src);
            assertThat(msg.destinationAddress()).isEqualTo(dst);
            assertThat(msg.sourcePort()).isEqualTo(sport);
            assertThat(msg.destinationPort()).isEqualTo(dport);
        } finally {
            msg.release();
        }
    }

    @Test
    void v1Ipv4IsTheSpecLineAndDecodes() {
        ByteBuf h = ProxyProtocolHeader.v1(CLIENT4, VIP4, ByteBufAllocator.DEFAULT);
        assertThat(h.toString(StandardCharsets.US_ASCII)).isEqualTo("PROXY TCP4 192.0.2.10 198.18.0.1 51234 443\r\n");
        assertDecodes(decode(h), HAProxyProtocolVersion.V1, HAProxyProxiedProtocol.TCP4, "192.0.2.10", "198.18.0.1",
                51234, 443);
    }

    @Test
    void v1Ipv6Decodes() {
        ByteBuf h = ProxyProtocolHeader.v1(CLIENT6, VIP6, ByteBufAllocator.DEFAULT);
        HAProxyMessage msg = decode(h);
        assertThat(msg.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP6);
        assertThat(msg.sourcePort()).isEqualTo(40000);
        assertThat(msg.destinationPort()).isEqualTo(8080);
        msg.release();
    }

    @Test
    void v2Ipv4HasSignatureFamilyAndLengthAndDecodes() {
        ByteBuf h = ProxyProtocolHeader.v2(CLIENT4, VIP4, ByteBufAllocator.DEFAULT);
        assertThat(h.readableBytes()).isEqualTo(16 + 12);
        byte[] sig = new byte[12];
        h.getBytes(0, sig);
        assertThat(sig).isEqualTo(ProxyProtocolHeader.V2_SIGNATURE);
        assertThat(h.getUnsignedByte(12)).isEqualTo((short) 0x21);
        assertThat(h.getUnsignedByte(13)).isEqualTo((short) 0x11);
        assertThat(h.getUnsignedShort(14)).isEqualTo(12);
        assertDecodes(decode(h), HAProxyProtocolVersion.V2, HAProxyProxiedProtocol.TCP4, "192.0.2.10", "198.18.0.1",
                51234, 443);
    }

    @Test
    void v2Ipv6Decodes() {
        ByteBuf h = ProxyProtocolHeader.v2(CLIENT6, VIP6, ByteBufAllocator.DEFAULT);
        assertThat(h.readableBytes()).isEqualTo(16 + 36);
        HAProxyMessage msg = decode(h);
        assertThat(msg.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP6);
        assertThat(msg.sourcePort()).isEqualTo(40000);
        assertThat(msg.destinationPort()).isEqualTo(8080);
        msg.release();
    }

    @Test
    void mixedFamiliesAreSentAsIpv4MappedIpv6() {
        ByteBuf h = ProxyProtocolHeader.v2(CLIENT4, VIP6, ByteBufAllocator.DEFAULT);
        assertThat(h.getUnsignedByte(13)).isEqualTo((short) 0x21);
        byte[] src = new byte[16];
        h.getBytes(16, src);
        assertThat(src).containsExactly(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, (byte) 192, 0, 2, 10);
        HAProxyMessage msg = decode(h);
        assertThat(msg.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP6);
        msg.release();
    }

    @Test
    void nonIpAddressesGiveUnknownAndLocalForms() {
        ByteBuf v1 = ProxyProtocolHeader.v1(null, null, ByteBufAllocator.DEFAULT);
        assertThat(v1.toString(StandardCharsets.US_ASCII)).isEqualTo("PROXY UNKNOWN\r\n");
        HAProxyMessage m1 = decode(v1);
        assertThat(m1.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.UNKNOWN);
        m1.release();
        ByteBuf v2 = ProxyProtocolHeader.v2(null, null, ByteBufAllocator.DEFAULT);
        HAProxyMessage m2 = decode(v2);
        assertThat(m2.command()).isEqualTo(HAProxyCommand.LOCAL);
        m2.release();
    }

    @Test
    void payloadAfterTheHeaderIsLeftIntact() {
        ByteBuf wire = Unpooled.buffer();
        ByteBuf h = ProxyProtocolHeader.encode(ProxyProtocolVersion.V2, CLIENT4, VIP4, ByteBufAllocator.DEFAULT);
        wire.writeBytes(h);
        h.release();
        wire.writeBytes("hello".getBytes(StandardCharsets.US_ASCII));
        EmbeddedChannel ch = new EmbeddedChannel(new HAProxyMessageDecoder());
        ch.writeInbound(wire);
        HAProxyMessage msg = ch.readInbound();
        ByteBuf rest = ch.readInbound();
        assertThat(rest.toString(StandardCharsets.US_ASCII)).isEqualTo("hello");
        msg.release();
        rest.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void noneEncodesNothing() {
        assertThat(ProxyProtocolHeader.encode(ProxyProtocolVersion.NONE, CLIENT4, VIP4, ByteBufAllocator.DEFAULT))
                .isNull();
    }
}
