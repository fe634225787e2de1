package io.tandem.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.tandem.sys.Errno.ErrnoException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;

/**
 * Linux {@code TCP_REPAIR} through FFM: reads an established TCP connection's complete state out
 * of its socket ({@link #dump}) and recreates the connection from that state in a new socket,
 * here or on another host that now owns the local address ({@link #restore}), without a packet
 * on the wire: no handshake, no FIN, no RST. Needs {@code CAP_NET_ADMIN} in the socket's network
 * namespace (the HA group has it already); without it every call fails with EPERM.
 *
 * <p>The steps and their order follow the kernel (net/ipv4/tcp.c, {@code do_tcp_setsockopt}):
 * sequence numbers can be set only before {@code connect}, which in repair mode moves the socket
 * to ESTABLISHED without sending anything; {@code TCP_REPAIR_OPTIONS} only after it and before a
 * byte is queued; the window last. Bytes queued in repair mode with {@code TCP_REPAIR_QUEUE} set
 * go straight into the receive queue (as if received and acknowledged) or into the send queue as
 * sent-but-unacknowledged (retransmitted by the new socket's timer); the never-sent tail of the
 * send queue is written normally after repair mode ends. Leaving repair mode sends a window probe,
 * which makes the peer answer with an ACK: the connection is live again within a round trip.
 *
 * <p>Not carried over (the caller sets them again if it set them): socket options such as
 * {@code TCP_NODELAY}, {@code SO_KEEPALIVE} or buffer sizes, congestion-control state (the new
 * socket starts with a fresh window), the out-of-order queue (the peer retransmits it), urgent
 * data. Connections past ESTABLISHED (a FIN seen or sent) are refused by {@link #dump}.
 *
 * <p>An instance owns a confined arena of scratch memory: one per thread, closed when done.
 * {@link #calls()} counts the system calls it made (the cost stated in docs/connection-survival.md).
 */
@SuppressWarnings("restricted")
public final class TcpRepair implements AutoCloseable {
    /** Linux {@code SOL_TCP} = {@code IPPROTO_TCP}. */
    static final int SOL_TCP = Syscalls.IPPROTO_TCP;
    static final int TCP_MAXSEG = 2;
    static final int TCP_INFO = 11;
    static final int TCP_REPAIR = 19;
    static final int TCP_REPAIR_QUEUE = 20;
    static final int TCP_QUEUE_SEQ = 21;
    static final int TCP_REPAIR_OPTIONS = 22;
    static final int TCP_TIMESTAMP = 24;
    static final int TCP_REPAIR_WINDOW = 29;
    static final int TCP_REPAIR_ON = 1;
    static final int TCP_REPAIR_OFF = 0;
    /** enum { TCP_NO_QUEUE, TCP_RECV_QUEUE, TCP_SEND_QUEUE } of linux/tcp.h. */
    static final int TCP_NO_QUEUE = 0;
    static final int TCP_RECV_QUEUE = 1;
    static final int TCP_SEND_QUEUE = 2;
    /** TCP option kinds (RFC 793, 7323, 2018) as {@code tcp_repair_opt.opt_code}. */
    static final int TCPOPT_MAXSEG = 2;
    static final int TCPOPT_WINDOW = 3;
    static final int TCPOPT_SACK_PERM = 4;
    static final int TCPOPT_TIMESTAMP = 8;
    static final int SO_SNDBUF = 7;
    static final int SO_RCVBUF = 8;
    /** Root may raise a buffer beyond {@code wmem_max}: a restored queue must fit in one go. */
    static final int SO_SNDBUFFORCE = 32;
    static final int SO_RCVBUFFORCE = 33;
    static final int MSG_PEEK = 2;
    static final int TCP_ESTABLISHED = 1;

