package io.tandem.ha;

import io.tandem.config.HostPort;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ByteArrayOutputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.util.HashMap;
import java.util.Map;

/**
 * Frames on the peer link: {@code int length, byte type, payload} with {@link DataOutputStream}
 * encoding. A frame larger than {@link #MAX_FRAME} or of an unknown type ends the connection:
 * a peer speaking another version must not be half-understood.
 */
final class PeerCodec {
    static final int MAX_FRAME = 64 * 1024;
    private static final byte HEARTBEAT = 1;
    private static final byte BACKEND_EJECTED = 2;

    private PeerCodec() {
    }

    static byte[] encode(PeerMessage m) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeInt(0);
            switch (m) {
                case PeerMessage.Heartbeat h -> {
                    out.writeByte(HEARTBEAT);
                    out.writeUTF(h.nodeId());
                    out.writeLong(h.incarnation());
                    out.writeLong(h.sequence());
                    out.writeBoolean(h.zkConnected());
                    out.writeInt(h.held().size());
                    for (Map.Entry<String, Long> e : h.held().entrySet()) {
                        out.writeUTF(e.getKey());
                        out.writeLong(e.getValue());
                    }
                    // Appended after the fields older nodes read; they ignore the rest of a frame.
                    out.writeInt(h.echoes().size());
                    for (Map.Entry<String, PeerMessage.Echo> e : h.echoes().entrySet()) {
                        out.writeUTF(e.getKey());
                        out.writeLong(e.getValue().incarnation());
                        out.writeLong(e.getValue().sequence());
                    }
                }
                case PeerMessage.BackendEjected b -> {
                    out.writeByte(BACKEND_EJECTED);
                    out.writeUTF(b.nodeId());
                    out.writeUTF(b.vipName());
                    out.writeUTF(b.backend().host());
                    out.writeInt(b.backend().port());
                    out.writeUTF(b.reason());
                    out.writeLong(b.atEpochMillis());
                }
            }
            byte[] frame = bytes.toByteArray();
            int len = frame.length - 4;
            if (len > MAX_FRAME) {
                throw new IllegalArgumentException("frame: " + len + " bytes (expected <= " + MAX_FRAME + ")");
            }
            frame[0] = (byte) (len >>> 24);
            frame[1] = (byte) (len >>> 16);
            frame[2] = (byte) (len >>> 8);
            frame[3] = (byte) len;
            return frame;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reads one frame; {@link EOFException} at a clean end of stream. */
    static PeerMessage read(DataInputStream in) throws IOException {
        int len = in.readInt();
        if (len < 1 || len > MAX_FRAME) {
            throw new IOException("frame length: " + len + " (expected 1.." + MAX_FRAME + ")");
        }
        byte[] body = new byte[len];
        in.readFully(body);
        DataInputStream d = new DataInputStream(new ByteArrayInputStream(body));
        byte type = d.readByte();
        return switch (type) {
            case HEARTBEAT -> {
                String node = d.readUTF();
                long incarnation = d.readLong();
                long seq = d.readLong();
                boolean zk = d.readBoolean();
                int n = d.readInt();
                if (n < 0 || n > 4096) {
                    throw new IOException("held count: " + n + " (expected 0..4096)");
                }
                Map<String, Long> held = new HashMap<>();
                for (int i = 0; i < n; i++) {
                    held.put(d.readUTF(), d.readLong());
                }
                Map<String, PeerMessage.Echo> echoes = new HashMap<>();
                if (d.available() > 0) { // absent from an older node's heartbeat
                    int m = d.readInt();
                    if (m < 0 || m > 4096) {
                        throw new IOException("echo count: " + m + " (expected 0..4096)");
                    }
                    for (int i = 0; i < m; i++) {
                        echoes.put(d.readUTF(), new PeerMessage.Echo(d.readLong(), d.readLong()));
                    }
                }
                yield new PeerMessage.Heartbeat(node, incarnation, seq, zk, held, echoes);
            }
            case BACKEND_EJECTED -> new PeerMessage.BackendEjected(d.readUTF(), d.readUTF(),
                    new HostPort(d.readUTF(), d.readInt()), d.readUTF(), d.readLong());
            default -> throw new IOException("frame type: " + type + " (expected 1 or 2)");
        };
    }
}
