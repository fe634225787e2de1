package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.tandem.config.ProxyProtocolVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The incoming PROXY header: both versions, byte by byte, and every way it can be wrong. */
class ProxyHeaderParserTest {
    private static final InetSocketAddress SRC4 = new InetSocketAddress("192.0.2.9", 5555);
    private static final InetSocketAddress DST4 = new InetSocketAddress("198.18.0.1", 80);
    private static final InetSocketAddress SRC6 = new InetSocketAddress("2001:db8::9", 6666);
    private static final InetSocketAddress DST6 = new InetSocketAddress("2001:db8::1", 443);

    private static ProxyHeaderParser.Result parse(byte[] bytes) {
        return ProxyHeaderParser.parse(Unpooled.wrappedBuffer(bytes), 1024);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] encoded(ProxyProtocolVersion v, InetSocketAddress src, InetSocketAddress dst) {
        ByteBuf b = ProxyProtocolHeader.encode(v, src, dst, UnpooledByteBufAllocator.DEFAULT);
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        b.release();
        return out;
    }

    @Test
    void ourOwnHeadersOfBothVersionsAndFamiliesReadBack() {
        for (ProxyProtocolVersion v : new ProxyProtocolVersion[] {ProxyProtocolVersion.V1, ProxyProtocolVersion.V2}) {
            byte[] h4 = encoded(v, SRC4, DST4);
            assertThat(parse(h4)).as(v + " tcp4").isEqualTo(new ProxyHeaderParser.Parsed(h4.length, SRC4, DST4));
            byte[] h6 = encoded(v, SRC6, DST6);
            assertThat(parse(h6)).as(v + " tcp6").isEqualTo(new ProxyHeaderParser.Parsed(h6.length, SRC6, DST6));
        }
    }

    @Test
    void aHeaderArrivingOneByteAtATimeIsAwaitedAndWhatFollowsIsLeftAlone() {
        for (ProxyProtocolVersion v : new ProxyProtocolVersion[] {ProxyProtocolVersion.V1, ProxyProtocolVersion.V2}) {
            byte[] h = encoded(v, SRC4, DST4);
            ByteBuf in = Unpooled.buffer();
            for (int i = 0; i < h.length - 1; i++) {
                in.writeByte(h[i]);
                assertThat(ProxyHeaderParser.parse(in, 1024)).as("%s after %d bytes", v, i + 1)
                        .isInstanceOf(ProxyHeaderParser.NeedMore.class);
            }
            in.writeByte(h[h.length - 1]).writeBytes(ascii("hello"));
            assertThat(ProxyHeaderParser.parse(in, 1024)).isEqualTo(new ProxyHeaderParser.Parsed(h.length, SRC4, DST4));
            assertThat(in.readerIndex()).as("parse does not consume").isZero();
        }
    }

    @Test
    void localAndUnknownKeepTheConnectionsOwnAddresses() {
        assertThat(parse(ascii("PROXY UNKNOWN\r\n"))).isEqualTo(new ProxyHeaderParser.Parsed(15, null, null));
        assertThat(parse(ascii("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n")))
                .isEqualTo(new ProxyHeaderParser.Parsed(35, null, null));
        byte[] local = new byte[16];
        System.arraycopy(ProxyProtocolHeader.V2_SIGNATURE, 0, local, 0, 12);
        local[12] = 0x20; // v2, LOCAL
        assertThat(parse(local)).isEqualTo(new ProxyHeaderParser.Parsed(16, null, null));
    }

    @Test
    void v2TlvsAreSkippedWithinTheLengthAndTheLengthIsBounded() {
        byte[] h = encoded(ProxyProtocolVersion.V2, SRC4, DST4);
        ByteBuf withTlv = Unpooled.buffer();
        withTlv.writeBytes(h, 0, 14).writeShort(12 + 7).writeBytes(h, 16, 12);
        withTlv.writeByte(0x04).writeShort(4).writeBytes(ascii("abcd")); // PP2_TYPE_NOOP, 4 bytes
        assertThat(ProxyHeaderParser.parse(withTlv, 1024)).isEqualTo(new ProxyHeaderParser.Parsed(16 + 19, SRC4, DST4));
        ByteBuf huge = Unpooled.buffer().writeBytes(h, 0, 14).writeShort(5000);
        assertThat(ProxyHeaderParser.parse(huge, 1024)).isInstanceOf(ProxyHeaderParser.Malformed.class)
                .hasToString("Malformed[why=v2 header of 5016 bytes (expected at most 1024)]");
    }

    @Test
    void everyMalformedHeaderIsRefusedAtOnce() {
        String[] bad = {
            "GET / HTTP/1.1\r\n",
            "PROXY TCP4 192.0.2.9 198.18.0.1 5555\r\n",
            "PROXY TCP4 192.0.2.9 198.18.0.1 5555 80 9\r\n",
            "PROXY TCP5 192.0.2.9 198.18.0.1 5555 80\r\n",
            "PROXY TCP4 2001:db8::9 198.18.0.1 5555 80\r\n",
            "PROXY TCP6 192.0.2.9 2001:db8::1 5555 80\r\n",
            "PROXY TCP4 192.0.2.999 198.18.0.1 5555 80\r\n",
            "PROXY TCP4 192.0.2.9 198.18.0.1 65536 80\r\n",
            "PROXY TCP4 192.0.2.9 198.18.0.1 05555 80\r\n",
            "PROXY TCP4 192.0.2.9 198.18.0.1 5555 80\n",
            "PROXY TCP4  192.0.2.9 198.18.0.1 5555 80\r\n",
        };
        for (String b : bad) {
            assertThat(parse(ascii(b))).as(b.strip()).isInstanceOf(ProxyHeaderParser.Malformed.class);
        }
        assertThat(parse(ascii("PROXY " + "x".repeat(120)))).as("no CRLF within 107 bytes")
                .isInstanceOf(ProxyHeaderParser.Malformed.class);
        assertThat(parse(ascii("X"))).as("a first byte that starts no header").isInstanceOf(ProxyHeaderParser.Malformed.class);
        byte[] v3 = encoded(ProxyProtocolVersion.V2, SRC4, DST4);
        v3[12] = 0x31;
        assertThat(parse(v3)).isInstanceOf(ProxyHeaderParser.Malformed.class);
        byte[] family = encoded(ProxyProtocolVersion.V2, SRC4, DST4);
        family[13] = 0x31; // AF_UNIX
        assertThat(parse(family)).isInstanceOf(ProxyHeaderParser.Malformed.class);
        byte[] shortV4 = encoded(ProxyProtocolVersion.V2, SRC4, DST4);
        shortV4[15] = 8; // claims 8 address bytes for TCP4
        assertThat(ProxyHeaderParser.parse(Unpooled.wrappedBuffer(shortV4, 0, 24), 1024))
                .isInstanceOf(ProxyHeaderParser.Malformed.class);
    }
}
