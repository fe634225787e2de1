package io.tandem.core.tcp;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.netty.util.concurrent.FastThreadLocal;
import io.tandem.core.sys.Errno;
import io.tandem.core.sys.Syscalls;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The socket calls of the raw TCP engine on a bare descriptor, with the native scratch they need
 * (errno, a sockaddr, an option value): one instance per event-loop thread, used only on it.
 * Errors become exceptions whose messages read like Netty's ({@code connect(..) failed: Connection
 * refused}), which health reporting shortens to their reason.
 */
final class TcpCalls {
    private static final FastThreadLocal<TcpCalls> PER_THREAD = new FastThreadLocal<>() {
        @Override
        protected TcpCalls initialValue() {
            return new TcpCalls();
        }
    };

    private final MemorySegment errno;
    private final MemorySegment sockaddr;
    private final MemorySegment value;
    private final MemorySegment length;

    private TcpCalls() {
        Arena arena = Arena.ofAuto(); // lives as long as the thread's instance
        errno = Syscalls.newErrnoBuffer(arena);
        sockaddr = arena.allocate(Syscalls.SOCKADDR_SLOT, 8);
        value = arena.allocate(8, 8);
        length = arena.allocate(JAVA_INT);
    }

    /** This thread's instance (an event loop's). */
    static TcpCalls current() {
        return PER_THREAD.get();
    }

    static boolean available() {
        return Syscalls.AVAILABLE;
    }

    /** A non-blocking TCP socket of {@code address}'s family. */
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
        if (e == Syscalls.EINPROGRESS) {
            return false;
        }
        throw connectError("connect", e, to);
    }

    /** The socket's pending error (SO_ERROR) as the exception of a failed connect to {@code to}, or null. */
    IOException connectFailure(int fd, InetSocketAddress to) throws IOException {
        int e = getInt(fd, Syscalls.SOL_SOCKET, Syscalls.SO_ERROR);
        return e == 0 ? null : connectError("connect", e, to);
    }

    void setInt(int fd, int level, int name, int v) throws IOException {
        value.set(JAVA_INT, 0, v);
        if (Syscalls.setsockopt(errno, fd, level, name, value.address(), 4) != 0) {
            throw error("setsockopt", Syscalls.errno(errno));
        }
    }

    int getInt(int fd, int level, int name) throws IOException {
        value.set(JAVA_INT, 0, 0);
        length.set(JAVA_INT, 0, 4);
        if (Syscalls.getsockopt(errno, fd, level, name, value.address(), length.address()) != 0) {
            throw error("getsockopt", Syscalls.errno(errno));
        }
        return value.get(JAVA_INT, 0);
    }

    /**
     * recv into native memory at {@code address}: bytes read, -1 at EOF, 0 when nothing is
     * queued (EAGAIN). Errors (a reset) throw.
     */
    int recv(int fd, long address, int len) throws IOException {
        long n = Syscalls.recv(errno, fd, address, len, Syscalls.MSG_DONTWAIT);
        if (n > 0) {
            return (int) n;
        }
        if (n == 0) {
            return len == 0 ? 0 : -1;
        }
        int e = Syscalls.errno(errno);
        if (e == Syscalls.EAGAIN || e == Syscalls.EINTR) {
            return 0;
        }
        throw error("recv", e);
    }

    /** send from native memory at {@code address}: bytes written, 0 when the send buffer is full. Errors throw. */
    int send(int fd, long address, int len) throws IOException {
        long n = Syscalls.send(errno, fd, address, len, Syscalls.MSG_DONTWAIT | Syscalls.MSG_NOSIGNAL);
        if (n >= 0) {
            return (int) n;
        }
        int e = Syscalls.errno(errno);
        if (e == Syscalls.EAGAIN || e == Syscalls.EINTR) {
            return 0;
        }
        throw error("send", e);
    }

    /** SO_LINGER {on, 0 s}: the next close resets the connection. */
    void lingerZero(int fd) throws IOException {
        value.set(JAVA_INT, 0, 1);
        value.set(JAVA_INT, 4, 0);
        if (Syscalls.setsockopt(errno, fd, Syscalls.SOL_SOCKET, Syscalls.SO_LINGER, value.address(), 8) != 0) {
            throw error("setsockopt", Syscalls.errno(errno));
        }
    }

    /** A second descriptor for the socket {@code fd} (close-on-exec). */
    int dup(int fd) throws IOException {
        int d = Syscalls.dup(errno, fd);
        if (d < 0) {
            throw error("fcntl(F_DUPFD_CLOEXEC)", Syscalls.errno(errno));
        }
        return d;
    }

    /** shutdown(SHUT_WR): our FIN, the input stays open. */
    void shutdownOutput(int fd) throws IOException {
        if (Syscalls.shutdown(errno, fd, Syscalls.SHUT_WR) != 0) {
            throw error("shutdown", Syscalls.errno(errno));
        }
    }

    /** With its errno, so {@link Errno#local} can tell the node's own resource errors from a backend's. */
    private static IOException error(String call, int e) {
        return new Errno.ErrnoException(call + "(..) failed: " + Syscalls.strerror(e), e);
    }

    private static IOException connectError(String call, int e, InetSocketAddress to) {
        return new Errno.ConnectErrnoException(call + "(..) failed: " + Syscalls.strerror(e) + ": " + to, e);
    }
}
