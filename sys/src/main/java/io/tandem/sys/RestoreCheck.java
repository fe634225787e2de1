package io.tandem.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.tandem.sys.Errno.ErrnoException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a restored connection against what its peer says, and resets the peer cleanly when the
 * state did not match. A record that is behind the connection (the old node sent or acknowledged
 * bytes after the record was taken) restores without an error, but the two ends then disagree on
 * the sequence numbers and the kernel resolves nothing: the peer's ACKs for bytes the restored
 * socket never had are dropped as "acknowledges unsent data", its new data waits forever behind a
 * gap, and the connection hangs until a timeout many minutes later. Nor could the restored socket
 * reset it: its RST would carry a sequence number the peer has left behind, and the peer drops it
 * (RFC 5961 wants the exact next sequence number).
 *
 * <p>So the restorer listens (one raw IPPROTO_TCP socket per network namespace sees a copy of
 * every TCP segment the host receives) for the peer's answer to the window probe that
 * {@link TcpRepair#restore} sends, and judges:
 * <ul>
 *   <li><b>mismatch</b>, certain: the peer acknowledges bytes beyond what the restored socket has
 *       sent, or ones before what the record says it acknowledged;</li>
 *   <li><b>mismatch</b>, by the deadline: the peer's data only ever starts beyond the restored
 *       socket's next expected byte (bytes the old node acknowledged are missing);</li>
 *   <li><b>match</b>: an acknowledgement in range, and a sequence number at or before the
 *       expected one;</li>
 *   <li><b>gone</b>: the peer answers with a RST (its side was reset meanwhile, e.g. by the
 *       old node's kernel answering a segment while no socket held the connection);</li>
 *   <li><b>unknown</b>: nothing decisive by the deadline (a silent or unreachable peer); the
 *       connection is kept, the record assumed good.</li>
 * </ul>
 * On a mismatch {@link #resetPeer} sends the peer a RST with the sequence number the peer itself
 * just acknowledged, which it accepts: a clean reset, never a corrupted stream.
 *
 * <p>IPv4 only so far. One instance per thread; needs CAP_NET_RAW.
 */
@SuppressWarnings("restricted")
public final class RestoreCheck implements AutoCloseable {
    static final int IPPROTO_TCP = 6;
    static final int IP_HDRINCL = 3;
    private static final int FIN = 0x01;
    private static final int SYN = 0x02;
    private static final int RST = 0x04;
    private static final int ACK = 0x10;

    /** What the peer's segments say about a restored connection. */
    public enum Verdict { MATCH, MISMATCH, GONE, UNKNOWN }

    /**
     * The judgement and the peer's last sequence and acknowledgement numbers seen (0 if none).
     *
     * @param reason for a log line: what decided it
     */
    public record Outcome(Verdict verdict, int peerSeq, int peerAck, String reason) {
    }

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment errno = Syscalls.newErrnoBuffer(arena);
    private final MemorySegment buf = arena.allocate(65_536, 8);
    private final MemorySegment addr = arena.allocate(Syscalls.SOCKADDR_SLOT, 8);
    private final int fd;

    private RestoreCheck(int fd) {
        this.fd = fd;
    }

    /**
     * Opens the raw socket. Open it before restoring: segments that arrive before it exists are
     * not seen.
     */
    public static RestoreCheck open() throws ErrnoException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = Syscalls.newErrnoBuffer(a);
            int fd = Syscalls.socket(st, Syscalls.AF_INET,
                    Syscalls.SOCK_RAW | Syscalls.SOCK_NONBLOCK | Syscalls.SOCK_CLOEXEC, IPPROTO_TCP);
            if (fd < 0) {
                int e = Syscalls.errno(st);
                throw new ErrnoException("restore check: raw socket: " + Syscalls.strerror(e), e);
            }
            MemorySegment one = a.allocate(JAVA_INT);
            one.set(JAVA_INT, 0, 1);
            if (Syscalls.setsockopt(st, fd, Syscalls.SOL_IP, IP_HDRINCL, one.address(), 4) < 0) {
                int e = Syscalls.errno(st);
                Syscalls.close(st, fd);
                throw new ErrnoException("restore check: IP_HDRINCL: " + Syscalls.strerror(e), e);
            }
            return new RestoreCheck(fd);
        }
    }

    /**
     * How long an undecided connection waits before its socket probes again: just over Linux's
     * default limit on the answers to out-of-window segments ({@code net.ipv4.tcp_invalid_ratelimit},
     * 500 ms per connection). A window probe is such a segment, so a peer that answered one
     * (e.g. the old node's, or an earlier probe lost) less than 500 ms before answers nothing to
     * the next: it counts {@code TCPACKSkippedSeq} and stays silent.
     */
    public static final Duration REPROBE = Duration.ofMillis(600);

    /** Makes the restored socket of a connection (by its index in the checked list) probe its peer again. */
    @FunctionalInterface
    public interface Prober {
        void probe(int index) throws ErrnoException;
    }

    /** Reads the peer's segments of {@code state}'s connection for up to {@code within} and judges. */
    public Outcome check(TcpState state, Duration within) throws ErrnoException {
        return check(List.of(state), within).getFirst();
    }

    /**
     * Judges every connection of {@code states} (restored together: a takeover's batch, or the
     * two sockets of a proxied pair) from their peers' segments, for up to {@code within}
     * altogether; the outcomes in the order of {@code states}. Relies on the one window probe
     * each socket sent when it was resumed: see {@link #check(List, Duration, Prober)}.
     */
    public List<Outcome> check(List<TcpState> states, Duration within) throws ErrnoException {
        return check(states, within, null);
    }

    /**
     * As {@link #check(List, Duration)}, and every {@link #REPROBE} each connection still
     * undecided gets another window probe from its socket through {@code prober} (e.g.
     * {@link TcpRepair#probe}): the answer to a single probe can be suppressed by the peer's
     * rate limit on out-of-window answers, and then a quiet peer (nothing of its own to send)
     * says nothing decisive within the deadline.
     */
    public List<Outcome> check(List<TcpState> states, Duration within, Prober prober) throws ErrnoException {
        List<Judge> judges = new ArrayList<>();
        for (TcpState s : states) {
            judges.add(new Judge(s));
        }
        int open = (int) judges.stream().filter(j -> j.outcome == null).count();
        long now = System.nanoTime();
        long deadline = now + within.toNanos();
        long nextProbe = now + REPROBE.toNanos();
        while (open > 0 && (now = System.nanoTime()) < deadline) {
            if (prober != null && now >= nextProbe) {
                for (int i = 0; i < judges.size(); i++) {
                    if (judges.get(i).outcome == null) {
                        prober.probe(i);
                        judges.get(i).probes++;
                    }
                }
                nextProbe = now + REPROBE.toNanos();
            }
            long n = Syscalls.recv(errno, fd, buf.address(), buf.byteSize(), Syscalls.MSG_DONTWAIT);
            if (n < 0) {
                int e = Syscalls.errno(errno);
                if (e != Errno.EAGAIN) {
                    throw new ErrnoException("restore check: recv: " + Syscalls.strerror(e), e);
                }
                pause();
                continue;
            }
            int ihl = (buf.get(JAVA_BYTE, 0) & 0xf) * 4;
            if (n < ihl + 20 || buf.get(JAVA_BYTE, 9) != IPPROTO_TCP) {
                continue;
            }
            for (Judge j : judges) {
                if (j.outcome == null && j.matches(ihl)) {
                    j.see(ihl);
                    if (j.outcome != null) {
                        open--;
                    }
                    break;
                }
            }
        }
        List<Outcome> out = new ArrayList<>();
        for (Judge j : judges) {
            out.add(j.outcome != null ? j.outcome : j.atDeadline());
        }
        return out;
    }

    /** What the segments seen so far say about one restored connection. */
    private final class Judge {
        final TcpState state;
        final byte[] local;
        final byte[] remote;
        final int sent;
        final int rcvNxt;
        boolean ackOk;
        boolean seqOk;
        boolean dataAbove;
        int lastSeq;
        int lastAck;
        int probes;
        Outcome outcome;

        Judge(TcpState state) {
            this.state = state;
            local = state.local().getAddress().getAddress();
            remote = state.remote().getAddress().getAddress();
            sent = state.sendQueue().length - state.unsent();
            rcvNxt = state.recvSeq() + state.recvQueue().length;
            if (local.length != 4) {
                outcome = new Outcome(Verdict.UNKNOWN, 0, 0, "not IPv4");
            }
        }

        boolean matches(int ihl) {
            return same(12, remote) && same(16, local) && u16(ihl) == state.remote().getPort()
                    && u16(ihl + 2) == state.local().getPort();
        }

        void see(int ihl) {
            int flags = buf.get(JAVA_BYTE, ihl + 13) & 0xff;
            if ((flags & RST) != 0) {
                outcome = new Outcome(Verdict.GONE, be32(ihl + 4), 0, "peer reset the connection");
                return;
            }
            if ((flags & SYN) != 0) {
                return;
            }
            int seq = be32(ihl + 4);
            int ack = be32(ihl + 8);
            int data = u16(2) - ihl - ((buf.get(JAVA_BYTE, ihl + 12) & 0xf0) >>> 2);
            if ((flags & FIN) != 0) {
                data++;
            }
            lastSeq = seq;
            if ((flags & ACK) != 0) {
                lastAck = ack;
                int d = ack - state.sendSeq();
                if (d < 0 || d > sent) {
                    outcome = new Outcome(Verdict.MISMATCH, seq, ack, "peer acknowledges "
                            + Integer.toUnsignedString(ack) + " (expected " + Integer.toUnsignedString(state.sendSeq())
                            + ".." + Integer.toUnsignedString(state.sendSeq() + sent) + ")");
                    return;
                }
                ackOk = true;
            }
            if (seq - rcvNxt <= 0) {
                seqOk = true;
            } else if (data > 0) {
                dataAbove = true;
            }
            if (ackOk && seqOk) {
                outcome = new Outcome(Verdict.MATCH, seq, lastAck, "acknowledgement and sequence in range"
                        + (probes > 0 ? " (after " + probes + " more probe" + (probes > 1 ? "s" : "") + ")" : ""));
            }
        }

        Outcome atDeadline() {
            if (dataAbove && !seqOk && lastAck != 0) {
                return new Outcome(Verdict.MISMATCH, lastSeq, lastAck, "peer data only beyond "
                        + Integer.toUnsignedString(rcvNxt) + ": bytes it counts as delivered are missing");
            }
            return new Outcome(Verdict.UNKNOWN, lastSeq, lastAck, "no decisive segment from the peer ("
                    + (1 + probes) + " probes)");
        }
    }

    /**
     * Sends the peer of {@code state}'s connection a RST with sequence number {@code seq} (the
     * acknowledgement number the peer last sent, which it accepts as exact).
     */
    public void resetPeer(TcpState state, int seq) throws ErrnoException {
        byte[] src = state.local().getAddress().getAddress();
        byte[] dst = state.remote().getAddress().getAddress();
        MemorySegment p = buf.asSlice(0, 40);
        p.fill((byte) 0);
        p.set(JAVA_BYTE, 0, (byte) 0x45);
        p.set(JAVA_BYTE, 3, (byte) 40); // total length (the kernel fills it too)
        p.set(JAVA_BYTE, 8, (byte) 64); // TTL
        p.set(JAVA_BYTE, 9, (byte) IPPROTO_TCP);
        MemorySegment.copy(src, 0, p, JAVA_BYTE, 12, 4);
        MemorySegment.copy(dst, 0, p, JAVA_BYTE, 16, 4);
        put16(20, state.local().getPort());
        put16(22, state.remote().getPort());
        put32(24, seq);
        p.set(JAVA_BYTE, 32, (byte) 0x50); // data offset 5 words
        p.set(JAVA_BYTE, 33, (byte) RST);
        put16(36, tcpChecksum(src, dst));
        int len = Syscalls.writeSockaddr(addr, new InetSocketAddress(state.remote().getAddress(), 0));
        long w = Syscalls.sendto(errno, fd, p.address(), 40, 0, addr.address(), len);
        if (w < 0) {
            int e = Syscalls.errno(errno);
            throw new ErrnoException("restore check: RST to " + state.remote() + ": " + Syscalls.strerror(e), e);
        }
    }

    /** The TCP checksum of the 20-byte header at 20, with the IPv4 pseudo-header. */
    private int tcpChecksum(byte[] src, byte[] dst) {
        long sum = 0;
        for (int i = 0; i < 4; i += 2) {
            sum += ((src[i] & 0xff) << 8) | (src[i + 1] & 0xff);
            sum += ((dst[i] & 0xff) << 8) | (dst[i + 1] & 0xff);
        }
        sum += IPPROTO_TCP + 20;
        for (int i = 20; i < 40; i += 2) {
            sum += u16(i);
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private boolean same(int at, byte[] ip) {
        for (int i = 0; i < 4; i++) {
            if (buf.get(JAVA_BYTE, at + i) != ip[i]) {
                return false;
            }
        }
        return true;
    }

    private int u16(int at) {
        return (buf.get(JAVA_BYTE, at) & 0xff) << 8 | buf.get(JAVA_BYTE, at + 1) & 0xff;
    }

    private int be32(int at) {
        return u16(at) << 16 | u16(at + 2);
    }

    private void put16(int at, int v) {
        buf.set(JAVA_BYTE, at, (byte) (v >>> 8));
        buf.set(JAVA_BYTE, at + 1, (byte) v);
    }

    private void put32(int at, int v) {
        put16(at, v >>> 16);
        put16(at + 2, v);
    }

    private static void pause() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        Syscalls.close(errno, fd);
        arena.close();
    }
}
