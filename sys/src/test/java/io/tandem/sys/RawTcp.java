package io.tandem.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Bare-descriptor TCP for the repair tests (the descriptor is what {@link TcpRepair} works on):
 * listen, accept, write and read with deadlines, on the non-blocking sockets of {@link Syscalls}.
 * One instance per thread.
 */
final class RawTcp implements AutoCloseable {
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment errno = Syscalls.newErrnoBuffer(arena);
    private final MemorySegment addr = arena.allocate(Syscalls.SOCKADDR_SLOT, 8);
    private final MemorySegment len = arena.allocate(8, 8);
    private final MemorySegment buf = arena.allocate(1 << 20, 8);

    int listen(InetSocketAddress at) throws IOException {
        int fd = Syscalls.socketStream(errno,
                at.getAddress() instanceof java.net.Inet6Address ? Syscalls.AF_INET6 : Syscalls.AF_INET);
        check(fd, "socket");
        word(fd, Syscalls.SOL_SOCKET, Syscalls.SO_REUSEADDR, 1);
        check(Syscalls.bind(errno, fd, addr.address(), Syscalls.writeSockaddr(addr, at)), "bind " + at);
        check(Syscalls.listen(errno, fd, 1024), "listen");
        return fd;
    }

    /** A connection from {@code from} (bound first: the proxy's source address and port) to {@code to}. */
    int connect(InetSocketAddress from, InetSocketAddress to, Duration within) throws IOException {
        int fd = Syscalls.socketStream(errno, Syscalls.AF_INET);
        check(fd, "socket");
        word(fd, Syscalls.SOL_SOCKET, Syscalls.SO_REUSEADDR, 1);
        check(Syscalls.bind(errno, fd, addr.address(), Syscalls.writeSockaddr(addr, from)), "bind " + from);
        long deadline = System.nanoTime() + within.toNanos();
        int n = Syscalls.writeSockaddr(addr, to);
        while (Syscalls.connect(errno, fd, addr.address(), n) < 0) {
            int e = Syscalls.errno(errno);
            if (e == 106) { // EISCONN: the connect in progress completed
                return fd;
            }
            if (e != Errno.EINPROGRESS && e != 114 /* EALREADY */) {
                throw new Errno.ErrnoException("connect " + to + ": " + Syscalls.strerror(e), e);
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("connect " + to + ": timed out");
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", ie);
            }
        }
        return fd;
    }

    InetSocketAddress localAddress(int fd) throws IOException {
        len.set(JAVA_INT, 0, Syscalls.SOCKADDR_SLOT);
        check(Syscalls.getsockname(errno, fd, addr.address(), len.address()), "getsockname");
        return Syscalls.readSockaddr(addr);
    }

