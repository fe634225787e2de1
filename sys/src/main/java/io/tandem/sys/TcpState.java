package io.tandem.sys;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Everything the kernel needs to recreate one established TCP connection elsewhere, as
 * {@link TcpRepair#dump} read it in repair mode: the 4-tuple, where both queues start in sequence
 * space, the options negotiated at the handshake, the window state, the timestamp clock and the
 * bytes still queued either way.
 *
 * <p>Sequence numbers are the kernel's 32-bit ones, kept as Java {@code int}s (wrapping like the
 * kernel's): {@code sendSeq} is the sequence number of the first byte of {@code sendQueue}
 * (sent but unacknowledged, then never sent: the last {@code unsent} bytes), {@code recvSeq}
 * that of the first byte of {@code recvQueue} (acknowledged to the peer, not yet read by the
 * application). A quiescent connection has both queues empty, and then {@code sendSeq} is
 * {@code snd_una} and {@code recvSeq} is {@code rcv_nxt}.
 *
 * @param local the socket's own address (the VIP's, for a client-side socket)
 * @param remote the peer's address
 * @param sendSeq sequence number of the first byte of {@code sendQueue}
 * @param recvSeq sequence number of the first byte of {@code recvQueue}
 * @param options {@link #OPT_TIMESTAMPS}, {@link #OPT_SACK}, {@link #OPT_WSCALE} as negotiated
 * @param mssClamp the MSS the peer announced (clamped by the route), {@code TCPOPT_MAXSEG}
 * @param sendWscale the peer's window scale (applies to windows it announces)
 * @param recvWscale our window scale
 * @param timestamp the connection's TCP timestamp clock at the dump ({@code TCP_TIMESTAMP})
 * @param window {@code struct tcp_repair_window}
 * @param unsent how many bytes at the end of {@code sendQueue} were never sent
 * @param sendQueue sent-but-unacknowledged then unsent bytes, in order
 * @param recvQueue received, acknowledged, unread bytes, in order
 */
public record TcpState(InetSocketAddress local, InetSocketAddress remote, int sendSeq, int recvSeq,
        int options, int mssClamp, int sendWscale, int recvWscale, int timestamp, Window window,
        int unsent, byte[] sendQueue, byte[] recvQueue) {

    /** {@code TCPI_OPT_TIMESTAMPS} of linux/tcp.h. */
    public static final int OPT_TIMESTAMPS = 1;
    /** {@code TCPI_OPT_SACK}. */
    public static final int OPT_SACK = 2;
    /** {@code TCPI_OPT_WSCALE}. */
    public static final int OPT_WSCALE = 4;

    private static final byte VERSION = 1;

    /**
     * {@code struct tcp_repair_window} of linux/tcp.h (five {@code __u32}s, in this order).
     *
     * @param sndWl1 the sequence number of the segment that last updated the send window
     * @param sndWnd the peer's window, scaled
     * @param maxWindow the largest window the peer announced
     * @param rcvWnd our current receive window
     * @param rcvWup {@code rcv_nxt} when our window was last announced
     */
    public record Window(int sndWl1, int sndWnd, int maxWindow, int rcvWnd, int rcvWup) {
    }

    public TcpState {
        requireNonNull(local, "local");
        requireNonNull(remote, "remote");
        requireNonNull(window, "window");
        requireNonNull(sendQueue, "sendQueue");
        requireNonNull(recvQueue, "recvQueue");
        if (local.getAddress().getAddress().length != remote.getAddress().getAddress().length) {
            throw new IllegalArgumentException("remote: " + remote + " (expected the family of local " + local + ")");
        }
        if (unsent < 0 || unsent > sendQueue.length) {
            throw new IllegalArgumentException("unsent: " + unsent + " (expected 0.." + sendQueue.length + ")");
        }
        if ((options & ~(OPT_TIMESTAMPS | OPT_SACK | OPT_WSCALE)) != 0) {
            throw new IllegalArgumentException("options: " + options + " (expected a mask of 1, 2, 4)");
        }
        if (sendWscale < 0 || sendWscale > 14 || recvWscale < 0 || recvWscale > 14) {
            throw new IllegalArgumentException("wscale: " + sendWscale + "/" + recvWscale + " (expected 0..14)");
        }
        if (mssClamp < 0 || mssClamp > 0xffff) {
            throw new IllegalArgumentException("mssClamp: " + mssClamp + " (expected 0..65535)");
        }
    }

    /**
     * This state with its TCP timestamp clock moved on by {@code millis}: the time since the
     * record was taken (plus the uncertainty of the clocks that measured it). The old socket's
     * clock kept running after the record; a restored socket whose clock restarted from the
     * record would stamp its segments older than what the peer last saw from the old one, and the
     * peer drops those (PAWS, RFC 7323; Linux 6.18 drops a pure ACK that fails it silently, so
     * not even the restored socket's window probe would be answered). A clock that is ahead is
     * harmless: PAWS only refuses old stamps, and round-trip times are measured against the
     * socket's own clock.
     *
     * <p>The value's lowest bit is not a clock bit: since Linux 6.7 it says the socket stamps in
     * microseconds ({@code TCP_TIMESTAMP} reads it that way and setting it switches the mode).
     * It is kept as dumped (a millisecond clock moved on by an odd number of milliseconds would
     * otherwise restore as a microsecond clock, which runs a thousand times faster: after ~36
     * idle minutes its stamps look older than the peer's last one by the 32-bit comparison, and
     * the peer drops every segment); when keeping it needs it, the clock goes one tick further on,
     * never back.
     */
    public TcpState aged(long millis) {
        if (millis < 0) {
            throw new IllegalArgumentException("millis: " + millis + " (expected >= 0)");
        }
        boolean usec = (timestamp & 1) != 0;
        int t = timestamp + (int) (usec ? millis * 1000 : millis);
        if (((t ^ timestamp) & 1) != 0) {
            t++;
        }
        return new TcpState(local, remote, sendSeq, recvSeq, options, mssClamp, sendWscale, recvWscale,
                t, window, unsent, sendQueue, recvQueue);
    }

    /** Whether nothing is queued either way: the state a crash can lose nothing of. */
    public boolean quiescent() {
        return sendQueue.length == 0 && recvQueue.length == 0;
    }

    /**
     * The compact record: version, family and options in one byte each, addresses and ports,
     * the two sequence numbers, MSS, both window scales in a byte, the timestamp, the window,
     * the queue lengths as varints with the bytes, and a CRC-32C of all that (a record damaged
     * on the way is refused, not restored). 56 bytes for a quiescent IPv4 connection.
     */
    public byte[] encode() {
        int addr = local.getAddress().getAddress().length;
        ByteBuffer b = ByteBuffer.allocate(1 + 1 + 2 * (addr + 2) + 4 + 4 + 2 + 1 + 4 + 20
                + 3 * 5 + sendQueue.length + recvQueue.length + 4);
        b.put(VERSION);
        b.put((byte) ((addr == 16 ? 0x80 : 0) | options));
        b.put(local.getAddress().getAddress()).putShort((short) local.getPort());
        b.put(remote.getAddress().getAddress()).putShort((short) remote.getPort());
        b.putInt(sendSeq).putInt(recvSeq);
        b.putShort((short) mssClamp);
        b.put((byte) (sendWscale << 4 | recvWscale));
        b.putInt(timestamp);
        b.putInt(window.sndWl1()).putInt(window.sndWnd()).putInt(window.maxWindow())
                .putInt(window.rcvWnd()).putInt(window.rcvWup());
        putVarint(b, unsent);
        putVarint(b, sendQueue.length);
        b.put(sendQueue);
        putVarint(b, recvQueue.length);
        b.put(recvQueue);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return Arrays.copyOf(b.array(), b.position());
    }

    /** The state in a record of {@link #encode()}; a record that is cut, damaged or of another version is refused. */
    public static TcpState decode(byte[] record) throws IOException {
        requireNonNull(record, "record");
        if (record.length < 5) {
            throw new IOException("tcp state record: " + record.length + " bytes (expected at least 5)");
        }
        CRC32C crc = new CRC32C();
        crc.update(record, 0, record.length - 4);
        int stored = ByteBuffer.wrap(record, record.length - 4, 4).getInt();
        if ((int) crc.getValue() != stored) {
            throw new IOException("tcp state record: checksum " + Integer.toHexString(stored)
                    + " (expected " + Integer.toHexString((int) crc.getValue()) + ": damaged)");
        }
        ByteBuffer b = ByteBuffer.wrap(record, 0, record.length - 4);
        try {
            byte version = b.get();
            if (version != VERSION) {
                throw new IOException("tcp state record: version " + version + " (expected " + VERSION + ")");
            }
            int flags = b.get() & 0xff;
            int addr = (flags & 0x80) != 0 ? 16 : 4;
            InetSocketAddress local = address(b, addr);
            InetSocketAddress remote = address(b, addr);
            int sendSeq = b.getInt();
            int recvSeq = b.getInt();
            int mss = b.getShort() & 0xffff;
            int scales = b.get() & 0xff;
            int ts = b.getInt();
            Window w = new Window(b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getInt());
            int unsent = varint(b);
            byte[] sq = new byte[varint(b)];
            b.get(sq);
            byte[] rq = new byte[varint(b)];
            b.get(rq);
            if (b.hasRemaining()) {
                throw new IOException("tcp state record: " + b.remaining() + " bytes left over (expected none)");
            }
            return new TcpState(local, remote, sendSeq, recvSeq, flags & 0x7f, mss, scales >>> 4, scales & 0xf,
                    ts, w, unsent, sq, rq);
        } catch (BufferUnderflowException | NegativeArraySizeException | IllegalArgumentException e) {
            throw new IOException("tcp state record: malformed (" + e + ")", e);
        }
    }

    private static InetSocketAddress address(ByteBuffer b, int len) throws UnknownHostException {
        byte[] ip = new byte[len];
        b.get(ip);
        return new InetSocketAddress(InetAddress.getByAddress(ip), b.getShort() & 0xffff);
    }

    private static void putVarint(ByteBuffer b, int v) {
        while ((v & ~0x7f) != 0) {
            b.put((byte) (v & 0x7f | 0x80));
            v >>>= 7;
        }
        b.put((byte) v);
    }

    private static int varint(ByteBuffer b) throws IOException {
        int v = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            int x = b.get() & 0xff;
            v |= (x & 0x7f) << shift;
            if ((x & 0x80) == 0) {
                if (v < 0) {
                    throw new IOException("tcp state record: length " + Integer.toUnsignedString(v) + " (expected < 2^31)");
                }
                return v;
            }
        }
        throw new IOException("tcp state record: a varint longer than 5 bytes");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TcpState s && local.equals(s.local) && remote.equals(s.remote) && sendSeq == s.sendSeq
                && recvSeq == s.recvSeq && options == s.options && mssClamp == s.mssClamp
                && sendWscale == s.sendWscale && recvWscale == s.recvWscale && timestamp == s.timestamp
                && window.equals(s.window) && unsent == s.unsent && Arrays.equals(sendQueue, s.sendQueue)
                && Arrays.equals(recvQueue, s.recvQueue);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * local.hashCode() + remote.hashCode()) + sendSeq;
    }

    @Override
    public String toString() {
        return "TcpState[local=" + local + " remote=" + remote + " send_seq=" + Integer.toUnsignedString(sendSeq)
                + " recv_seq=" + Integer.toUnsignedString(recvSeq) + " options=" + options + " mss=" + mssClamp
                + " wscale=" + sendWscale + "/" + recvWscale + " send_queue=" + sendQueue.length + " unsent=" + unsent
                + " recv_queue=" + recvQueue.length + "]";
    }
}