    /** {@code struct tcp_info} offsets (linux/tcp.h): the fields read here, and the size read. */
    static final int TCPI_STATE = 0;
    static final int TCPI_OPTIONS = 5;
    static final int TCPI_WSCALE = 6; // snd_wscale:4 (low nibble), rcv_wscale:4
    static final int TCPI_UNACKED = 24; // segments sent and not acknowledged
    static final int TCPI_NOTSENT_BYTES = 144;
    static final int TCP_INFO_SIZE = 232;
    /** sizeof(struct tcp_repair_window): five __u32s. */
    static final int REPAIR_WINDOW_SIZE = 20;
    /** sizeof(struct tcp_repair_opt): two __u32s. */
    static final int REPAIR_OPT_SIZE = 8;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment errno = Syscalls.newErrnoBuffer(arena);
    private final MemorySegment info = arena.allocate(TCP_INFO_SIZE, 8);
    private final MemorySegment word = arena.allocate(8, 8);
    private final MemorySegment len = arena.allocate(8, 8);
    private final MemorySegment opts = arena.allocate(4 * REPAIR_OPT_SIZE, 8);
    private final MemorySegment addr = arena.allocate(Syscalls.SOCKADDR_SLOT, 8);
    private MemorySegment buffer = arena.allocate(64 * 1024, 8);
    private long calls;

    private TcpRepair() {
    }

    /** A repairer for the calling thread. */
    public static TcpRepair open() {
        if (!Syscalls.AVAILABLE) {
            throw new IllegalStateException("TCP_REPAIR needs libc through FFM (Linux, --enable-native-access)");
        }
        return new TcpRepair();
    }

    /** System calls made by this instance so far. */
    public long calls() {
        return calls;
    }

    /**
     * Puts the established socket {@code fd} into repair mode and reads its state. The socket
     * stays in repair mode, frozen (it sends nothing, and received segments no longer reach the
     * application), until {@link #resume} or {@link #closeSilently}. A socket that still
     * receives segments keeps acknowledging them in repair mode: for a state that stays exact,
     * hold the peer's segments back first (or dump a quiescent connection). A socket that cannot
     * be dumped (not ESTABLISHED, or a call failed) is let out of repair mode and runs on.
     */
    public TcpState dump(int fd) throws ErrnoException {
        setInt(fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_ON, "TCP_REPAIR on");
        try {
            return read(fd);
        } catch (ErrnoException | RuntimeException e) {
            // Refused or failed: the socket runs on as it was, not left frozen.
            word.set(JAVA_INT, 0, TCP_REPAIR_OFF);
            calls++;
            Syscalls.setsockopt(errno, fd, SOL_TCP, TCP_REPAIR, word.address(), 4);
            throw e;
        }
    }