    int accept(int listener, Duration within) throws IOException {
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            len.set(JAVA_INT, 0, Syscalls.SOCKADDR_SLOT);
            int fd = Syscalls.accept4(errno, listener, addr.address(), len.address());
            if (fd >= 0) {
                return fd;
            }
            again("accept", deadline);
        }
    }

    void writeAll(int fd, byte[] bytes, Duration within) throws IOException {
        long deadline = System.nanoTime() + within.toNanos();
        int done = 0;
        while (done < bytes.length) {
            int n = Math.min(bytes.length - done, (int) buf.byteSize());
            MemorySegment.copy(bytes, done, buf, JAVA_BYTE, 0, n);
            long w = Syscalls.send(errno, fd, buf.address(), n, Syscalls.MSG_DONTWAIT | Syscalls.MSG_NOSIGNAL);
            if (w > 0) {
                done += (int) w;
            } else {
                again("send", deadline);
            }
        }
    }

    /** Writes as much of {@code bytes} as the socket takes now; returns how many. */
    int writeSome(int fd, byte[] bytes) throws IOException {
        int done = 0;
        while (done < bytes.length) {
            int n = Math.min(bytes.length - done, (int) buf.byteSize());
            MemorySegment.copy(bytes, done, buf, JAVA_BYTE, 0, n);
            long w = Syscalls.send(errno, fd, buf.address(), n, Syscalls.MSG_DONTWAIT | Syscalls.MSG_NOSIGNAL);
            if (w <= 0) {
                int e = Syscalls.errno(errno);
                if (e == Errno.EAGAIN) {
                    return done;
                }
                throw new IOException("send: " + Syscalls.strerror(e));
            }
            done += (int) w;
        }
        return done;
    }

    byte[] readExactly(int fd, int n, Duration within) throws IOException {
        long deadline = System.nanoTime() + within.toNanos();
        byte[] out = new byte[n];
        int done = 0;
        while (done < n) {
            long r = Syscalls.recv(errno, fd, buf.address(), Math.min(n - done, buf.byteSize()), Syscalls.MSG_DONTWAIT);
            if (r > 0) {
                MemorySegment.copy(buf, JAVA_BYTE, 0, out, done, (int) r);
                done += (int) r;
            } else if (r == 0) {
                throw new IOException("end of stream after " + done + " of " + n + " bytes");
            } else {
                again("recv", deadline);
            }
        }
        return out;
    }

    /** Bytes readable now without taking them (MSG_PEEK), 0 if none. */
    int readable(int fd) throws IOException {
        long r = Syscalls.recv(errno, fd, buf.address(), buf.byteSize(), Syscalls.MSG_DONTWAIT | 2 /* MSG_PEEK */);
        if (r < 0 && Syscalls.errno(errno) != Errno.EAGAIN) {
            throw new IOException("recv: " + Syscalls.strerror(Syscalls.errno(errno)));
        }
        return (int) Math.max(r, 0);
    }

    /** Bytes readable now (taking none), -1 at the end of the stream, 0 if none yet; a reset throws. */
    int peek(int fd) throws IOException {
        long r = Syscalls.recv(errno, fd, buf.address(), buf.byteSize(), Syscalls.MSG_DONTWAIT | 2 /* MSG_PEEK */);
        if (r > 0) {
            return (int) r;
        }
        if (r == 0) {
            return -1;
        }
        int e = Syscalls.errno(errno);
        if (e == Errno.EAGAIN) {
            return 0;
        }
        throw new Errno.ErrnoException("recv: " + Syscalls.strerror(e), e);
    }

    void word(int fd, int level, int name, int value) throws IOException {
        MemorySegment w = arena.allocate(JAVA_INT);
        w.set(JAVA_INT, 0, value);
        check(Syscalls.setsockopt(errno, fd, level, name, w.address(), 4), "setsockopt " + name);
    }

    /** Closes with SO_LINGER {1, 0}: a RST. */
    void abort(int fd) throws IOException {
        MemorySegment l = arena.allocate(8, 4);
        l.set(JAVA_INT, 0, 1);
        l.set(JAVA_INT, 4, 0);
        check(Syscalls.setsockopt(errno, fd, Syscalls.SOL_SOCKET, Syscalls.SO_LINGER, l.address(), 8), "SO_LINGER");
        Syscalls.close(errno, fd);
    }

    void close(int fd) {
        Syscalls.close(errno, fd);
    }

    private void again(String what, long deadline) throws IOException {
        int e = Syscalls.errno(errno);
        if (e != Errno.EAGAIN && e != Errno.EINPROGRESS) {
            throw new Errno.ErrnoException(what + ": " + Syscalls.strerror(e), e);
        }
        if (System.nanoTime() > deadline) {
            throw new IOException(what + ": timed out");
        }
        try {
            Thread.sleep(1);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", ie);
        }
    }

    private void check(int r, String what) throws IOException {
        if (r < 0) {
            int e = Syscalls.errno(errno);
            throw new Errno.ErrnoException(what + ": " + Syscalls.strerror(e), e);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
