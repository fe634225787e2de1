package io.tandem.core.tcp;

import static java.util.Objects.requireNonNull;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.tandem.config.ProxyProtocolVersion;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/**
 * Encodes the HAProxy PROXY protocol header (spec: haproxy.org/download/2.9/doc/proxy-protocol.txt)
 * that tells a backend who the real client is. Written once per connection, before any client
 * byte. Mixed families (an IPv4 client on an IPv6 listener) are expressed as IPv6 with the
 * IPv4 address mapped ({@code ::ffff:a.b.c.d}), as the spec recommends; anything that is not an
 * IP socket address yields the "unknown"/LOCAL form, which backends must accept. Direct buffers:
 * the socket writes them from native memory.
 */
final class ProxyProtocolHeader {
    /** The 12-byte v2 signature: {@code \r\n\r\n\0\r\nQUIT\n}. */
    static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private static final int V2_CMD_LOCAL = 0x20;
    private static final int V2_CMD_PROXY = 0x21;
    private static final int V2_FAM_UNSPEC = 0x00;
    private static final int V2_FAM_TCP4 = 0x11;
    private static final int V2_FAM_TCP6 = 0x21;

    private ProxyProtocolHeader() {
    }

    /**
     * @param source      the client's address (the connection's remote address on the listener)
     * @param destination the address the client connected to (the listener side's local address)
     * @return the header, or {@code null} for {@link ProxyProtocolVersion#NONE}
     */
    static ByteBuf encode(ProxyProtocolVersion version, SocketAddress source, SocketAddress destination,
                          ByteBufAllocator alloc) {
        requireNonNull(version, "version");
        return switch (version) {
            case NONE -> null;
            case V1 -> v1(source, destination, alloc);
            case V2 -> v2(source, destination, alloc);
        };
    }

    /** Text form: {@code PROXY TCP4 src dst sport dport\r\n}, at most 107 bytes. */
    static ByteBuf v1(SocketAddress source, SocketAddress destination, ByteBufAllocator alloc) {
        String line;
        Pair p = Pair.of(source, destination);
        if (p == null) {
            line = "PROXY UNKNOWN\r\n";
        } else {
            line = "PROXY " + (p.v6 ? "TCP6 " : "TCP4 ") + p.src.getHostAddress() + ' ' + p.dst.getHostAddress()
                    + ' ' + p.srcPort + ' ' + p.dstPort + "\r\n";
        }
        byte[] bytes = line.getBytes(StandardCharsets.US_ASCII);
        return alloc.directBuffer(bytes.length).writeBytes(bytes);
    }

    /** Binary form: signature, version/command, family, length, addresses, ports (network order). */
    static ByteBuf v2(SocketAddress source, SocketAddress destination, ByteBufAllocator alloc) {
        Pair p = Pair.of(source, destination);
        if (p == null) {
            ByteBuf buf = alloc.directBuffer(16);
            buf.writeBytes(V2_SIGNATURE).writeByte(V2_CMD_LOCAL).writeByte(V2_FAM_UNSPEC).writeShort(0);
            return buf;
        }
        int addrLen = p.v6 ? 16 : 4;
        int len = 2 * addrLen + 4;
        ByteBuf buf = alloc.directBuffer(16 + len);
        buf.writeBytes(V2_SIGNATURE)
                .writeByte(V2_CMD_PROXY)
                .writeByte(p.v6 ? V2_FAM_TCP6 : V2_FAM_TCP4)
                .writeShort(len)
                .writeBytes(p.src.getAddress())
                .writeBytes(p.dst.getAddress())
                .writeShort(p.srcPort)
                .writeShort(p.dstPort);
        return buf;
    }

    /** Both addresses in one family (IPv6 if either is), or null when not both are IP addresses. */
    private record Pair(InetAddress src, InetAddress dst, int srcPort, int dstPort, boolean v6) {
        static Pair of(SocketAddress source, SocketAddress destination) {
            if (!(source instanceof InetSocketAddress s) || !(destination instanceof InetSocketAddress d)
                    || s.getAddress() == null || d.getAddress() == null) {
                return null;
            }
            InetAddress sa = s.getAddress();
            InetAddress da = d.getAddress();
            if (sa instanceof Inet4Address && da instanceof Inet4Address) {
                return new Pair(sa, da, s.getPort(), d.getPort(), false);
            }
            return new Pair(toV6(sa), toV6(da), s.getPort(), d.getPort(), true);
        }

        private static InetAddress toV6(InetAddress a) {
            if (a instanceof Inet6Address) {
                return a;
            }
            byte[] v4 = a.getAddress();
            byte[] v6 = new byte[16];
            v6[10] = (byte) 0xFF;
            v6[11] = (byte) 0xFF;
            System.arraycopy(v4, 0, v6, 12, 4);
            try {
                // getByAddress would fold a mapped address back to Inet4Address; Inet6Address keeps it.
                return Inet6Address.getByAddress(null, v6, -1);
            } catch (UnknownHostException e) {
                throw new IllegalStateException("16-byte address rejected", e);
            }
        }
    }
}
