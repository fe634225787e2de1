package io.tandem.core.tcp;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.SingleThreadIoEventLoop;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.NetUtil;
import io.tandem.core.transport.InlineRegistration;
import io.tandem.sys.Errno;
import io.tandem.sys.Syscalls;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Field;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Netty epoll event loop as the TCP data path uses it, and the one door to Netty's epoll
 * internals: its epoll descriptor, the copy relay's scratch buffer, and the system calls of
 * {@link RawSocket}s and {@link EpollListener}s (FFM, {@link Syscalls}, with the native scratch
 * they need: errno, a sockaddr, an option value, an epoll event). Sockets and listeners reach the
 * loop only through this class; no other class of the data path touches Netty's epoll internals.
 *
 * <p><b>The epoll descriptor.</b> A socket is added to epoll once for its life, edge-triggered
 * ({@link #SOCKET_EVENTS}). With the loop's descriptor at hand that is one {@code EPOLL_CTL_ADD}
 * of ours; a shared accept queue needs it too ({@code EPOLLEXCLUSIVE} on one listening socket
 * per VIP for all loops, {@link AcceptGroup}). Netty does not expose the descriptor, so it is read
 * once per loop from two private fields ({@code SingleThreadIoEventLoop.ioHandler},
 * {@code EpollIoHandler.epollFd}). Where they are missing (a Netty that renamed them) the loop
 * runs on the <b>fallback</b>: sockets are added through Netty's own {@link IoRegistration#submit}
 * (one {@code EPOLL_CTL_ADD} from Netty 4.2.13 on; 4.2.12 adds and then modifies), and each loop
 * gets its own {@code SO_REUSEPORT} listening socket. {@link #withoutDescriptor} forces the
 * fallback for a test's event-loop group, so both paths run the integrity suite.
 *
 * <p>Either way the sockets are registered with Netty ({@code IoEventLoop.register}), which is how
 * the loop's readiness events reach them, and how the loop closes them when it shuts down.
 *
 * <p>Netty internals used here, and nowhere else in the data path: the two private fields above
 * (by reflection). {@link FileDescriptor} (what an {@link EpollIoHandle} is made of: {@link Handle})
 * is used only here too; {@link EpollIoOps}, {@code EpollIoHandle}, {@code IoRegistration} are
 * Netty 4.2's public I/O API.
 *
 * <p>One instance per event loop ({@link TcpLoop#of}), used only on that loop.
 */
final class EpollLoop extends TcpLoop {
    private static final Logger log = LoggerFactory.getLogger(EpollLoop.class);
    static final int IN = EpollIoOps.EPOLLIN.value();
    static final int OUT = EpollIoOps.EPOLLOUT.value();
    static final int ERR = EpollIoOps.EPOLLERR.value();
    static final int RDHUP = EpollIoOps.EPOLLRDHUP.value();
    static final int ET = EpollIoOps.EPOLLET.value();
    /** EPOLLHUP: not among EpollIoOps' constants; always reported by the kernel. */
    static final int HUP = TcpSocket.HANGUP;
    /** What a socket is added to epoll with, once for its whole life: edge-triggered input, output and the peer's FIN. */
    static final int SOCKET_EVENTS = IN | OUT | RDHUP | ET;

    private static final Field IO_HANDLER = field(SingleThreadIoEventLoop.class, "ioHandler");
    private static final Field EPOLL_FD = field(EpollIoHandler.class, "epollFd");
    /** Event-loop groups whose loops run on the fallback, as if the descriptor were not reachable (tests). */
    private static final Set<EventLoopGroup> WITHOUT_DESCRIPTOR = ConcurrentHashMap.newKeySet();

    private final IoEventLoop loop;
    /** The loop's epoll descriptor, or -1: the fallback (Netty's registration, per-loop listeners). */
    private final int epollFd;
    private final MemorySegment errno;
    private final MemorySegment sockaddr;
    private final MemorySegment sockaddrLength;
    private final MemorySegment value;
    private final MemorySegment event;
    private final MemorySegment pipeFds;

    EpollLoop(IoEventLoop loop) {
        super(loop, Scratch.allocate(), ByteBufAllocator.DEFAULT);
        this.loop = loop;
        this.epollFd = WITHOUT_DESCRIPTOR.contains(loop.parent()) ? -1 : descriptor(loop);
        Arena arena = Arena.ofAuto(); // lives as long as the loop's instance
        errno = Syscalls.newErrnoBuffer(arena);
        sockaddr = arena.allocate(Syscalls.SOCKADDR_SLOT, 8);
        sockaddrLength = arena.allocate(JAVA_INT);
        value = arena.allocate(8, 8);
        event = arena.allocate(16, 8);
        pipeFds = arena.allocate(8, 4);
    }

    /** {@code loop}'s instance ({@link TcpLoop#of}). Call on {@code loop}, an epoll loop. */
    static EpollLoop of(IoEventLoop loop) {
        return (EpollLoop) TcpLoop.of(loop);
    }

    /**
     * Runs the loops of {@code group} on the fallback, as a Netty without the reflective hook
     * would. Call before anything is bound on the group. For tests.
     */
    static void withoutDescriptor(EventLoopGroup group) {
        WITHOUT_DESCRIPTOR.add(group);
    }

    /** Whether the loop's epoll descriptor is at hand (else: the fallback). */
    boolean hasDescriptor() {
        return epollFd >= 0;
    }

    /** The descriptor itself (tests). */
    int descriptor() {
        return epollFd;
    }

    private static Field field(Class<?> type, String name) {
        try {
            Field f = type.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.info("epoll descriptor not reachable, sockets are added through Netty and each loop listens on"
                    + " its own socket field={}.{} cause=\"{}\"", type.getSimpleName(), name, e.toString());
            return null;
        }
    }

    private static int descriptor(IoEventLoop loop) {
        if (IO_HANDLER == null || EPOLL_FD == null || !(loop instanceof SingleThreadIoEventLoop)) {
            return -1;
        }
        try {
            if (IO_HANDLER.get(loop) instanceof EpollIoHandler handler
                    && EPOLL_FD.get(handler) instanceof FileDescriptor fd && fd.isOpen()) {
                return fd.intValue();
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.debug("epoll descriptor not readable cause=\"{}\"", e.toString());
        }
        return -1;
    }

    /**
     * A descriptor registered with an epoll loop (a socket, a listening socket): what Netty's loop
     * dispatches readiness to, and closes ({@link #close}) when it shuts down with the descriptor
     * still registered. Netty's {@link FileDescriptor} stays behind this door.
     */
    abstract static class Handle extends FileDescriptor implements EpollIoHandle {
        Handle(int fd) {
            super(fd);
        }

        @Override
        public final FileDescriptor fd() {
            return this;
        }

        /** Closes the descriptor (the kernel drops it from epoll by itself). */
        final void closeDescriptor() {
            try {
                super.close();
            } catch (IOException ignored) {
                // the descriptor is gone either way
            }
        }

        /** Netty: the event loop shuts down with this descriptor still registered. */
        @Override
        public abstract void close();
    }

    // ---- TcpLoop ----------------------------------------------------------------------------

    @Override
    RawSocket newSocket(InetSocketAddress to) throws IOException {
        return new RawSocket(this, socket(to.getAddress()));
    }

    /** An accepted descriptor, served on this loop. */
    RawSocket accepted(int fd) {
        return new RawSocket(this, fd);
    }

    @Override
    boolean canSplice() {
        return true;
    }

    @Override
    Pipe openPipe() throws IOException {
        if (Syscalls.pipe2(errno, pipeFds.address(), Syscalls.O_NONBLOCK | Syscalls.O_CLOEXEC) != 0) {
            throw error("pipe2", Syscalls.errno(errno));
        }
        return new Pipe(pipeFds.get(JAVA_INT, 0), pipeFds.get(JAVA_INT, 4));
    }

    @Override
    void closePipe(Pipe pipe) {
        Syscalls.close(errno, pipe.readFd); // nothing useful to do on an error: the descriptor is gone either way
        Syscalls.close(errno, pipe.writeFd);
    }

    // ---- epoll ------------------------------------------------------------------------------

    /** Registers {@code handle} with the loop (call on it: the registration completes inline); no interest yet. */
    IoRegistration register(EpollIoHandle handle) throws IOException {
        return InlineRegistration.register(loop, handle, "epoll");
    }

    /**
     * Adds descriptor {@code fd} of {@code registration} to the loop's epoll for {@code events}:
     * our own {@code EPOLL_CTL_ADD} with the descriptor at hand, else Netty's submit.
     */
    void add(IoRegistration registration, int fd, int events) throws IOException {
        if (epollFd < 0) {
            try {
                registration.submit(EpollIoOps.valueOf(events));
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            return;
        }
        // The data is the descriptor, as Netty's own adds have it: that is how its loop finds the registration.
        event.set(JAVA_INT, 0, events);
        event.set(JAVA_LONG_UNALIGNED, Syscalls.EPOLL_DATA_OFFSET, Integer.toUnsignedLong(fd));
        if (Syscalls.epollCtl(errno, epollFd, Syscalls.EPOLL_CTL_ADD, fd, event.address()) != 0) {
            throw error("epoll_ctl", Syscalls.errno(errno));
        }
    }

    /** Takes {@code fd} out of the loop's epoll (descriptor at hand only: listeners). */
    void remove(int fd) throws IOException {
        if (Syscalls.epollCtl(errno, epollFd, Syscalls.EPOLL_CTL_DEL, fd, 0L) != 0) {
            throw error("epoll_ctl", Syscalls.errno(errno));
        }
    }

    // ---- listening sockets ------------------------------------------------------------------

    /**
     * A listening socket bound to {@code address}: {@code SO_REUSEADDR}, {@code SO_REUSEPORT}
     * (a restarted node binds while the old one drains; per-loop sockets share the port),
     * {@code IP_FREEBIND} (a standby binds a VIP it does not own yet), and {@code SO_KEEPALIVE} and
     * {@code TCP_NODELAY}, which accepted sockets inherit on Linux (no setsockopt per accept).
     */
    int listen(InetSocketAddress address) throws IOException {
        int fd = socket(address.getAddress());
        try {
            setInt(fd, Syscalls.SOL_SOCKET, Syscalls.SO_REUSEADDR, 1);
            setInt(fd, Syscalls.SOL_SOCKET, Syscalls.SO_REUSEPORT, 1);
            setInt(fd, Syscalls.SOL_IP, Syscalls.IP_FREEBIND, 1);
            setInt(fd, Syscalls.SOL_SOCKET, Syscalls.SO_KEEPALIVE, 1);
            setInt(fd, Syscalls.IPPROTO_TCP, Syscalls.TCP_NODELAY, 1);
            int len = Syscalls.writeSockaddr(sockaddr, address);
            if (Syscalls.bind(errno, fd, sockaddr.address(), len) != 0) {
                throw error("bind", Syscalls.errno(errno), address);
            }
            if (Syscalls.listen(errno, fd, NetUtil.SOMAXCONN) != 0) {
                throw error("listen", Syscalls.errno(errno));
            }
            return fd;
        } catch (IOException | RuntimeException e) {
            Syscalls.close(errno, fd);
            throw e;
        }
    }

    /**
     * Accepts a connection on listening socket {@code fd}: the new non-blocking descriptor, or -1
     * when none is queued. The peer's address is then in {@link #acceptedAddress}.
     */
    int accept(int fd) throws IOException {
        sockaddrLength.set(JAVA_INT, 0, Syscalls.SOCKADDR_SLOT);
        int c = Syscalls.accept4(errno, fd, sockaddr.address(), sockaddrLength.address());
        if (c >= 0) {
            return c;
        }
        int e = Syscalls.errno(errno);
        if (e == Errno.EAGAIN || e == Errno.EINTR) {
            return -1;
        }
        throw error("accept", e);
    }

    /** The peer of the last {@link #accept}. */
    InetSocketAddress acceptedAddress() {
        return Syscalls.readSockaddr(sockaddr);
    }

    /** A second descriptor for the socket {@code fd} (close-on-exec). */
    int dup(int fd) throws IOException {
        int d = Syscalls.dup(errno, fd);
        if (d < 0) {
            throw error("fcntl(F_DUPFD_CLOEXEC)", Syscalls.errno(errno));
        }
        return d;
    }

    // ---- socket calls -----------------------------------------------------------------------

    /** A non-blocking TCP socket of {@code address}'s family (IPv4 gets AF_INET: no mapped addresses). */
    int socket(InetAddress address) throws IOException {
        int fd = Syscalls.socketStream(errno, address instanceof Inet4Address ? Syscalls.AF_INET : Syscalls.AF_INET6);
        if (fd < 0) {
            throw error("socket", Syscalls.errno(errno));
        }
        return fd;
    }

    /** Starts a non-blocking connect: true when already connected, false when in progress. */
    boolean connect(int fd, InetSocketAddress to) throws IOException {
        int len = Syscalls.writeSockaddr(sockaddr, to);
        if (Syscalls.connect(errno, fd, sockaddr.address(), len) == 0) {
            return true;
        }
        int e = Syscalls.errno(errno);
        if (e == Errno.EINPROGRESS) {
            return false;
        }
        throw connectError(e, to);
    }

    /** The socket's pending error (SO_ERROR) as the exception of a failed connect to {@code to}, or null. */
    IOException connectFailure(int fd, InetSocketAddress to) throws IOException {
        int e = getInt(fd, Syscalls.SOL_SOCKET, Syscalls.SO_ERROR);
        return e == 0 ? null : connectError(e, to);
    }

    void setInt(int fd, int level, int name, int v) throws IOException {
        value.set(JAVA_INT, 0, v);
        if (Syscalls.setsockopt(errno, fd, level, name, value.address(), 4) != 0) {
            throw error("setsockopt", Syscalls.errno(errno));
        }
    }

    int getInt(int fd, int level, int name) throws IOException {
        value.set(JAVA_INT, 0, 0);
        sockaddrLength.set(JAVA_INT, 0, 4);
        if (Syscalls.getsockopt(errno, fd, level, name, value.address(), sockaddrLength.address()) != 0) {
            throw error("getsockopt", Syscalls.errno(errno));
        }
        return value.get(JAVA_INT, 0);
    }

    /** linux/in.h: bind() reserves no port, connect() picks one per 4-tuple (Linux 4.2+). */
    static final int IP_BIND_ADDRESS_NO_PORT = 24;
    /** linux/in.h: this socket's own ephemeral range, {@code low | high << 16} (Linux 6.3+). */
    static final int IP_LOCAL_PORT_RANGE = 51;

    /**
     * Binds {@code fd} to {@code address} before its connect: {@code IP_FREEBIND} (the address may
     * arrive later, with the VIP), {@code IP_BIND_ADDRESS_NO_PORT} (the port is picked at connect,
     * so one address serves a range per backend, not one range in all) and, with a range,
     * {@code IP_LOCAL_PORT_RANGE}. These are SOL_IP options that IPv6 TCP sockets honour too.
     */
    void bindSource(int fd, InetAddress address, int portLow, int portHigh) throws IOException {
        setInt(fd, Syscalls.SOL_IP, Syscalls.IP_FREEBIND, 1);
        setInt(fd, Syscalls.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1);
        if (portLow != 0) {
            value.set(JAVA_INT, 0, portLow | portHigh << 16);
            if (Syscalls.setsockopt(errno, fd, Syscalls.SOL_IP, IP_LOCAL_PORT_RANGE, value.address(), 4) != 0) {
                int e = Syscalls.errno(errno);
                throw new Errno.ErrnoException("setsockopt(IP_LOCAL_PORT_RANGE) failed: " + Syscalls.strerror(e)
                        + " (source ports need Linux 6.3+)", e);
            }
        }
        InetSocketAddress local = new InetSocketAddress(address, 0);
        int len = Syscalls.writeSockaddr(sockaddr, local);
        if (Syscalls.bind(errno, fd, sockaddr.address(), len) != 0) {
            throw error("bind", Syscalls.errno(errno), local);
        }
    }

    /** SO_LINGER {on, 0 s}: the next close resets the connection. */
    void lingerZero(int fd) throws IOException {
        value.set(JAVA_INT, 0, 1);
        value.set(JAVA_INT, 4, 0);
        if (Syscalls.setsockopt(errno, fd, Syscalls.SOL_SOCKET, Syscalls.SO_LINGER, value.address(), 8) != 0) {
            throw error("setsockopt", Syscalls.errno(errno));
        }
    }

    /** recv into native memory: bytes read, -1 at EOF, 0 when nothing is queued (EAGAIN). Errors (a reset) throw. */
    int recv(int fd, long address, int len) throws IOException {
        long n = Syscalls.recv(errno, fd, address, len, Syscalls.MSG_DONTWAIT);
        if (n > 0) {
            return (int) n;
        }
        if (n == 0) {
            return len == 0 ? 0 : -1;
        }
        int e = Syscalls.errno(errno);
        if (e == Errno.EAGAIN || e == Errno.EINTR) {
            return 0;
        }
        throw error("recv", e);
    }

    /** send from native memory: bytes written, 0 when the send buffer is full. Errors throw. */
    int send(int fd, long address, int len) throws IOException {
        long n = Syscalls.send(errno, fd, address, len, Syscalls.MSG_DONTWAIT | Syscalls.MSG_NOSIGNAL);
        if (n >= 0) {
            return (int) n;
        }
        int e = Syscalls.errno(errno);
        if (e == Errno.EAGAIN || e == Errno.EINTR) {
            return 0;
        }
        throw error("send", e);
    }

    /**
     * splice(2) from {@code in} to {@code out}: bytes moved; 0 both when nothing can move now and
     * at the end of the input (the caller tells them apart by the peer's FIN). Errors throw.
     */
    int splice(int in, int out, int len) throws IOException {
        long n = Syscalls.splice(errno, in, out, len);
        if (n >= 0) {
            return (int) n;
        }
        int e = Syscalls.errno(errno);
        if (e == Errno.EAGAIN || e == Errno.EINTR) {
            return 0;
        }
        throw error("splice", e);
    }

    /** shutdown(SHUT_WR): our FIN, the input stays open. */
    void shutdownOutput(int fd) throws IOException {
        if (Syscalls.shutdown(errno, fd, Syscalls.SHUT_WR) != 0) {
            throw error("shutdown", Syscalls.errno(errno));
        }
    }

    /** This end's address (getsockname), or null. */
    InetSocketAddress localAddress(int fd) {
        return address(fd, false);
    }

    /** The peer's address (getpeername), or null. */
    InetSocketAddress remoteAddress(int fd) {
        return address(fd, true);
    }

    private InetSocketAddress address(int fd, boolean peer) {
        sockaddrLength.set(JAVA_INT, 0, Syscalls.SOCKADDR_SLOT);
        int rc = peer ? Syscalls.getpeername(errno, fd, sockaddr.address(), sockaddrLength.address())
                : Syscalls.getsockname(errno, fd, sockaddr.address(), sockaddrLength.address());
        return rc == 0 ? Syscalls.readSockaddr(sockaddr) : null;
    }

    /** With its errno, so {@link Errno#local} can tell the node's own resource errors from a backend's. */
    private static IOException error(String call, int e) {
        return new Errno.ErrnoException(call + "(..) failed: " + Syscalls.strerror(e), e);
    }

    private static IOException error(String call, int e, InetSocketAddress address) {
        return new Errno.ErrnoException(call + "(..) failed: " + Syscalls.strerror(e) + ": " + address, e);
    }

    /** Messages read like Netty's ({@code connect(..) failed: Connection refused: /10.0.0.1:80}); health reporting shortens them. */
    private static IOException connectError(int e, InetSocketAddress to) {
        return new Errno.ConnectErrnoException("connect(..) failed: " + Syscalls.strerror(e) + ": " + to, e);
    }
}
