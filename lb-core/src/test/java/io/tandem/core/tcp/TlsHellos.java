package io.tandem.core.tcp;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/** TLS ClientHellos for tests: the JDK's own (real TLS 1.3 / 1.2 clients) and hand-built ones. */
final class TlsHellos {
    private TlsHellos() {
    }

    /** The first flight of a JDK TLS client naming {@code serverName} (null: no SNI): its ClientHello record(s). */
    static byte[] jdk(String serverName, String... protocols) {
        try {
            SSLEngine engine = SSLContext.getDefault().createSSLEngine(serverName == null ? null : serverName, 443);
            engine.setUseClientMode(true);
            SSLParameters p = engine.getSSLParameters();
            p.setServerNames(serverName == null ? List.of() : List.of(new SNIHostName(serverName)));
            if (protocols.length > 0) {
                p.setProtocols(protocols);
            }
            engine.setSSLParameters(p);
            engine.beginHandshake();
            ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
            engine.wrap(ByteBuffer.allocate(0), out);
            out.flip();
            byte[] b = new byte[out.remaining()];
            out.get(b);
            return b;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** An extension: type, then its body with a 2-byte length. */
    static byte[] extension(int type, byte[] body) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        u16(o, type);
        u16(o, body.length);
        o.writeBytes(body);
        return o.toByteArray();
    }

    /** A server_name extension with one host_name. */
    static byte[] sni(String name) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        u16(o, n.length + 3);
        o.write(0);
        u16(o, n.length);
        o.writeBytes(n);
        return extension(0, o.toByteArray());
    }

    /** A ClientHello handshake message (type, 3-byte length, body) with these extensions (null: no block). */
    static byte[] handshake(byte[]... extensions) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        u16(body, 0x0303);
        body.writeBytes(new byte[32]); // random
        body.write(32);
        body.writeBytes(new byte[32]); // session id
        u16(body, 4);
        u16(body, 0x1301);
        u16(body, 0x1302);
        body.write(1);
        body.write(0); // null compression
        if (extensions != null) {
            ByteArrayOutputStream ext = new ByteArrayOutputStream();
            for (byte[] e : extensions) {
                ext.writeBytes(e);
            }
            u16(body, ext.size());
            body.writeBytes(ext.toByteArray());
        }
        ByteArrayOutputStream msg = new ByteArrayOutputStream();
        msg.write(1);
        msg.write(body.size() >>> 16);
        u16(msg, body.size() & 0xffff);
        msg.writeBytes(body.toByteArray());
        return msg.toByteArray();
    }

    /** {@code handshake} in TLS handshake records of at most {@code fragment} bytes each. */
    static byte[] records(byte[] handshake, int fragment) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (int at = 0; at < handshake.length; at += fragment) {
            int n = Math.min(fragment, handshake.length - at);
            o.write(0x16);
            u16(o, 0x0301);
            u16(o, n);
            o.write(handshake, at, n);
        }
        return o.toByteArray();
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void u16(ByteArrayOutputStream o, int v) {
        o.write(v >>> 8);
        o.write(v & 0xff);
    }
}
