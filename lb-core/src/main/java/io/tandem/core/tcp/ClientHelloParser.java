package io.tandem.core.tcp;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * Finds the server name (SNI, RFC 6066) in a TLS ClientHello from the bytes a client sent so far,
 * without terminating TLS: {@code vips[].sni} routes on it and relays every peeked byte unchanged.
 * Incremental: fed the growing buffer of peeked bytes after each read, it scans only record headers
 * it has not seen, so a hello written one byte at a time costs linear work; a hello split over
 * several TLS records (TLS allows a handshake message in fragments) and over several TCP segments is
 * reassembled. Bounded: {@code maxLength} peeked bytes, record headers included, or it is malformed.
 * Strict where a middlebox must be (record type and version, lengths that add up, no duplicate
 * extension) and lenient where clients differ (unknown and GREASE extensions are skipped). An
 * SSLv2-compatible hello (old clients) is TLS without extensions: {@link None}. One per
 * connection; pure (no I/O, no clock). Not thread-safe: confined to the connection's loop.
 */
final class ClientHelloParser {
    /** RFC 8446 §5.1: a record carries at most 2^14 bytes of plaintext. */
    static final int MAX_RECORD = 16_384;
    private static final int RECORD_HEADER = 5;
    private static final int HANDSHAKE = 0x16;
    private static final int CLIENT_HELLO = 1;
    private static final int SERVER_NAME = 0;
    private static final int HOST_NAME = 0;

    /** The outcome of {@link #feed}. */
    sealed interface Result permits NeedMore, ServerName, None, Malformed {
    }

    /** The hello is not complete yet. */
    record NeedMore() implements Result {
    }

    /** A well-formed ClientHello naming {@code name} (as sent: case and a trailing dot kept). */
    record ServerName(String name) implements Result {
    }

    /** A well-formed ClientHello without a server name (no SNI extension, or an SSLv2-style hello). */
    record None(String why) implements Result {
    }

    /** Not a TLS ClientHello, or one that breaks the format or the bound; {@code why} goes to the log. */
    record Malformed(String why) implements Result {
    }

    private static final NeedMore NEED_MORE = new NeedMore();

    private final int maxLength;
    /** Offset (from the buffer's reader index) of the next record header not yet consumed. */
    private int next;
    /** The handshake bytes of the records consumed so far. */
    private byte[] handshake = new byte[0];
    private int handshakeLength;
    private Result decided;

    ClientHelloParser(int maxLength) {
        if (maxLength < RECORD_HEADER + 4) {
            throw new IllegalArgumentException("maxLength: " + maxLength + " (expected >= " + (RECORD_HEADER + 4) + ")");
        }
        this.maxLength = maxLength;
    }

    /**
     * Judges the bytes peeked so far: {@code in} from its reader index, the same bytes as at the
     * previous call plus those read since (its reader index is not moved). Once decided, the same
     * answer.
     */
    Result feed(ByteBuf in) {
        if (decided == null) {
            Result r = scan(in);
            if (!(r instanceof NeedMore)) {
                decided = r;
                handshake = null;
            }
            return r;
        }
        return decided;
    }

    private Result scan(ByteBuf in) {
        int start = in.readerIndex();
        int have = in.readableBytes();
        if (have == 0) {
            return NEED_MORE;
        }
        if (next == 0) {
            int first = in.getUnsignedByte(start);
            if ((first & 0x80) != 0 && first != HANDSHAKE) {
                return sslv2(in, start, have);
            }
            if (first != HANDSHAKE) {
                return new Malformed("not TLS: first byte 0x" + hex(first) + " (expected a handshake record, 0x16)");
            }
        }
        while (true) {
            int avail = have - next;
            int h = start + next;
            // Judge a record header as soon as its bytes are there: garbage fails at once.
            if (avail >= 1 && in.getUnsignedByte(h) != HANDSHAKE) {
                return new Malformed("record type 0x" + hex(in.getUnsignedByte(h))
                        + " before the ClientHello ended (expected handshake, 0x16)");
            }
            if (avail >= 2 && in.getUnsignedByte(h + 1) != 3) {
                return new Malformed("record version " + in.getUnsignedByte(h + 1) + ".x (expected 3.x)");
            }
            if (avail < RECORD_HEADER) {
                return tooLongOrMore(have);
            }
            int length = in.getUnsignedShort(h + 3);
            if (length == 0 || length > MAX_RECORD) {
                return new Malformed("handshake record of " + length + " bytes (expected 1.." + MAX_RECORD + ")");
            }
            if (next + RECORD_HEADER + length > maxLength) {
                return new Malformed("ClientHello longer than sni.max_length " + maxLength + " bytes");
            }
            if (avail < RECORD_HEADER + length) {
                return NEED_MORE; // a record is used once whole; its end is within maxLength (above)
            }
            append(in, h + RECORD_HEADER, length);
            next += RECORD_HEADER + length;
            if (handshakeLength >= 4) {
                int type = handshake[0] & 0xff;
                if (type != CLIENT_HELLO) {
                    return new Malformed("handshake message type " + type + " (expected ClientHello, 1)");
                }
                int body = ((handshake[1] & 0xff) << 16) | ((handshake[2] & 0xff) << 8) | (handshake[3] & 0xff);
                if (4 + body > maxLength - RECORD_HEADER) {
                    return new Malformed("ClientHello of " + (4 + body) + " bytes (sni.max_length " + maxLength
                            + " bytes, record headers included)");
                }
                if (handshakeLength >= 4 + body) {
                    return clientHello(handshake, 4, 4 + body);
                }
            }
        }
    }

    private Result tooLongOrMore(int have) {
        return have >= maxLength ? new Malformed("no complete ClientHello in sni.max_length " + maxLength + " bytes")
                : NEED_MORE;
    }

