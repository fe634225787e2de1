package io.tandem.core.udp;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.tandem.core.transport.InlineRegistration;
import io.tandem.sys.Errno;
import io.tandem.sys.RateLimitedLog;
import io.tandem.sys.Syscalls;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The epoll side of a UDP listener ({@link DatagramSockets}), the default on Linux. The listening
 * socket and the sessions' upstream sockets are bare descriptors registered with the event loop's
 * epoll through Netty 4.2's public I/O handle API ({@link EpollIoHandle}: no Netty channel, no
 * reflection), and datagrams move through native memory owned by this object, with batched
 * system calls in both directions and no Java object per datagram (perf/UDP.md):
 *
 * <ul>
 *   <li><b>client → backend</b>: one {@code recvmmsg} reads up to {@code batch} datagrams into
 *       fixed slots; each is matched to its session by the client's {@code sockaddr} (IPv4: one
 *       {@code long} key, see {@link SessionTable}); the datagrams of one upstream socket in that
 *       batch leave with one {@code sendmmsg} on it, straight from the receive slots (no copy).</li>
 *   <li><b>backend → client</b>: when an upstream socket is readable, one {@code recvmmsg} reads
 *       everything queued on it (up to {@link #REPLY_BURST}) directly into the next free slots of
 *       the reply batch, each addressed to the session's client; once per event-loop iteration
 *       one {@code sendmmsg} on the listening socket sends the batch.</li>
 * </ul>
 *
 * <p>A datagram that fills its slot (maxDatagramSize + 1 bytes) was truncated by the kernel and
 * is dropped, never forwarded cut short. Unlike a plain {@code recv}, {@code recvmmsg} tells an
 * empty datagram from "nothing to read", so zero-length datagrams are relayed both ways. Upstream
 * sockets are connected: ICMP port unreachable from the backend comes back as {@code ECONNREFUSED}
 * on their next {@code recvmmsg} or {@code sendmmsg} (epoll reports the pending error as
 * {@code EPOLLERR}). Their {@code socket} and {@code connect} are FFM calls ({@link Syscalls}):
 * Netty's {@code Socket} wrapper would add a {@code getsockname} per session.
 *
 * <p>Native memory per listening socket (one per loop per UDP VIP): {@code batch × (maxDatagramSize + 1)}
 * for receiving plus {@code clamp(2 MiB / slot, 8, 64)} reply slots.
 *
 * <p>Confined to its event loop.
 */
final class EpollSockets implements DatagramSockets, EpollIoHandle {
    private static final Logger log = LoggerFactory.getLogger(EpollSockets.class);
    /** recvmmsg calls per readiness event before yielding to the loop's other sockets. */
    static final int MAX_READS_PER_EVENT = 4;
    /** Replies read from one upstream socket per readiness event. */
    static final int REPLY_BURST = 8;
    private static final int MAX_REPLY_SLOTS = 64;
    private static final long REPLY_MEMORY = 2L << 20;

    private final Sessions sessions;
    private final UdpStats stats;
    private final IoEventLoop loop;
    private final Socket socket;
    private final int fd;
    private final int batch;
    private final int slot;
    private final int maxDatagram;
    private final Arena arena;
    private final MemorySegment errno;
    /** A sockaddr for connect and getsockname of upstream sockets, and its length for getsockname. */
    private final MemorySegment sockaddr;
    private final MemorySegment sockaddrLen;

    // client -> backend: recvmmsg slots, then per-upstream sendmmsg from the same data
    private final MemorySegment rxMsgs;
    private final MemorySegment rxAddrs;
    private final MemorySegment rxData;
    private final MemorySegment fwdMsgs;
    private final MemorySegment fwdIov;
    private final int[] rxLen;
    private final int[] nextPending;
    private final int[] fwdLen;
    private final ArrayList<Upstream> pending = new ArrayList<>();

    // backend -> client: upstream recvmmsg into reply slots, listener sendmmsg out of them
    private final int replySlots;
    private final MemorySegment upMsgs;   // receive view: no name, iov of slot bytes
    private final MemorySegment txMsgs;   // send view: client address, iov of the reply's length
    private final MemorySegment txIov;
    private final MemorySegment txAddrs;
    private final MemorySegment txData;
    private final int[] txLen;
    private int txCount;
    private boolean flushScheduled;
    private final Runnable flushReplies = this::flushReplies;

    private IoRegistration registration;
    private boolean closed;
    private final RateLimitedLog errorWarn = RateLimitedLog.every(Duration.ofSeconds(10));

    private EpollSockets(Sessions sessions, IoEventLoop loop, Socket socket) {
        this.sessions = sessions;
        this.stats = sessions.stats;
        this.loop = loop;
        this.socket = socket;
        this.fd = socket.intValue();
        this.batch = sessions.batch;
        this.maxDatagram = sessions.options.maxDatagramSize();
        // One byte more than allowed: a datagram that fills its slot was truncated by the kernel.
        this.slot = maxDatagram + 1;
        this.replySlots = (int) Math.clamp(REPLY_MEMORY / slot, REPLY_BURST, MAX_REPLY_SLOTS);
        this.arena = Arena.ofShared();
        this.errno = Syscalls.newErrnoBuffer(arena);
        this.sockaddr = arena.allocate(Syscalls.SOCKADDR_SLOT, 8);
        this.sockaddrLen = arena.allocate(JAVA_INT);

        rxMsgs = arena.allocate((long) Syscalls.MMSGHDR_SIZE * batch, 8);
        MemorySegment rxIov = arena.allocate((long) Syscalls.IOVEC_SIZE * batch, 8);
        rxAddrs = arena.allocate((long) Syscalls.SOCKADDR_SLOT * batch, 8);
        rxData = arena.allocate((long) slot * batch, 64);
        fwdMsgs = arena.allocate((long) Syscalls.MMSGHDR_SIZE * batch, 8);
        fwdIov = arena.allocate((long) Syscalls.IOVEC_SIZE * batch, 8);
        rxLen = new int[batch];
        nextPending = new int[batch];
        fwdLen = new int[batch];
        for (int i = 0; i < batch; i++) {
            long m = (long) i * Syscalls.MMSGHDR_SIZE;
            long v = (long) i * Syscalls.IOVEC_SIZE;
            rxIov.set(JAVA_LONG, v + Syscalls.IOV_BASE, rxData.address() + (long) i * slot);
            rxIov.set(JAVA_LONG, v + Syscalls.IOV_LEN, slot);
            rxMsgs.set(JAVA_LONG, m + Syscalls.MSG_NAME, rxAddrs.address() + (long) i * Syscalls.SOCKADDR_SLOT);
            rxMsgs.set(JAVA_INT, m + Syscalls.MSG_NAMELEN, Syscalls.SOCKADDR_IN6_SIZE);
            rxMsgs.set(JAVA_LONG, m + Syscalls.MSG_IOV, rxIov.address() + v);
            rxMsgs.set(JAVA_LONG, m + Syscalls.MSG_IOVLEN, 1);
            fwdMsgs.set(JAVA_LONG, m + Syscalls.MSG_IOV, fwdIov.address() + v);
            fwdMsgs.set(JAVA_LONG, m + Syscalls.MSG_IOVLEN, 1);
        }

        upMsgs = arena.allocate((long) Syscalls.MMSGHDR_SIZE * replySlots, 8);
        MemorySegment upIov = arena.allocate((long) Syscalls.IOVEC_SIZE * replySlots, 8);
        txMsgs = arena.allocate((long) Syscalls.MMSGHDR_SIZE * replySlots, 8);
        txIov = arena.allocate((long) Syscalls.IOVEC_SIZE * replySlots, 8);
        txAddrs = arena.allocate((long) Syscalls.SOCKADDR_SLOT * replySlots, 8);
        txData = arena.allocate((long) slot * replySlots, 64);
        txLen = new int[replySlots];
        for (int i = 0; i < replySlots; i++) {
            long m = (long) i * Syscalls.MMSGHDR_SIZE;
            long v = (long) i * Syscalls.IOVEC_SIZE;
            long data = txData.address() + (long) i * slot;
            upIov.set(JAVA_LONG, v + Syscalls.IOV_BASE, data);
            upIov.set(JAVA_LONG, v + Syscalls.IOV_LEN, slot);
            upMsgs.set(JAVA_LONG, m + Syscalls.MSG_IOV, upIov.address() + v);
            upMsgs.set(JAVA_LONG, m + Syscalls.MSG_IOVLEN, 1);
            txIov.set(JAVA_LONG, v + Syscalls.IOV_BASE, data);
            txMsgs.set(JAVA_LONG, m + Syscalls.MSG_NAME, txAddrs.address() + (long) i * Syscalls.SOCKADDR_SLOT);
            txMsgs.set(JAVA_LONG, m + Syscalls.MSG_IOV, txIov.address() + v);
            txMsgs.set(JAVA_LONG, m + Syscalls.MSG_IOVLEN, 1);
        }
    }

    /** True when {@code loop} can run this side: an epoll event loop, and the FFM system calls available. */
    static boolean supported(IoEventLoop loop) {
        return Syscalls.AVAILABLE && loop.isCompatible(EpollIoHandle.class);
    }

    /**
     * Opens a socket bound to {@code address} (SO_REUSEPORT, IP_FREEBIND, {@code socketBuffer}-byte
     * buffers) and registers it for reading on {@code loop}. Must run on that loop.
     */
    static EpollSockets open(Sessions sessions, IoEventLoop loop, InetSocketAddress address, int socketBuffer)
            throws IOException {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("not on the listener's event loop");
        }
        int family = address.getAddress() instanceof Inet6Address ? Syscalls.AF_INET6 : Syscalls.AF_INET;
        int fd;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newErrnoBuffer(a);
            fd = Syscalls.socketDgram(state, family);
            if (fd < 0) {
                throw failure("socket", Syscalls.errno(state));
            }
        }
        Socket socket = new Socket(fd);
        EpollSockets sockets = null;
        try {
            socket.setReusePort(true);
            socket.setIntOpt(Syscalls.SOL_IP, Syscalls.IP_FREEBIND, 1);
            socket.setReceiveBufferSize(socketBuffer);
            socket.setSendBufferSize(socketBuffer);
            socket.bind(address);
            sockets = new EpollSockets(sessions, loop, socket);
            sockets.registration = register(loop, sockets);
        } catch (IOException | RuntimeException e) {
            if (sockets != null) {
                sockets.close();
            } else {
                closeQuietly(socket);
            }
            throw e;
        }
        return sockets;
    }

    /** Registers {@code handle} for reading; on its own loop the registration completes inline. */
    private static IoRegistration register(IoEventLoop loop, EpollIoHandle handle) throws IOException {
        IoRegistration r = InlineRegistration.register(loop, handle, "epoll");
        r.submit(EpollIoOps.EPOLLIN);
        return r;
    }

    @Override
    public InetSocketAddress localAddress() {
        return socket.localAddress();
    }

    @Override
    public FileDescriptor fd() {
        return socket;
    }

    /** A socket of the backend's family (IPv4 gets AF_INET: no mapped addresses), connected, registered for reading. */
    @Override
    public Upstream open(Session session, InetSocketAddress backend) throws IOException {
        if (closed) {
            throw new IOException("listener closed");
        }
        int family = backend.getAddress() instanceof Inet6Address ? Syscalls.AF_INET6 : Syscalls.AF_INET;
        int ufd = Syscalls.socketDgram(errno, family);
        if (ufd < 0) {
            throw failure("socket", Syscalls.errno(errno));
        }
        Upstream up = new Upstream(ufd, session);
        try {
            int len = Syscalls.writeSockaddr(sockaddr, backend);
            if (Syscalls.connect(errno, ufd, sockaddr.address(), len) < 0) {
                throw failure("connect", Syscalls.errno(errno));
            }
            up.registration = register(loop, up);
        } catch (IOException | RuntimeException e) {
            up.close();
            throw e;
        }
        return up;
    }

    // ---------------------------------------------------------------- client -> backend

    /** The listening socket is readable. */
    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        if (closed) {
            return;
        }
        for (int round = 0; round < MAX_READS_PER_EVENT; round++) {
            int n = Syscalls.recvmmsg(errno, fd, rxMsgs.address(), batch, Syscalls.MSG_DONTWAIT);
            if (n <= 0) {
                if (n < 0) {
                    int e = Syscalls.errno(errno);
                    if (e != Errno.EAGAIN && e != Errno.EINTR) {
                        logError("recvmmsg", e);
                    }
                }
                break;
            }
            sessions.countReceiveCall();
            long now = System.nanoTime();
            for (int i = 0; i < n; i++) {
                onDatagram(i, now);
            }
            for (int i = 0, m = pending.size(); i < m; i++) {
                forwardPending(pending.get(i), now);
            }
            pending.clear();
            if (n < batch || closed) {
                break; // the socket is empty (level-triggered: anything later wakes us again)
            }
        }
        sessions.publishCounts();
    }

    private void onDatagram(int i, long now) {
        long m = (long) i * Syscalls.MMSGHDR_SIZE;
        int len = rxMsgs.get(JAVA_INT, m + Syscalls.MMSG_LEN);
        int nameLen = rxMsgs.get(JAVA_INT, m + Syscalls.MSG_NAMELEN);
        rxMsgs.set(JAVA_INT, m + Syscalls.MSG_NAMELEN, Syscalls.SOCKADDR_IN6_SIZE);
        sessions.countIn(len);
        if (len > maxDatagram) {
            stats.droppedTooBig.increment();
            return;
        }
        long a = (long) i * Syscalls.SOCKADDR_SLOT;
        int family = rxAddrs.get(JAVA_SHORT, a) & 0xffff;
        Session s;
        if (family == Syscalls.AF_INET) {
            long key = rxAddrs.get(JAVA_LONG, a); // family, port, address: unique per client
            s = sessions.find4(key, now);
            if (s == null && (s = sessions.open(client(a), key, true, now)) == null) {
                return;
            }
        } else if (family == Syscalls.AF_INET6) {
            s = sessions.session(client(a), now);
            if (s == null) {
                return;
            }
        } else {
            return; // not an IP datagram (cannot happen on an AF_INET/AF_INET6 socket)
        }
        Upstream up = (Upstream) sessions.route(s, now);
        if (up == null) {
            return;
        }
        if (up.replyAddressLen == 0) {
            up.replyTo(rxAddrs, a, nameLen);
        }
        rxLen[i] = len;
        nextPending[i] = -1;
        if (up.pendCount == 0) {
            up.pendHead = i;
            pending.add(up);
        } else {
            nextPending[up.pendTail] = i;
        }
        up.pendTail = i;
        up.pendCount++;
    }

    /** Sends an upstream socket's datagrams of this batch with one sendmmsg. */
    private void forwardPending(Upstream up, long now) {
        int k = up.pendCount;
        int slotIndex = up.pendHead;
        up.pendCount = 0;
        up.pendHead = -1;
        if (up.closed) {
            // its session closed, or moved to another backend, later in the same batch
            stats.droppedNoBackend.add(k);
            return;
        }
        for (int j = 0; j < k; j++) {
            long v = (long) j * Syscalls.IOVEC_SIZE;
            int len = rxLen[slotIndex];
            fwdIov.set(JAVA_LONG, v + Syscalls.IOV_BASE, rxData.address() + (long) slotIndex * slot);
            fwdIov.set(JAVA_LONG, v + Syscalls.IOV_LEN, len);
            fwdLen[j] = len;
            slotIndex = nextPending[slotIndex];
        }
        int sent = 0;
        int failure = 0;
        while (sent < k) {
            int r = Syscalls.sendmmsg(errno, up.intValue(), fwdMsgs.address() + (long) sent * Syscalls.MMSGHDR_SIZE,
                    k - sent, Syscalls.MSG_DONTWAIT);
            if (r > 0) {
                sent += r;
                continue;
            }
            int e = r < 0 ? Syscalls.errno(errno) : Errno.EAGAIN;
            if (e == Errno.EINTR) {
                continue;
            }
            failure = e;
            break;
        }
        if (sent > 0) {
            long bytes = 0;
            for (int j = 0; j < sent; j++) {
                bytes += fwdLen[j];
            }
            up.session.forwarded(sent, bytes);
        }
        if (failure != 0) {
            int lost = k - sent;
            if (failure == Errno.ECONNREFUSED) {
                // ICMP port unreachable: the session re-pins and counts one drop there, the rest here.
                if (lost > 1) {
                    stats.droppedBackendUnreachable.add(lost - 1);
                }
                up.session.failed(up, Session.portUnreachable("sendmmsg"), now);
            } else {
                // EAGAIN/ENOBUFS: the socket's send queue is full; anything else is logged by the session.
                stats.droppedCongested.add(lost);
                if (failure != Errno.EAGAIN && failure != Errno.ENOBUFS) {
                    up.session.failed(up, failure("sendmmsg", failure), now);
                }
            }
        }
    }

    // ---------------------------------------------------------------- backend -> client

    /** An upstream socket is readable: read its replies straight into the reply batch. */
    private void readReplies(Upstream up) {
        if (closed) {
            return;
        }
        if (txCount == replySlots) {
            flushReplies();
        }
        int first = txCount;
        int room = Math.min(replySlots - first, REPLY_BURST);
        int n = Syscalls.recvmmsg(errno, up.intValue(), upMsgs.address() + (long) first * Syscalls.MMSGHDR_SIZE,
                room, Syscalls.MSG_DONTWAIT);
        Session s = up.session;
        if (n <= 0) {
            if (n < 0) {
                int e = Syscalls.errno(errno);
                if (e == Errno.ECONNREFUSED) {
                    s.failed(up, Session.portUnreachable("recvmmsg"), System.nanoTime());
                } else if (e != Errno.EAGAIN && e != Errno.EINTR) {
                    s.failed(up, failure("recvmmsg", e), System.nanoTime());
                }
            }
            return;
        }
        if (!s.isCurrent(up)) {
            return; // an older upstream of this session (cannot normally be registered any more)
        }
        long now = System.nanoTime();
        int w = first;
        for (int k = first; k < first + n; k++) {
            int len = upMsgs.get(JAVA_INT, (long) k * Syscalls.MMSGHDR_SIZE + Syscalls.MMSG_LEN);
            if (len > maxDatagram) {
                stats.droppedTooBig.increment();
                continue;
            }
            if (w != k) {
                MemorySegment.copy(txData, (long) k * slot, txData, (long) w * slot, len);
            }
            txLen[w] = len;
            txIov.set(JAVA_LONG, (long) w * Syscalls.IOVEC_SIZE + Syscalls.IOV_LEN, len);
            long a = (long) w * Syscalls.SOCKADDR_SLOT;
            txAddrs.set(JAVA_LONG, a, up.replyAddress0);
            txAddrs.set(JAVA_LONG, a + 8, up.replyAddress1);
            txAddrs.set(JAVA_LONG, a + 16, up.replyAddress2);
            txAddrs.set(JAVA_LONG, a + 24, up.replyAddress3);
            txMsgs.set(JAVA_INT, (long) w * Syscalls.MMSGHDR_SIZE + Syscalls.MSG_NAMELEN, up.replyAddressLen);
            w++;
            if (s.replied(len, now)) {
                // That reply completed the session (responses per request): the rest are not relayed.
                break;
            }
        }
        txCount = w;
        if (w > first && !flushScheduled) {
            flushScheduled = true;
            loop.execute(flushReplies); // after this loop iteration's I/O: one sendmmsg for all replies
        }
    }

    private void flushReplies() {
        flushScheduled = false;
        int n = txCount;
        txCount = 0;
        int sent = 0;
        while (sent < n && !closed) {
            int r = Syscalls.sendmmsg(errno, fd, txMsgs.address() + (long) sent * Syscalls.MMSGHDR_SIZE, n - sent,
                    Syscalls.MSG_DONTWAIT);
            if (r > 0) {
                for (int k = sent; k < sent + r; k++) {
                    sessions.countOut(txLen[k]);
                }
                sent += r;
                continue;
            }
            int e = r < 0 ? Syscalls.errno(errno) : Errno.EAGAIN;
            if (e == Errno.EINTR) {
                continue;
            }
            if (e == Errno.EAGAIN || e == Errno.ENOBUFS) {
                stats.droppedCongested.add(n - sent); // send buffer full: drop the rest
                break;
            }
            stats.droppedCongested.increment(); // this one was refused (e.g. a firewall): skip it
            logError("sendmmsg", e);
            sent++;
        }
        sessions.publishCounts();
    }

    // ---------------------------------------------------------------- helpers

    /** The client address in receive slot {@code a} (once per new session; per datagram for IPv6 clients). */
    private InetSocketAddress client(long a) {
        return Syscalls.readSockaddr(rxAddrs, a);
    }

    private static Errno.ErrnoException failure(String call, int errno) {
        return new Errno.ErrnoException(call + "(..) failed: " + Syscalls.strerror(errno), errno);
    }

    private void logError(String call, int e) {
        long held = errorWarn.admit();
        if (held >= 0) {
            log.warn("udp listener {} failed vip={} errno={} suppressed_since_last={}", call, sessions.vip.name(),
                    Errno.name(e), held);
        }
    }

    /** Closes the listening socket and frees the native memory. Runs on the loop; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        pending.clear();
        if (registration != null) {
            registration.cancel();
        }
        closeQuietly(socket);
        arena.close();
    }

    private static void closeQuietly(FileDescriptor fd) {
        try {
            fd.close();
        } catch (IOException ignored) {
            // the descriptor is gone either way
        }
    }

    @Override
    public String toString() {
        return "epoll-sockets[fd=" + fd + (closed ? " closed" : "") + "]";
    }

    /**
     * A session's upstream socket: a bare connected descriptor registered with the loop's epoll,
     * level-triggered for input. Also where this side keeps what it needs per session: the
     * client's {@code sockaddr} as received (copied into each reply's {@code msghdr}) and the
     * session's datagrams of the current receive batch (a chain of slot indices).
     */
    final class Upstream extends FileDescriptor implements DatagramSockets.Upstream, EpollIoHandle {
        final Session session;
        private IoRegistration registration;
        boolean closed;
        long replyAddress0;
        long replyAddress1;
        long replyAddress2;
        long replyAddress3;
        int replyAddressLen;
        int pendHead = -1;
        int pendTail;
        int pendCount;

        private Upstream(int fd, Session session) {
            super(fd);
            this.session = session;
        }

        /** Keeps the client's sockaddr ({@code len} bytes at {@code offset} of {@code addrs}) for replies. */
        void replyTo(MemorySegment addrs, long offset, int len) {
            replyAddress0 = addrs.get(JAVA_LONG, offset);
            replyAddress1 = addrs.get(JAVA_LONG, offset + 8);
            replyAddress2 = addrs.get(JAVA_LONG, offset + 16);
            replyAddress3 = addrs.get(JAVA_LONG, offset + 24);
            replyAddressLen = len;
        }

        @Override
        public FileDescriptor fd() {
            return this;
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            if (!closed) {
                readReplies(this);
            }
        }

        @Override
        public InetSocketAddress localAddress() {
            if (closed || EpollSockets.this.closed) {
                return null;
            }
            sockaddrLen.set(JAVA_INT, 0, Syscalls.SOCKADDR_SLOT);
            if (Syscalls.getsockname(errno, intValue(), sockaddr.address(), sockaddrLen.address()) < 0) {
                return null;
            }
            return Syscalls.readSockaddr(sockaddr);
        }

        /**
         * Closes the descriptor, then cancels the registration: the kernel drops a closed socket
         * from epoll by itself, and Netty skips its {@code epoll_ctl(DEL)} for a descriptor that is
         * no longer open (one system call fewer per session; nothing runs in between that could
         * reuse the descriptor number).
         */
        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            try {
                super.close();
            } catch (IOException ignored) {
                // the descriptor is gone either way
            }
            if (registration != null) {
                registration.cancel();
            }
        }

        @Override
        public String toString() {
            return "epoll-upstream[fd=" + intValue() + (closed ? " closed" : "") + "]";
        }
    }
}
