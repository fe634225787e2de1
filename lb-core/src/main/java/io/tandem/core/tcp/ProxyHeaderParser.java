package io.tandem.core.tcp;

import io.netty.buffer.ByteBuf;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * Reads an incoming PROXY protocol header, v1 or v2 (haproxy.org/download/2.9/doc/proxy-protocol.txt),
 * from the bytes a client sent so far: strict (the v2 signature or {@code "PROXY "} at once, or
 * the connection is refused without waiting), bounded (v1 at most 107 bytes, v2 at most
 * {@code maxV2} with its TLVs), and incremental (a header cut over several reads, even one byte at
 * a time, is awaited). A {@code LOCAL} (v2) or {@code UNKNOWN} (v1) header — the upstream's own
 * health checks — leaves the connection's own addresses in place. Pure: no I/O, no state.
 */
final class ProxyHeaderParser {
    static final int V1_MAX = 107;

    /** The outcome of {@link #parse}. */
    sealed interface Result permits NeedMore, Malformed, Parsed {
    }

    /** The header is not complete yet. */
    record NeedMore() implements Result {
    }

    /** Not a valid header: the connection is refused; {@code why} goes to the log. */
    record Malformed(String why) implements Result {
    }

    /**
     * A complete header of {@code length} bytes; {@code source}/{@code destination} are null for
     * LOCAL/UNKNOWN (keep the connection's own addresses).
     */
    record Parsed(int length, InetSocketAddress source, InetSocketAddress destination) implements Result {
    }

    private static final NeedMore NEED_MORE = new NeedMore();
    private static final byte[] V1_PREFIX = "PROXY ".getBytes(StandardCharsets.US_ASCII);

    private ProxyHeaderParser() {
    }

    /** Parses from {@code in}'s reader index; does not move it. */
    static Result parse(ByteBuf in, int maxV2) {
        int start = in.readerIndex();
        int have = in.readableBytes();
        if (have == 0) {
            return NEED_MORE;
        }
        byte first = in.getByte(start);
        if (first == ProxyProtocolHeader.V2_SIGNATURE[0] && prefixMatches(in, ProxyProtocolHeader.V2_SIGNATURE)) {
            return have < ProxyProtocolHeader.V2_SIGNATURE.length ? NEED_MORE : v2(in, maxV2);
        }
        if (first == 'P' && prefixMatches(in, V1_PREFIX)) {
            return have < V1_PREFIX.length ? NEED_MORE : v1(in);
        }
        return new Malformed("no PROXY protocol header (expected \"PROXY \" or the v2 signature first)");
    }

    /** Whether the bytes present match the start of {@code prefix}. */
    private static boolean prefixMatches(ByteBuf in, byte[] prefix) {
        int n = Math.min(prefix.length, in.readableBytes());
        for (int i = 0; i < n; i++) {
            if (in.getByte(in.readerIndex() + i) != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static Result v1(ByteBuf in) {
        int start = in.readerIndex();
        int limit = Math.min(in.readableBytes(), V1_MAX);
        int lf = -1;
        for (int i = 1; i < limit; i++) {
            if (in.getByte(start + i) == '\n') {
                lf = i;
                break;
            }
        }
        if (lf < 0) {
            return in.readableBytes() >= V1_MAX ? new Malformed("v1 header without CRLF in its first 107 bytes")
                    : NEED_MORE;
        }
        if (in.getByte(start + lf - 1) != '\r') {
            return new Malformed("v1 header ends in LF without CR");
        }
        String line = in.toString(start, lf - 1, StandardCharsets.US_ASCII);
        String[] f = line.split(" ", -1);
        if (f.length >= 2 && f[1].equals("UNKNOWN")) {
            return new Parsed(lf + 1, null, null);
        }
        if (f.length != 6 || !(f[1].equals("TCP4") || f[1].equals("TCP6"))) {
            return new Malformed("v1 header \"" + printable(line) + "\" (expected PROXY TCP4|TCP6 src dst sport dport)");
        }
        try {
            InetAddress src = literal(f[2], f[1]);
            InetAddress dst = literal(f[3], f[1]);
            int sport = port(f[4]);
            int dport = port(f[5]);
            return new Parsed(lf + 1, new InetSocketAddress(src, sport), new InetSocketAddress(dst, dport));
        } catch (IllegalArgumentException e) {
            return new Malformed("v1 header \"" + printable(line) + "\": " + e.getMessage());
        }
    }

    private static InetAddress literal(String text, String family) {
        boolean v4 = family.equals("TCP4");
        if (v4 ? text.indexOf(':') >= 0 : text.indexOf(':') < 0) {
            throw new IllegalArgumentException("address " + text + " is not " + (v4 ? "IPv4" : "IPv6"));
        }
        return InetAddress.ofLiteral(text);
    }

    private static int port(String text) {
        if (text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')
                || (text.length() > 1 && text.charAt(0) == '0')) {
            throw new IllegalArgumentException("port " + text + " (expected 0..65535 without leading zeros)");
        }
        int p = Integer.parseInt(text);
        if (p > 65535) {
            throw new IllegalArgumentException("port " + text + " (expected 0..65535)");
        }
        return p;
    }

    private static Result v2(ByteBuf in, int maxV2) {
        int start = in.readerIndex();
        if (in.readableBytes() < 16) {
            return NEED_MORE;
        }
        int verCmd = in.getUnsignedByte(start + 12);
        int fam = in.getUnsignedByte(start + 13);
        int len = in.getUnsignedShort(start + 14);
        if ((verCmd & 0xf0) != 0x20) {
            return new Malformed("v2 header version " + (verCmd >>> 4) + " (expected 2)");
        }
        int cmd = verCmd & 0x0f;
        if (cmd > 1) {
            return new Malformed("v2 header command " + cmd + " (expected LOCAL 0 or PROXY 1)");
        }
        if (16 + len > maxV2) {
            return new Malformed("v2 header of " + (16 + len) + " bytes (expected at most " + maxV2 + ")");
        }
        if (in.readableBytes() < 16 + len) {
            return NEED_MORE;
        }
        if (cmd == 0) {
            return new Parsed(16 + len, null, null); // LOCAL: the upstream's own connection
        }
        int a = start + 16;
        return switch (fam) {
            case 0x11, 0x12 -> len < 12 ? new Malformed("v2 IPv4 addresses in " + len + " bytes (expected 12)")
                    : new Parsed(16 + len, new InetSocketAddress(address(in, a, 4), in.getUnsignedShort(a + 8)),
                    new InetSocketAddress(address(in, a + 4, 4), in.getUnsignedShort(a + 10)));
            case 0x21, 0x22 -> len < 36 ? new Malformed("v2 IPv6 addresses in " + len + " bytes (expected 36)")
                    : new Parsed(16 + len, new InetSocketAddress(address(in, a, 16), in.getUnsignedShort(a + 32)),
                    new InetSocketAddress(address(in, a + 16, 16), in.getUnsignedShort(a + 34)));
            case 0x00 -> new Parsed(16 + len, null, null); // UNSPEC: addresses unknown
            default -> new Malformed("v2 address family 0x" + Integer.toHexString(fam)
                    + " (expected TCP4 0x11, TCP6 0x21 or UNSPEC 0x00)");
        };
    }

    private static InetAddress address(ByteBuf in, int at, int n) {
        byte[] b = new byte[n];
        in.getBytes(at, b);
        try {
            return InetAddress.getByAddress(b);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes
        }
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }
}
