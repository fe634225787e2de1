package io.tandem.core.udp;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
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
import io.netty.util.concurrent.Future;
import io.tandem.core.sys.Syscalls;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listening UDP socket on epoll without a Netty channel: the socket is registered directly
 * with its event loop's epoll ({@link EpollIoHandle}) and all datagrams move through native
 * memory owned by this object, with batched system calls in both directions and no Java object
 * per datagram:
 *
 * <ul>
 *   <li><b>client → backend</b>: one {@code recvmmsg} reads up to {@code batch} datagrams into
 *       fixed slots; each is matched to its session by the client's {@code sockaddr} (IPv4: one
 *       {@code long} key, see {@link SessionTable}); the datagrams of one session in that batch
 *       leave with one {@code sendmmsg} on the session's connected upstream socket, straight
 *       from the receive slots (no copy).</li>
 *   <li><b>backend → client</b>: when a session's upstream socket is readable, one
 *       {@code recvmmsg} reads everything queued on it (up to {@link #REPLY_BURST}) directly into
 *       the next free slots of the reply batch, each addressed to the session's client; once per
 *       event-loop iteration one {@code sendmmsg} on the listening socket sends the batch (the same
 *       flush point as the channel path).</li>
 * </ul>
 *
 * <p>Semantics are those of the channel path ({@link ListenerHandler}): same sessions, same
 * per-session connected upstream sockets ({@link RawUpstream}) and ICMP port-unreachable
 * re-pin, same limits and counters; a datagram that fills its slot (maxDatagramSize + 1 bytes)
 * was truncated and is dropped. Unlike a plain {@code recv}, {@code recvmmsg} tells an empty
 * datagram from "nothing to read", so zero-length replies are relayed too.
 *
 * <p>Confined to its event loop.
 */
final class RawListener implements EpollIoHandle {
    private static final Logger log = LoggerFactory.getLogger(RawListener.class);
    /** recvmmsg calls per readiness event before yielding to the loop's other sockets. */
    private static final int MAX_READS_PER_EVENT = 4;
    /** Replies read from one upstream socket per readiness event. */
    static final int REPLY_BURST = 8;
    private static final int MAX_REPLY_SLOTS = 64;
    private static final long REPLY_MEMORY = 2L << 20;
    private static final int IPPROTO_IP = 0;
    private static final int IP_FREEBIND = 15;

    private final ListenerHandler handler;
    private final Socket socket;
    private final int fd;
    private final int family;
    private final int batch;
    private final int slot;
    private final int maxDatagram;
    private final Arena arena;
    private final MemorySegment errno;

    // client -> backend: recvmmsg slots, then per-session sendmmsg from the same data
    private final MemorySegment rxMsgs;
    private final MemorySegment rxAddrs;
    private final MemorySegment rxData;
    private final MemorySegment fwdMsgs;
    private final MemorySegment fwdIov;
    private final int[] rxLen;
    private final int[] nextPending;
    private final int[] fwdLen;
    private final ArrayList<Session> pending = new ArrayList<>();

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
    private long lastErrorLog;

    private RawListener(ListenerHandler handler, Socket socket, int family) {
        this.handler = handler;
        this.socket = socket;
        this.fd = socket.intValue();
        this.family = family;
        this.batch = handler.settings.batch();
        this.maxDatagram = handler.settings.maxDatagramSize();
        // One byte more than allowed: a datagram that fills its slot was truncated by the kernel.
        this.slot = maxDatagram + 1;
        this.replySlots = (int) Math.clamp(REPLY_MEMORY / slot, REPLY_BURST, MAX_REPLY_SLOTS);
        this.arena = Arena.ofShared();
        this.errno = Syscalls.newErrnoBuffer(arena);

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

    /** True when raw listeners can run on {@code loop} (epoll loop, FFM system calls available). */
    static boolean supported(Object loop) {
        return Syscalls.AVAILABLE && RawUpstream.supported(loop);
    }

    /**
     * Opens a socket bound to {@code address} (SO_REUSEPORT, IP_FREEBIND, 1 MiB buffers) and
     * registers it for reading on the handler's loop. Must run on that loop.
     */
    static RawListener open(ListenerHandler handler, InetSocketAddress address, int socketBuffer) throws IOException {
        IoEventLoop loop = (IoEventLoop) handler.loop;
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("not on the listener's event loop");
        }
        int family = address.getAddress() instanceof Inet6Address ? Syscalls.AF_INET6 : Syscalls.AF_INET;
        int fd;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newErrnoBuffer(a);
            fd = Syscalls.socketDgram(state, family);
            if (fd < 0) {
                throw new IOException("socket() failed errno=" + Syscalls.errno(state));
            }
        }
        Socket socket = new Socket(fd);
        RawListener listener = null;
        try {
            socket.setReusePort(true);
            socket.setIntOpt(IPPROTO_IP, IP_FREEBIND, 1);
            socket.setReceiveBufferSize(socketBuffer);
            socket.setSendBufferSize(socketBuffer);
            socket.bind(address);
            listener = new RawListener(handler, socket, family);
            Future<IoRegistration> reg = loop.register(listener);
            if (!reg.isSuccess()) {
                Throwable cause = reg.cause();
                throw new IOException("epoll registration " + (cause == null ? "did not complete inline" : "failed"),
                        cause);
            }
            listener.registration = reg.getNow();
            listener.registration.submit(EpollIoOps.EPOLLIN);
        } catch (IOException | RuntimeException e) {
            if (listener != null) {
                listener.close();
            } else {
                closeQuietly(socket);
            }
            throw e;
        }
        return listener;
    }

    InetSocketAddress localAddress() {
        return socket.localAddress();
    }

    @Override
    public FileDescriptor fd() {
        return socket;
    }

    // ---------------------------------------------------------------- client -> backend

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
                    if (e != Syscalls.EAGAIN && e != Syscalls.EINTR) {
                        logError("recvmmsg", e);
                    }
                }
                break;
            }
            handler.countReceiveCall();
            long now = System.nanoTime();
            for (int i = 0; i < n; i++) {
                onDatagram(i, now);
            }
            for (int i = 0, m = pending.size(); i < m; i++) {
                forwardPending(pending.get(i));
            }
            pending.clear();
            if (n < batch || closed) {
                break; // the socket is empty (level-triggered: anything later wakes us again)
            }
        }
        handler.publishCounts();
    }

    private void onDatagram(int i, long now) {
        long m = (long) i * Syscalls.MMSGHDR_SIZE;
        int len = rxMsgs.get(JAVA_INT, m + Syscalls.MMSG_LEN);
        int nameLen = rxMsgs.get(JAVA_INT, m + Syscalls.MSG_NAMELEN);
        rxMsgs.set(JAVA_INT, m + Syscalls.MSG_NAMELEN, Syscalls.SOCKADDR_IN6_SIZE);
        handler.countIn(len);
        if (len > maxDatagram) {
            handler.stats.droppedTooBig.increment();
            return;
        }
        long a = (long) i * Syscalls.SOCKADDR_SLOT;
        int fam = rxAddrs.get(JAVA_SHORT, a) & 0xffff;
        Session s;
        if (fam == Syscalls.AF_INET) {
            long key = rxAddrs.get(JAVA_LONG, a); // family, port, address: unique per client
            s = handler.table.get4(key);
            if (s == null) {
                s = handler.open(decode(a, fam), now, key, true);
                if (s == null) {
                    return;
                }
                s.setSockaddr(rxAddrs, a, nameLen);
            } else {
                handler.table.touch(s, now);
            }
        } else if (fam == Syscalls.AF_INET6) {
            InetSocketAddress client = decode(a, fam);
            s = handler.table.get(client);
            if (s == null) {
                s = handler.open(client, now, 0, false);
                if (s == null) {
                    return;
                }
                s.setSockaddr(rxAddrs, a, nameLen);
            } else {
                handler.table.touch(s, now);
            }
        } else {
            return; // not an IP datagram (cannot happen on an AF_INET/AF_INET6 socket)
        }
        if (!s.ensureUpstream(now)) {
            handler.closeSession(s, ListenerHandler.Reason.NO_BACKEND);
            return;
        }
        rxLen[i] = len;
        nextPending[i] = -1;
        if (s.pendCount == 0) {
            s.pendHead = i;
            pending.add(s);
        } else {
            nextPending[s.pendTail] = i;
        }
        s.pendTail = i;
        s.pendCount++;
    }

    /** Sends a session's datagrams of this batch with one sendmmsg on its upstream socket. */
    private void forwardPending(Session s) {
        int k = s.pendCount;
        int slotIndex = s.pendHead;
        s.pendCount = 0;
        s.pendHead = -1;
        RawUpstream up = s.rawUpstream();
        if (up == null) {
            // closed or evicted later in the same batch
            handler.stats.droppedNoBackend.add(k);
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
            int r = Syscalls.sendmmsg(errno, up.fdInt(), fwdMsgs.address() + (long) sent * Syscalls.MMSGHDR_SIZE,
                    k - sent, Syscalls.MSG_DONTWAIT);
            if (r > 0) {
                sent += r;
                continue;
            }
            int e = r < 0 ? Syscalls.errno(errno) : Syscalls.EAGAIN;
            if (e == Syscalls.EINTR) {
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
            s.forwarded(sent, bytes);
        }
        if (failure != 0) {
            int lost = k - sent;
            if (failure == Syscalls.ECONNREFUSED) {
                // ICMP port unreachable: the session re-pins and counts one drop there, the rest here.
                if (lost > 1) {
                    handler.stats.droppedBackendUnreachable.add(lost - 1);
                }
                s.onLinkFailure(up, failure(failure, "sendmmsg"));
            } else {
                // EAGAIN/ENOBUFS: the socket's send queue is full; anything else is logged by the session.
                handler.stats.droppedCongested.add(lost);
                if (failure != Syscalls.EAGAIN && failure != 105 /* ENOBUFS */) {
                    s.onLinkFailure(up, failure(failure, "sendmmsg"));
                }
            }
        }
    }

    // ---------------------------------------------------------------- backend -> client

    /** A session's upstream socket is readable: read its replies straight into the reply batch. */
    void readReplies(Session s, RawUpstream up) {
        if (closed) {
            return;
        }
        if (txCount == replySlots) {
            flushReplies();
        }
        int first = txCount;
        int room = Math.min(replySlots - first, REPLY_BURST);
        int n = Syscalls.recvmmsg(errno, up.fdInt(), upMsgs.address() + (long) first * Syscalls.MMSGHDR_SIZE, room,
                Syscalls.MSG_DONTWAIT);
        if (n <= 0) {
            if (n < 0) {
                int e = Syscalls.errno(errno);
                if (e != Syscalls.EAGAIN && e != Syscalls.EINTR) {
                    s.onLinkFailure(up, failure(e, "recvmmsg"));
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
                handler.stats.droppedTooBig.increment();
                continue;
            }
            if (w != k) {
                MemorySegment.copy(txData, (long) k * slot, txData, (long) w * slot, len);
            }
            txLen[w] = len;
            txIov.set(JAVA_LONG, (long) w * Syscalls.IOVEC_SIZE + Syscalls.IOV_LEN, len);
            long a = (long) w * Syscalls.SOCKADDR_SLOT;
            txAddrs.set(JAVA_LONG, a, s.sa0);
            txAddrs.set(JAVA_LONG, a + 8, s.sa1);
            txAddrs.set(JAVA_LONG, a + 16, s.sa2);
            txAddrs.set(JAVA_LONG, a + 24, s.sa3);
            txMsgs.set(JAVA_INT, (long) w * Syscalls.MMSGHDR_SIZE + Syscalls.MSG_NAMELEN, s.saLen);
            w++;
            if (s.onRawReply(len, now)) {
                // That reply completed the session (responses per request): the rest are not relayed.
                break;
            }
        }
        txCount = w;
        if (w > first && !flushScheduled) {
            flushScheduled = true;
            handler.loop.execute(flushReplies); // after this loop iteration's I/O: one sendmmsg for all replies
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
                    handler.countOut(txLen[k]);
                }
                sent += r;
                continue;
            }
            int e = r < 0 ? Syscalls.errno(errno) : Syscalls.EAGAIN;
            if (e == Syscalls.EINTR) {
                continue;
            }
            if (e == Syscalls.EAGAIN || e == 105 /* ENOBUFS */) {
                handler.stats.droppedCongested.add(n - sent); // send buffer full: drop the rest
                break;
            }
            handler.stats.droppedCongested.increment(); // this one was refused (e.g. a firewall): skip it
            logError("sendmmsg", e);
            sent++;
        }
        handler.publishCounts();
    }

    // ---------------------------------------------------------------- helpers

    private InetSocketAddress decode(long a, int fam) {
        int port = ((rxAddrs.get(JAVA_BYTE, a + 2) & 0xff) << 8) | (rxAddrs.get(JAVA_BYTE, a + 3) & 0xff);
        byte[] ip;
        if (fam == Syscalls.AF_INET) {
            ip = new byte[4];
            MemorySegment.copy(rxAddrs, JAVA_BYTE, a + 4, ip, 0, 4);
        } else {
            ip = new byte[16];
            MemorySegment.copy(rxAddrs, JAVA_BYTE, a + 8, ip, 0, 16);
        }
        try {
            InetAddress addr = InetAddress.getByAddress(ip);
            if (addr instanceof Inet6Address && addr.isLinkLocalAddress()) {
                int scope = rxAddrs.get(JAVA_INT, a + 24);
                addr = Inet6Address.getByAddress(null, ip, scope);
            }
            return new InetSocketAddress(addr, port);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // only for a wrong length
        }
    }

    private static IOException failure(int errno, String call) {
        if (errno == Syscalls.ECONNREFUSED) {
            return new PortUnreachableException(call + "(..) failed: Connection refused");
        }
        return new IOException(call + "(..) failed errno=" + errno);
    }

    private void logError(String call, int e) {
        long now = System.nanoTime();
        if (now - lastErrorLog > 10_000_000_000L) {
            lastErrorLog = now;
            log.warn("udp listener {} failed vip={} errno={}", call, handler.vip.name(), e);
        }
    }

    /** Closes the socket and frees the native memory. Runs on the loop; idempotent. */
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

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // the descriptor is gone either way
        }
    }

    @Override
    public String toString() {
        return "raw-listener[fd=" + fd + " family=" + family + (closed ? " closed" : "") + "]";
    }
}
