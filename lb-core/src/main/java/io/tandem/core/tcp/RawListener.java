package io.tandem.core.tcp;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.epoll.Native;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.NativeInetAddress;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.sys.Errno;
import io.tandem.core.vip.LocalErrors;
import io.tandem.core.vip.SelfLoops;
import io.tandem.core.vip.Vip;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP VIP's listening socket on one event loop, for the raw epoll engine. By default
 * ({@link AcceptQueue#SHARED}) every loop listens on the same socket (a {@code dup} of it each,
 * added with EPOLLEXCLUSIVE) and an {@link AcceptGroup} keeps the loops' connection counts
 * close; with {@link AcceptQueue#PER_LOOP} each loop has its own {@code SO_REUSEPORT} socket and
 * the kernel hashes connections over them. Either way {@code IP_FREEBIND} (a standby can bind a
 * VIP it does not own yet and accept the moment the address is added), and the options
 * accepted sockets inherit on Linux ({@code SO_KEEPALIVE}, {@code TCP_NODELAY}: no setsockopt
 * per accept). Each accepted socket becomes a {@link RawConnection} on this loop or, handed
 * off, on a less loaded one.
 *
 * <p>Confined to its event loop, except {@link #live()}.
 */
final class RawListener {
    private static final Logger log = LoggerFactory.getLogger(RawListener.class);
    private static final int ACCEPTS_PER_EVENT = 64;
    private static final int IN_EXCLUSIVE = EpollIoOps.EPOLLIN.value() | 1 << 28; // EPOLLEXCLUSIVE
    /** Read size of the copy relay: one scratch buffer per event-loop thread, shared by every connection on it. */
    static final int SCRATCH_BYTES = 64 * 1024;
    private static final FastThreadLocal<ByteBuffer> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected ByteBuffer initialValue() {
            return ByteBuffer.allocateDirect(SCRATCH_BYTES);
        }
    };
    private static final int SOL_IP = 0;
    private static final int IP_FREEBIND = 15;
    private static final int ECONNABORTED = 103;
    private static final int EPERM = 1;
    private static final int EPROTO = 71;

    final Vip vip;
    final IoEventLoop loop;
    final ConnectionEvents events;
    final WarnLimiter warn;
    final ByteBuffer scratch;
    /** The scratch buffer's native address, for the FFM recv/send of the copy relay. */
    final long scratchAddress;
    final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    /** The loop's epoll descriptor for one-call adds, or -1 ({@link EpollDescriptor}). */
    final int epollFd;
    /** This loop's socket calls. */
    final TcpCalls calls;
    /** The bound address, when it is a specific one: then it is every accepted socket's local address. */
    final InetSocketAddress boundAddress;
    private final Listening socket;
    /** The loops sharing this listener's socket ({@link AcceptQueue#SHARED}), or null: one socket per loop. */
    private final AcceptGroup group;
    /**
     * Live connections of this VIP on this loop, counted from the moment one is accepted for this
     * loop (also by another loop handing it over), so a burst of accepts sees its own hand-offs.
     */
    private final AtomicInteger live = new AtomicInteger();
    /** Netty's accept address: length byte, address, [scope id], port. */
    private final byte[] accepted = new byte[26];
    private boolean paused;

    private RawListener(Vip vip, IoEventLoop loop, ConnectionEvents events, WarnLimiter warn, Listening socket,
                        AcceptGroup group) {
        this.vip = vip;
        this.group = group;
        this.loop = loop;
        this.events = events;
        this.warn = warn;
        this.socket = socket;
        this.scratch = SCRATCH.get();
        this.scratchAddress = java.lang.foreign.MemorySegment.ofBuffer(scratch).address();
        this.epollFd = EpollDescriptor.of(loop);
        this.calls = TcpCalls.current();
        InetSocketAddress bound = socket.localAddress();
        this.boundAddress = bound != null && !bound.getAddress().isAnyLocalAddress() ? bound : null;
    }

    /**
     * Binds a listening socket on {@code loop}. Call on {@code loop}.
     *
     * @param group the group the other loops will join through {@link #share}, or null when
     *              every loop binds its own {@code SO_REUSEPORT} socket
     */
    static RawListener bind(Vip vip, IoEventLoop loop, InetSocketAddress address, ConnectionEvents events,
                            WarnLimiter warn, AcceptGroup group) throws IOException {
        Listening s = new Listening(address);
        try {
            s.setReuseAddress(true);
            // Also with a shared socket: a restarted node can bind while the old one drains.
            s.setReusePort(true);
            s.setIntOpt(SOL_IP, IP_FREEBIND, 1);
            // Accepted sockets inherit both from the listener on Linux (the kernel clones its flags).
            s.setKeepAlive(true);
            s.setTcpNoDelay(true);
            s.bind(address);
            s.listen(NetUtil.SOMAXCONN);
            return register(vip, loop, events, warn, s, group);
        } catch (IOException | RuntimeException e) {
            s.closeNow();
            throw e;
        }
    }

    /**
     * Listens on {@code loop} with a second descriptor for {@code first}'s socket: one accept queue
     * for every loop of the group. Call on {@code loop}.
     */
    static RawListener share(RawListener first, IoEventLoop loop) throws IOException {
        if (first.group == null || !canShare(loop)) {
            throw new IllegalStateException("a shared listening socket needs a group and the loop's epoll descriptor");
        }
        Listening s = new Listening(TcpCalls.current().dup(first.socket.intValue()));
        try {
            return register(first.vip, loop, first.events, first.warn, s, first.group);
        } catch (IOException | RuntimeException e) {
            s.closeNow();
            throw e;
        }
    }

    /**
     * Whether {@code loop}'s listeners can share one socket: the shared socket is added to epoll
     * with EPOLLEXCLUSIVE, which needs the direct {@code epoll_ctl} of {@link EpollDescriptor}
     * (Netty's registration has no such flag).
     */
    static boolean canShare(IoEventLoop loop) {
        return EpollDescriptor.of(loop) >= 0;
    }

    private static RawListener register(Vip vip, IoEventLoop loop, ConnectionEvents events, WarnLimiter warn,
                                        Listening s, AcceptGroup group) throws IOException {
        RawListener listener = new RawListener(vip, loop, events, warn, s, group);
        s.listener = listener;
        IoRegistration reg = loop.register(s).getNow();
        if (reg == null) {
            throw new IOException("epoll registration did not complete inline");
        }
        s.registration = reg;
        listener.interest(true);
        if (group != null) {
            group.add(listener);
        }
        return listener;
    }

    /**
     * Level-triggered input interest: accept until EAGAIN or the per-event budget, the rest on
     * the next wait. A shared socket is added with EPOLLEXCLUSIVE, so a new connection wakes one
     * waiting loop, not every loop (a loop that is busy finds it on its next wait and may race for
     * it: the loser's accept gets EAGAIN).
     */
    private void interest(boolean on) throws IOException {
        if (group != null) {
            if (on) {
                Native.epollCtlAdd(epollFd, socket.intValue(), IN_EXCLUSIVE);
            } else {
                Native.epollCtlDel(epollFd, socket.intValue());
            }
        } else {
            socket.registration.submit(on ? EpollIoOps.EPOLLIN : EpollIoOps.valueOf(0));
        }
    }

    /** Live connections of this VIP on this loop (any thread). */
    int live() {
        return live.get();
    }

    /** A connection of this loop ended or was not admitted (on the loop). */
    void ended() {
        live.decrementAndGet();
    }

    InetSocketAddress localAddress() {
        return socket.localAddress();
    }

    /** Stops accepting (on the loop). Established connections are not touched. */
    void close() {
        if (group != null && !socket.closed && !paused) {
            // A dup shares its open file with the other loops' descriptors, and the kernel drops
            // an epoll entry only when the file's last descriptor closes: closing ours alone would
            // leave this loop woken (level-triggered, so on every wait) for connections queued on
            // the socket until the last loop closes, and a reused descriptor number would receive
            // this socket's events. Take it out of our epoll first (AcceptQueueIT).
            try {
                interest(false);
            } catch (IOException e) {
                log.warn("listener remove from epoll failed vip={} cause=\"{}\"", vip.name(), e.toString());
            }
        }
        socket.closeNow();
    }

    /** The listening socket is readable: accept what is queued, up to the per-event budget. */
    private void acceptReady() {
        for (int i = 0; i < ACCEPTS_PER_EVENT && !socket.closed; i++) {
            int fd;
            try {
                fd = socket.accept(accepted);
            } catch (IOException e) {
                acceptFailed(e);
                return;
            }
            if (fd < 0) {
                return; // nothing more to accept
            }
            accept(fd);
        }
    }

    private void accept(int fd) {
        BackendPool pool = vip.pool(); // read once: the connection keeps this snapshot
        InetSocketAddress remote = null;
        if (pool.policy().usesClientAddress() || pool.config().proxyProtocol() != ProxyProtocolVersion.NONE
                || SelfLoops.watching(SelfLoops.Proto.TCP)) {
            remote = NativeInetAddress.address(accepted, 1, accepted[0]);
        }
        RawListener to = group == null ? this : group.target(this);
        to.live.incrementAndGet();
        if (to == this) {
            adopt(fd, pool, remote);
            return;
        }
        vip.stats().acceptHandOffs.increment();
        InetSocketAddress r = remote;
        try {
            to.loop.execute(() -> to.adopt(fd, pool, r));
        } catch (RejectedExecutionException e) { // that loop is shutting down: serve it here
            to.live.decrementAndGet();
            live.incrementAndGet();
            adopt(fd, pool, remote);
        }
    }

    /** Serves an accepted connection on this loop (on the loop). */
    private void adopt(int fd, BackendPool pool, InetSocketAddress remote) {
        new RawConnection(this, pool, RawSocket.of(fd, calls), remote).open();
    }

    private void acceptFailed(IOException e) {
        int errno = Errno.of(e);
        if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM) {
            return; // that one connection is gone; the next readiness event continues
        }
        // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the listener stays
        // readable, so pause accepting for a second rather than spin, as Netty's ServerBootstrap does.
        int local = Errno.local(e);
        if (local != 0) {
            vip.localErrors().record(LocalErrors.Op.ACCEPT, local, e, "accepting paused 1 s");
        } else if (warn.tryAcquire()) {
            log.warn("accept error vip={} pausing_ms=1000 cause=\"{}\"", vip.name(), e.toString());
        }
        if (!paused && !socket.closed) {
            paused = true;
            try {
                interest(false);
            } catch (IOException ex) {
                log.warn("accept pause failed vip={} cause=\"{}\"", vip.name(), ex.toString());
            }
            loop.schedule(() -> {
                paused = false;
                if (!socket.closed) {
                    try {
                        interest(true);
                    } catch (IOException ex) {
                        log.warn("accept resume failed vip={} cause=\"{}\"", vip.name(), ex.toString());
                    }
                }
            }, 1, TimeUnit.SECONDS);
        }
    }

    /** The listening socket: Netty's Socket (bind, listen, accept), registered level-triggered. */
    private static final class Listening extends Socket implements EpollIoHandle {
        private RawListener listener;
        private IoRegistration registration;
        private boolean closed;

        Listening(InetSocketAddress address) {
            super(newSocketStream0(address.getAddress() instanceof Inet4Address ? SocketProtocolFamily.INET
                    : SocketProtocolFamily.INET6));
        }

        Listening(int fd) {
            super(fd);
        }

        @Override
        public FileDescriptor fd() {
            return this;
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            if (!closed) {
                listener.acceptReady();
            }
        }

        /** Closes the descriptor (the kernel drops it from epoll), then the registration. Idempotent. */
        void closeNow() {
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

        /** Netty closes registered handles when the loop shuts down. */
        @Override
        public void close() {
            closeNow();
        }
    }
}
