package io.tandem.core.tcp;

import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoEvent;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.epoll.Native;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.Future;
import io.tandem.core.sys.Syscalls;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * A TCP socket of a raw-engine connection: a non-blocking socket registered directly with its
 * event loop's epoll through Netty 4.2's I/O handle API, with no channel, pipeline, config or
 * promise around it. Readiness events go to {@link Listener#ready}.
 *
 * <p>The sockets are <b>edge-triggered</b>: added to epoll once, for input, output and the peer's
 * FIN, and never modified. The kernel reports each change once; this class keeps what it
 * reported ({@link #readable}, {@link #writable}, {@link #peerShut}) until the owner has used it
 * up (a read that found nothing, a write that did not fit). One {@code epoll_ctl} per socket for
 * its whole life, where interest changes cost one each (level-triggered, as Netty's channels
 * are), and a socket that stays shut both ways while its bytes wait cannot make the loop spin on
 * EPOLLHUP.
 *
 * <p>A bare {@link FileDescriptor}: reads and writes are Netty's JNI calls, the socket calls go
 * through {@link TcpCalls} (FFM). Netty's {@code Socket} wrapper would cost a
 * {@code getsockname} per socket just to learn the family we chose ourselves.
 *
 * <p>Why not a Netty channel: per proxied connection, two channels cost about as much CPU in
 * user space (pipelines, configs, promises, attribute maps) and in extra syscalls (getsockname,
 * getsockopt SO_SNDBUF/SO_LINGER, epoll_ctl per interest change) as the kernel's own work for
 * the connection (perf/PROFILE.md).
 *
 * <p>Confined to its event loop.
 */
final class RawSocket extends FileDescriptor implements EpollIoHandle {
    static final int IN = EpollIoOps.EPOLLIN.value();
    static final int OUT = EpollIoOps.EPOLLOUT.value();
    static final int ERR = EpollIoOps.EPOLLERR.value();
    static final int RDHUP = EpollIoOps.EPOLLRDHUP.value();
    static final int ET = EpollIoOps.EPOLLET.value();
    /** EPOLLHUP: not in EpollIoOps' constants; always reported by the kernel. */
    static final int HUP = 0x010;

    /** Who handles this socket's readiness events (a connection or a listener). */
    interface Listener {
        void ready(RawSocket socket, int ops);

        /** The event loop is shutting down and closed this socket: release what is held for it. */
        void loopClosed(RawSocket socket);
    }

    /** Input (or the peer's FIN, or an error) was reported and not used up yet. */
    boolean readable;
    /** Output space (or an error) was reported and not used up yet. */
    boolean writable;
    /** The peer's FIN was reported: everything it sent is in the receive queue. Sticky. */
    boolean peerShut;
    private final TcpCalls calls;
    private Listener listener;
    private IoRegistration registration;
    /** The loop's epoll descriptor when known ({@link EpollDescriptor}); -1: add through Netty's registration. */
    private int epollFd = -1;
    private boolean closed;

    private RawSocket(int fd, TcpCalls calls) {
        super(fd);
        this.calls = calls;
    }

    /** Wraps an accepted descriptor. */
    static RawSocket of(int fd, TcpCalls calls) {
        return new RawSocket(fd, calls);
    }

    /** A new non-blocking TCP socket of {@code address}'s family (IPv4 gets AF_INET: no mapped addresses). */
    static RawSocket stream(InetAddress address, TcpCalls calls) throws IOException {
        return new RawSocket(calls.socket(address), calls);
    }

    void setTcpNoDelay() throws IOException {
        calls.setInt(intValue(), Syscalls.IPPROTO_TCP, Syscalls.TCP_NODELAY, 1);
    }

    void setKeepAlive() throws IOException {
        calls.setInt(intValue(), Syscalls.SOL_SOCKET, Syscalls.SO_KEEPALIVE, 1);
    }

    /** TCP_USER_TIMEOUT in milliseconds. */
    void setUserTimeout(int millis) throws IOException {
        calls.setInt(intValue(), Syscalls.IPPROTO_TCP, Syscalls.TCP_USER_TIMEOUT, millis);
    }

    /** SO_LINGER 0: the next close sends a reset. */
    void setLingerZero() throws IOException {
        calls.lingerZero(intValue());
    }

    boolean isKeepAlive() throws IOException {
        return calls.getInt(intValue(), Syscalls.SOL_SOCKET, Syscalls.SO_KEEPALIVE) != 0;
    }

    boolean isTcpNoDelay() throws IOException {
        return calls.getInt(intValue(), Syscalls.IPPROTO_TCP, Syscalls.TCP_NODELAY) != 0;
    }

    /** Starts a non-blocking connect: true when already connected, false when in progress. */
    boolean connect(InetSocketAddress to) throws IOException {
        return calls.connect(intValue(), to);
    }

    /** Why the connect to {@code to} failed (SO_ERROR), or null when it did not. */
    IOException connectFailure(InetSocketAddress to) throws IOException {
        return calls.connectFailure(intValue(), to);
    }

    /** The socket's pending error (SO_ERROR) as an exception ("socket error: Connection reset by peer"). */
    IOException pendingError() {
        try {
            int e = calls.getInt(intValue(), Syscalls.SOL_SOCKET, Syscalls.SO_ERROR);
            return new IOException("socket error: " + (e == 0 ? "none pending" : Syscalls.strerror(e)));
        } catch (IOException e) {
            return e;
        }
    }

    /** shutdown(SHUT_WR). */
    void shutdownOutput() throws IOException {
        calls.shutdownOutput(intValue());
    }

    /** Bytes read into native memory at {@code address}: > 0, -1 at EOF, 0 when none is queued. */
    int recv(long address, int len) throws IOException {
        return calls.recv(intValue(), address, len);
    }

    /** Bytes written from native memory at {@code address}: 0 when the send buffer is full. */
    int send(long address, int len) throws IOException {
        return calls.send(intValue(), address, len);
    }

    /** The peer's address (getpeername), for logs; null once closed or unknown. */
    InetSocketAddress remoteAddress() {
        return closed ? null : new Socket(intValue()).remoteAddress(); // a view, not closed with it
    }

    /** This end's address (getsockname); null once closed or unknown. */
    InetSocketAddress localAddress() {
        return closed ? null : new Socket(intValue()).localAddress();
    }

    /**
     * Registers with {@code loop} (must be called on it: the registration then completes inline).
     * No epoll interest yet: that comes with {@link #arm}.
     *
     * @param epollFd the loop's epoll descriptor, or -1 to add through Netty's registration
     */
    void register(IoEventLoop loop, int epollFd, Listener listener) throws IOException {
        this.listener = listener;
        this.epollFd = epollFd;
        Future<IoRegistration> f = loop.register(this);
        if (!f.isSuccess()) {
            Throwable cause = f.cause();
            throw new IOException("epoll registration " + (cause == null ? "did not complete inline" : "failed"),
                    cause);
        }
        registration = f.getNow();
    }

    /**
     * Adds the socket to epoll, edge-triggered, for input, output and the peer's FIN: the only
     * {@code epoll_ctl} of its life. With the loop's epoll descriptor at hand it is one
     * {@code EPOLL_CTL_ADD}; Netty's registration would add and then modify (two calls).
     */
    void arm() throws IOException {
        int events = IN | OUT | RDHUP | ET;
        if (epollFd >= 0) {
            Native.epollCtlAdd(epollFd, intValue(), events);
        } else {
            registration.submit(EpollIoOps.valueOf(events));
        }
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
        if (closed) {
            return;
        }
        int ready = ((EpollIoEvent) event).ops().value();
        if ((ready & (IN | RDHUP | HUP | ERR)) != 0) {
            readable = true; // an error or a FIN is read too: the read reports it
        }
        if ((ready & (RDHUP | HUP)) != 0) {
            peerShut = true;
        }
        if ((ready & (OUT | HUP | ERR)) != 0) {
            writable = true; // an error is written too: the write reports it
        }
        listener.ready(this, ready);
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

    @Override
    public String toString() {
        return "raw[fd=" + intValue() + (closed ? " closed" : "") + "]";
    }
}