    private TcpState read(int fd) throws ErrnoException {
        len.set(JAVA_INT, 0, TCP_INFO_SIZE);
        check(fd, Syscalls.getsockopt(errno, fd, SOL_TCP, TCP_INFO, info.address(), len.address()), "TCP_INFO");
        int state = info.get(JAVA_BYTE, TCPI_STATE);
        if (state != TCP_ESTABLISHED) {
            throw new ErrnoException("tcp repair: fd=" + fd + " state " + state + " (expected 1, ESTABLISHED)",
                    Errno.EPROTO);
        }
        int options = info.get(JAVA_BYTE, TCPI_OPTIONS)
                & (TcpState.OPT_TIMESTAMPS | TcpState.OPT_SACK | TcpState.OPT_WSCALE);
        int scales = info.get(JAVA_BYTE, TCPI_WSCALE) & 0xff;
        int notsent = info.get(JAVA_INT, TCPI_NOTSENT_BYTES);
        int mss = getInt(fd, SOL_TCP, TCP_MAXSEG, "TCP_MAXSEG");
        int timestamp = getInt(fd, SOL_TCP, TCP_TIMESTAMP, "TCP_TIMESTAMP");
        len.set(JAVA_INT, 0, REPAIR_WINDOW_SIZE);
        check(fd, Syscalls.getsockopt(errno, fd, SOL_TCP, TCP_REPAIR_WINDOW, info.address(), len.address()),
                "TCP_REPAIR_WINDOW");
        TcpState.Window window = new TcpState.Window(info.get(JAVA_INT, 0), info.get(JAVA_INT, 4),
                info.get(JAVA_INT, 8), info.get(JAVA_INT, 12), info.get(JAVA_INT, 16));

        setInt(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE send");
        int writeSeq = getInt(fd, SOL_TCP, TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ send");
        byte[] sendQueue = peek(fd, SO_SNDBUF, "send queue");
        setInt(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE recv");
        int rcvNxt = getInt(fd, SOL_TCP, TCP_QUEUE_SEQ, "TCP_QUEUE_SEQ recv");
        byte[] recvQueue = peek(fd, SO_RCVBUF, "receive queue");
        setInt(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, "TCP_REPAIR_QUEUE none");

        InetSocketAddress local = name(fd, true);
        InetSocketAddress remote = name(fd, false);
        return new TcpState(local, remote, writeSeq - sendQueue.length, rcvNxt - recvQueue.length, options, mss,
                scales & 0xf, scales >>> 4, timestamp, window, Math.min(Math.max(notsent, 0), sendQueue.length),
                sendQueue, recvQueue);
    }

    /**
     * Whether the established socket {@code fd} is quiescent: every byte it sent acknowledged,
     * nothing waiting to be sent, nothing received that the application has not read. Only then
     * can a record of it (or a crash) lose nothing. A read-only check, outside repair mode.
     */
    public boolean quiescent(int fd) throws ErrnoException {
        len.set(JAVA_INT, 0, TCP_INFO_SIZE);
        calls++;
        check(fd, Syscalls.getsockopt(errno, fd, SOL_TCP, TCP_INFO, info.address(), len.address()), "TCP_INFO");
        if (info.get(JAVA_INT, TCPI_UNACKED) != 0 || info.get(JAVA_INT, TCPI_NOTSENT_BYTES) != 0) {
            return false;
        }
        calls++;
        long n = Syscalls.recv(errno, fd, word.address(), 1, MSG_PEEK | Syscalls.MSG_DONTWAIT);
        return n < 0 && Syscalls.errno(errno) == Errno.EAGAIN;
    }

    /** Segments {@code fd} sent that the peer has not acknowledged yet ({@code tcpi_unacked}). */
    int unackedSegments(int fd) throws ErrnoException {
        len.set(JAVA_INT, 0, TCP_INFO_SIZE);
        calls++;
        check(fd, Syscalls.getsockopt(errno, fd, SOL_TCP, TCP_INFO, info.address(), len.address()), "TCP_INFO");
        return info.get(JAVA_INT, TCPI_UNACKED);
    }

    /** Leaves repair mode after a {@link #dump}: the socket runs on (a window probe goes out). */
    public void resume(int fd) throws ErrnoException {
        setInt(fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_OFF, "TCP_REPAIR off");
    }

    /**
     * Makes the live socket {@code fd} send another window probe (repair mode on and off again:
     * leaving it is what sends one; nothing else changes). Its peer answers with an ACK, unless it
     * answered an out-of-window segment of this connection less than
     * {@code net.ipv4.tcp_invalid_ratelimit} (500 ms) ago. For {@link RestoreCheck}'s retries.
     */
    public void probe(int fd) throws ErrnoException {
        setInt(fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_ON, "TCP_REPAIR on");
        setInt(fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_OFF, "TCP_REPAIR off");
    }

    /**
     * Closes {@code fd}, a socket in repair mode, without a FIN or a RST: to the peer the
     * connection is simply still there, for its restored copy to carry on.
     */
    public void closeSilently(int fd) throws ErrnoException {
        calls++;
        check(fd, Syscalls.close(errno, fd), "close");
    }

    /**
     * Closes a live socket without a FIN or a RST (repair mode on, then close): for a restored
     * copy that must not speak, e.g. one {@link RestoreCheck} found out of step with its peer.
     */
    public void discard(int fd) throws ErrnoException {
        setInt(fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_ON, "TCP_REPAIR on");
        closeSilently(fd);
    }

    /**
     * A new non-blocking, close-on-exec socket carrying the connection of {@code state}, still
     * in repair mode: frozen, nothing sent yet. {@link #resume(int, TcpState)} makes it live. The
     * split lets a takeover recreate every connection first, then lift the hold-back of the
     * peers' segments, then resume them (the window probe that resuming sends must be answered
     * through the lifted hold-back). The local address need not be on this host yet
     * ({@code IP_FREEBIND}). On failure the new socket is closed silently and nothing reached the
     * wire.
     */
    public int restore(TcpState state) throws ErrnoException {
        int family = state.local().getAddress().getAddress().length == 4 ? Syscalls.AF_INET : Syscalls.AF_INET6;
        calls++;
        int fd = Syscalls.socketStream(errno, family);
        check(-1, fd, "socket");
        try {
            restoreInto(fd, state);
            return fd;
        } catch (ErrnoException | RuntimeException e) {
            calls++;
            Syscalls.close(errno, fd); // in repair mode: silent
            throw e;
        }
    }

    /**
     * Makes the restored socket {@code fd} live: leaves repair mode (a window probe goes out, the
     * peer answers with an ACK) and queues the never-sent tail of {@code state}'s send queue.
     */
    public void resume(int fd, TcpState state) throws ErrnoException {
        setInt(fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_OFF, "TCP_REPAIR off");
        if (state.unsent() > 0) { // never on the wire: an ordinary write, sent as the window allows
            byte[] sq = state.sendQueue();
            write(fd, sq, sq.length - state.unsent(), state.unsent(), "unsent tail");
        }
    }

    private void restoreInto(int fd, TcpState s) throws ErrnoException {
        // SO_REUSEADDR first: it would overwrite the forced reuse that repair mode sets, which is
        // what lets the socket bind the port of the VIP's listener.
        setInt(fd, Syscalls.SOL_SOCKET, Syscalls.SO_REUSEADDR, 1, "SO_REUSEADDR");
        setInt(fd, SOL_TCP, TCP_REPAIR, TCP_REPAIR_ON, "TCP_REPAIR on");
        setInt(fd, Syscalls.SOL_IP, Syscalls.IP_FREEBIND, 1, "IP_FREEBIND");
        setInt(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE send");
        setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, s.sendSeq(), "TCP_QUEUE_SEQ send");
        setInt(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE recv");
        setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, s.recvSeq(), "TCP_QUEUE_SEQ recv");
        int n = Syscalls.writeSockaddr(addr, s.local());
        calls++;
        check(fd, Syscalls.bind(errno, fd, addr.address(), n), "bind " + s.local());
        n = Syscalls.writeSockaddr(addr, s.remote());
        calls++;
        check(fd, Syscalls.connect(errno, fd, addr.address(), n), "connect " + s.remote()); // no packet in repair mode

        int k = 0;
        if ((s.options() & TcpState.OPT_WSCALE) != 0) {
            k = opt(k, TCPOPT_WINDOW, s.sendWscale() | s.recvWscale() << 16);
        }
        if ((s.options() & TcpState.OPT_TIMESTAMPS) != 0) {
            k = opt(k, TCPOPT_TIMESTAMP, 0);
        }
        if ((s.options() & TcpState.OPT_SACK) != 0) {
            k = opt(k, TCPOPT_SACK_PERM, 0);
        }
        k = opt(k, TCPOPT_MAXSEG, s.mssClamp());
        calls++;
        check(fd, Syscalls.setsockopt(errno, fd, SOL_TCP, TCP_REPAIR_OPTIONS, opts.address(), k * REPAIR_OPT_SIZE),
                "TCP_REPAIR_OPTIONS");
        if ((s.options() & TcpState.OPT_TIMESTAMPS) != 0) {
            setInt(fd, SOL_TCP, TCP_TIMESTAMP, s.timestamp(), "TCP_TIMESTAMP");
        }

        byte[] rq = s.recvQueue();
        byte[] sq = s.sendQueue();
        int sent = sq.length - s.unsent();
        if (rq.length > 0) {
            if (rq.length > 32 * 1024) { // beyond the default tcp_rmem: the kernel would drop it
                setInt(fd, Syscalls.SOL_SOCKET, SO_RCVBUFFORCE, 4 * rq.length, "SO_RCVBUFFORCE");
            }
            setInt(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE, "TCP_REPAIR_QUEUE recv");
            write(fd, rq, 0, rq.length, "receive queue");
        }
        if (sq.length > 4 * 1024) { // beyond the default tcp_wmem: a non-blocking write would stop short
            setInt(fd, Syscalls.SOL_SOCKET, SO_SNDBUFFORCE, 4 * sq.length, "SO_SNDBUFFORCE");
        }
        if (sent > 0) {
            setInt(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE, "TCP_REPAIR_QUEUE send");
            write(fd, sq, 0, sent, "send queue");
        }
        TcpState.Window w = s.window();
        info.set(JAVA_INT, 0, w.sndWl1());
        info.set(JAVA_INT, 4, w.sndWnd());
        info.set(JAVA_INT, 8, w.maxWindow());
        info.set(JAVA_INT, 12, w.rcvWnd());
        info.set(JAVA_INT, 16, w.rcvWup());
        calls++;
        check(fd, Syscalls.setsockopt(errno, fd, SOL_TCP, TCP_REPAIR_WINDOW, info.address(), REPAIR_WINDOW_SIZE),
                "TCP_REPAIR_WINDOW");
        setInt(fd, SOL_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE, "TCP_REPAIR_QUEUE none");
    }

    private int opt(int k, int code, int value) {
        opts.set(JAVA_INT, (long) k * REPAIR_OPT_SIZE, code);
        opts.set(JAVA_INT, (long) k * REPAIR_OPT_SIZE + 4, value);
        return k + 1;
    }

    /** All of {@code bytes[from, from+n)} into the socket; the kernel may take a queue in pieces. */
    private void write(int fd, byte[] bytes, int from, int n, String what) throws ErrnoException {
        ensure(n);
        MemorySegment.copy(bytes, from, buffer, JAVA_BYTE, 0, n);
        int done = 0;
        while (done < n) {
            calls++;
            long w = Syscalls.send(errno, fd, buffer.address() + done, n - done,
                    Syscalls.MSG_DONTWAIT | Syscalls.MSG_NOSIGNAL);
            if (w <= 0) {
                int e = w < 0 ? Syscalls.errno(errno) : Errno.EAGAIN;
                throw new ErrnoException("tcp repair: fd=" + fd + " restoring the " + what + ": " + done + " of " + n
                        + " bytes queued: " + Syscalls.strerror(e), e);
            }
            done += (int) w;
        }
    }

    /** The whole of the queue selected by TCP_REPAIR_QUEUE, peeked (the kernel copies it in one call). */
    private byte[] peek(int fd, int bufOption, String what) throws ErrnoException {
        int size = getInt(fd, Syscalls.SOL_SOCKET, bufOption, what + " buffer size");
        ensure(size + 1);
        calls++;
        long n = Syscalls.recv(errno, fd, buffer.address(), size + 1, MSG_PEEK | Syscalls.MSG_DONTWAIT);
        if (n < 0) {
            int e = Syscalls.errno(errno);
            if (e != Errno.EAGAIN) {
                throw new ErrnoException("tcp repair: fd=" + fd + " peek " + what + ": " + Syscalls.strerror(e), e);
            }
            n = 0;
        }
        return buffer.asSlice(0, n).toArray(JAVA_BYTE);
    }

    private void ensure(long size) {
        if (buffer.byteSize() < size) {
            buffer = arena.allocate(Math.max(size, 2 * buffer.byteSize()), 8);
        }
    }

    private InetSocketAddress name(int fd, boolean local) throws ErrnoException {
        len.set(JAVA_INT, 0, Syscalls.SOCKADDR_SLOT);
        calls++;
        int r = local ? Syscalls.getsockname(errno, fd, addr.address(), len.address())
                : Syscalls.getpeername(errno, fd, addr.address(), len.address());
        check(fd, r, local ? "getsockname" : "getpeername");
        return Syscalls.readSockaddr(addr);
    }

    private void setInt(int fd, int level, int name, int value, String what) throws ErrnoException {
        word.set(JAVA_INT, 0, value);
        calls++;
        check(fd, Syscalls.setsockopt(errno, fd, level, name, word.address(), 4), what);
    }

    private int getInt(int fd, int level, int name, String what) throws ErrnoException {
        len.set(JAVA_INT, 0, 4);
        calls++;
        check(fd, Syscalls.getsockopt(errno, fd, level, name, word.address(), len.address()), what);
        return word.get(JAVA_INT, 0);
    }

    private void check(int fd, int result, String what) throws ErrnoException {
        if (result < 0) {
            int e = Syscalls.errno(errno);
            throw new ErrnoException("tcp repair: fd=" + fd + " " + what + ": " + Syscalls.strerror(e), e);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