    private void append(ByteBuf in, int at, int length) {
        if (handshakeLength + length > handshake.length) {
            byte[] bigger = new byte[Math.max(handshakeLength + length, Math.min(maxLength, handshake.length * 2))];
            System.arraycopy(handshake, 0, bigger, 0, handshakeLength);
            handshake = bigger;
        }
        in.getBytes(at, handshake, handshakeLength, length);
        handshakeLength += length;
    }

    /**
     * An SSLv2-compatible ClientHello (RFC 5246 appendix E.2): a 2-byte length with the high bit
     * set, then message type 1. It cannot carry extensions, so no server name.
     */
    private static Result sslv2(ByteBuf in, int start, int have) {
        if (have < 3) {
            return NEED_MORE;
        }
        int length = in.getUnsignedShort(start) & 0x7fff;
        if (in.getUnsignedByte(start + 2) == CLIENT_HELLO && length >= 9) {
            return new None("SSLv2-style ClientHello (no extensions)");
        }
        return new Malformed("not TLS: first byte 0x" + hex(in.getUnsignedByte(start))
                + " (expected a handshake record, 0x16, or an SSLv2-style ClientHello)");
    }

    /** The ClientHello body in {@code b[from, to)}. */
    static Result clientHello(byte[] b, int from, int to) {
        Cursor c = new Cursor(b, from, to);
        if (!c.has(2 + 32)) {
            return new Malformed("ClientHello cut short before its random");
        }
        int version = c.u16();
        if (version >> 8 != 3) {
            return new Malformed("ClientHello version 0x" + Integer.toHexString(version) + " (expected 0x03xx)");
        }
        c.skip(32);
        int sessionId = c.has(1) ? c.u8() : -1;
        if (sessionId < 0 || sessionId > 32 || !c.has(sessionId)) {
            return new Malformed("ClientHello session id length " + sessionId + " (expected 0..32)");
        }
        c.skip(sessionId);
        int suites = c.has(2) ? c.u16() : -1;
        if (suites < 2 || suites % 2 != 0 || !c.has(suites)) {
            return new Malformed("ClientHello cipher suites length " + suites + " (expected an even 2..)");
        }
        c.skip(suites);
        int compressions = c.has(1) ? c.u8() : -1;
        if (compressions < 1 || !c.has(compressions)) {
            return new Malformed("ClientHello compression methods length " + compressions + " (expected 1..)");
        }
        c.skip(compressions);
        if (c.remaining() == 0) {
            return new None("ClientHello without extensions");
        }
        int extensions = c.has(2) ? c.u16() : -1;
        if (extensions != c.remaining()) {
            return new Malformed("ClientHello extensions length " + extensions + " (expected the "
                    + c.remaining() + " bytes left)");
        }
        String name = null;
        boolean sawServerName = false;
        java.util.BitSet seen = new java.util.BitSet();
        while (c.remaining() > 0) {
            if (!c.has(4)) {
                return new Malformed("extension header cut short");
            }
            int type = c.u16();
            int length = c.u16();
            if (!c.has(length)) {
                return new Malformed("extension " + type + " of " + length + " bytes past the end of the ClientHello");
            }
            if (seen.get(type)) {
                return new Malformed("extension " + type + " twice (RFC 8446 §4.2: at most once)");
            }
            seen.set(type);
            if (type == SERVER_NAME) {
                sawServerName = true;
                Object sni = serverName(new Cursor(b, c.at, c.at + length));
                if (sni instanceof Malformed m) {
                    return m;
                }
                name = (String) sni;
            }
            c.skip(length);
        }
        if (name != null) {
            return new ServerName(name);
        }
        return new None(sawServerName ? "server_name extension without a host name" : "no server_name extension");
    }

    /** A server_name extension's body: the first host_name (a String), null when none, or a {@link Malformed}. */
    private static Object serverName(Cursor c) {
        int list = c.has(2) ? c.u16() : -1;
        if (list != c.remaining() || list == 0) {
            return new Malformed("server_name list length " + list + " (expected the " + c.remaining()
                    + " bytes of the extension, at least one name)");
        }
        String name = null;
        while (c.remaining() > 0) {
            if (!c.has(3)) {
                return new Malformed("server_name entry cut short");
            }
            int type = c.u8();
            int length = c.u16();
            if (!c.has(length)) {
                return new Malformed("server name of " + length + " bytes past the end of its list");
            }
            if (type == HOST_NAME && name == null) {
                if (length == 0 || length > 255) {
                    return new Malformed("host_name of " + length + " bytes (expected 1..255)");
                }
                for (int i = 0; i < length; i++) {
                    int ch = c.b[c.at + i] & 0xff;
                    if (ch <= 0x20 || ch >= 0x7f) {
                        return new Malformed("host_name with byte 0x" + hex(ch) + " (expected ASCII letters, digits, "
                                + "'-', '.')");
                    }
                }
                name = new String(c.b, c.at, length, StandardCharsets.US_ASCII);
            }
            c.skip(length);
        }
        return name;
    }

    private static String hex(int b) {
        return String.format("%02x", b);
    }

    /** Reads big-endian fields of {@code b[at, end)}; callers check {@link #has} first. */
    private static final class Cursor {
        final byte[] b;
        int at;
        final int end;

        Cursor(byte[] b, int at, int end) {
            this.b = b;
            this.at = at;
            this.end = end;
        }

        boolean has(int n) {
            return n >= 0 && end - at >= n;
        }

        int remaining() {
            return end - at;
        }

        int u8() {
            return b[at++] & 0xff;
        }

        int u16() {
            int v = ((b[at] & 0xff) << 8) | (b[at + 1] & 0xff);
            at += 2;
            return v;
        }

        void skip(int n) {
            at += n;
        }
    }
}
