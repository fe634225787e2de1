package io.tandem.core.proxy;

import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoEvent;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * A TCP socket of the raw epoll engine: a non-blocking socket registered directly with its event
 * loop's epoll through Netty 4.2's I/O handle API, with no channel, pipeline, config or promise
 * around it. Readiness events go to {@link Listener#ready}; interest changes are made with
 * {@link #interest} and cost an {@code epoll_ctl} only when the interest set really changes.
 *
 * <p>Why not a Netty channel: per proxied connection, two channels cost about as much CPU in
 * user space (pipelines, configs, promises, attribute maps) and in extra syscalls (getsockname,
 * getsockopt SO_SNDBUF/SO_LINGER, redundant epoll_ctl) as the kernel's own work for the
 * connection (perf/PROFILE.md). The socket operations themselves are Netty's JNI ones.
 *
 * <p>Confined to its event loop after {@link #register}.
 */
final class RawSocket extends Socket implements EpollIoHandle {
    static final int IN = EpollIoOps.EPOLLIN.value();
    static final int OUT = EpollIoOps.EPOLLOUT.value();
    static final int ERR = EpollIoOps.EPOLLERR.value();
    static final int RDHUP = EpollIoOps.EPOLLRDHUP.value();
    /** EPOLLHUP: not in EpollIoOps' constants; always reported by the kernel. */
    static final int HUP = 0x010;
    /**
     * EPOLLONESHOT: after one event the descriptor is disabled until the next interest change.
     * Used to park a socket that keeps reporting HUP while nothing can be done with it yet.
     */
    static final int ONESHOT = 1 << 30;

    private static final int SOL_IP = 0;
    private static final int IP_FREEBIND = 15;
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_USER_TIMEOUT = 18;

    /** Who handles this socket's readiness events (a connection or a listener). */
    interface Listener {
        void ready(RawSocket socket, int ops);

        /** The event loop is shutting down and closed this socket: release what is held for it. */
        void loopClosed(RawSocket socket);
    }

    private Listener listener;
    private IoRegistration registration;
    /** The interest set last given to epoll; -1 before the first. */
    private int ops = -1;
    private boolean closed;

    private RawSocket(int fd) {
        super(fd);
    }

    /** Wraps an accepted descriptor. */
    static RawSocket of(int fd) {
        return new RawSocket(fd);
    }

    /** A new non-blocking TCP socket of {@code address}'s family (IPv4 gets AF_INET: no mapped addresses). */
    static RawSocket stream(InetAddress address) {
        return new RawSocket(newSocketStream0(address instanceof Inet4Address ? SocketProtocolFamily.INET
                : SocketProtocolFamily.INET6));
    }

    /** IP_FREEBIND: bind an address this host does not have (yet), for VIP takeover. */
    void setFreeBind() throws IOException {
        setIntOpt(SOL_IP, IP_FREEBIND, 1);
    }

    /** TCP_USER_TIMEOUT in milliseconds. */
    void setUserTimeout(int millis) throws IOException {
        setIntOpt(IPPROTO_TCP, TCP_USER_TIMEOUT, millis);
    }

    /**
     * Registers with {@code loop} (must be called on it: the registration then completes inline).
     * No epoll interest yet: that comes with the first {@link #interest}.
     */
    void register(IoEventLoop loop, Listener listener) throws IOException {
        this.listener = listener;
        Future<IoRegistration> f = loop.register(this);
        if (!f.isSuccess()) {
            Throwable cause = f.cause();
            throw new IOException("epoll registration " + (cause == null ? "did not complete inline" : "failed"),
                    cause);
        }
        registration = f.getNow();
    }

    /**
     * Sets the epoll interest set to {@code newOps} (IN, OUT, RDHUP, ONESHOT bits); no-op when
     * unchanged. A socket parked with {@link #ONESHOT} stays parked until there is real interest:
     * re-arming it with an empty set would only bring the HUP it was parked for back.
     */
    void interest(int newOps) {
        if (newOps == ops || closed || (newOps == 0 && ops == ONESHOT)) {
            return;
        }
        ops = newOps;
        registration.submit(EpollIoOps.valueOf(newOps));
    }

    int interest() {
        return ops;
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Closes the descriptor, then drops the registration. In that order the kernel removes the
     * descriptor from epoll by itself, which saves the {@code EPOLL_CTL_DEL} Netty would issue
     * for a descriptor that is still open. Idempotent.
     */
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

    @Override
    public FileDescriptor fd() {
        return this;
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        if (!closed) {
            listener.ready(this, ((EpollIoEvent) event).ops().value());
        }
    }

    /**
     * Netty calls this when the event loop shuts down with the socket still registered: close it
     * and let the owner release what it holds. Our own closes go through {@link #closeNow}.
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        super.close();
        if (listener != null) {
            listener.loopClosed(this);
        }
    }
}
