package io.tandem.core.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The libc calls of the raw data paths (the UDP listener, the TCP engine), through the FFM API,
 * where Netty's JNI has no call of its own or costs more than the call: {@code recvmmsg} and
 * {@code sendmmsg} (many datagrams per system call, into and out of native memory that the
 * listener owns, with no Java object per datagram), {@code socket}, {@code connect},
 * {@code shutdown}, {@code setsockopt}, {@code getsockopt} and {@code getsockname} on a bare
 * descriptor (Netty's {@code Socket} wrapper costs a {@code getsockname} per socket to learn its
 * family, which the data paths already know). All of them capture {@code errno}.
 *
 * <p>Internal to lb-core's data paths; not an API.
 *
 * <p>The data-path calls are linked {@linkplain Linker.Option#critical critical}: they run with
 * {@code MSG_DONTWAIT}, never block, never call back, so the thread-state transition of a
 * normal downcall is not needed. Struct layouts are Linux LP64 ({@code struct mmsghdr} = 64
 * bytes); {@link #AVAILABLE} is false elsewhere.
 */
public final class Syscalls {
    private static final Logger log = LoggerFactory.getLogger(Syscalls.class);

    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int MSG_DONTWAIT = 0x40;
    /** No SIGPIPE for a write to a reset peer: the call fails with EPIPE instead. */
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    public static final int ECONNREFUSED = 111;
    public static final int EINPROGRESS = 115;

    public static final int SOL_SOCKET = 1;
    public static final int SO_KEEPALIVE = 9;
    public static final int SO_LINGER = 13;
    public static final int SO_ERROR = 4;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    public static final int TCP_USER_TIMEOUT = 18;
    public static final int SHUT_WR = 1;
    public static final int F_DUPFD_CLOEXEC = 1030;

    // struct msghdr / mmsghdr / iovec offsets (Linux, LP64)
    public static final int MSG_NAME = 0;
    public static final int MSG_NAMELEN = 8;
    public static final int MSG_IOV = 16;
    public static final int MSG_IOVLEN = 24;
    public static final int MSG_FLAGS = 48;
    public static final int MMSG_LEN = 56;
    public static final int MMSGHDR_SIZE = 64;
    public static final int IOV_BASE = 0;
    public static final int IOV_LEN = 8;
    public static final int IOVEC_SIZE = 16;
    /** sizeof(struct sockaddr_in6), enough for a sockaddr_in too; slots are 32 bytes apart. */
    public static final int SOCKADDR_IN6_SIZE = 28;
    public static final int SOCKADDR_IN_SIZE = 16;
    public static final int SOCKADDR_SLOT = 32;

    public static final boolean AVAILABLE;
    private static final StructLayout CAPTURE;
    private static final VarHandle ERRNO;
    private static final MethodHandle RECVMMSG;
    private static final MethodHandle SENDMMSG;
    private static final MethodHandle SOCKET;
    private static final MethodHandle CONNECT;
    private static final MethodHandle SHUTDOWN;
    private static final MethodHandle DUP;
    private static final MethodHandle SETSOCKOPT;
    private static final MethodHandle GETSOCKOPT;
    private static final MethodHandle STRERROR;
    private static final MethodHandle RECV;
    private static final MethodHandle SEND;
    private static final MethodHandle GETSOCKNAME;

    static {
        boolean ok = false;
        StructLayout capture = null;
        VarHandle errno = null;
        MethodHandle recv = null;
        MethodHandle send = null;
        MethodHandle socket = null;
        MethodHandle connect = null;
        MethodHandle shutdown = null;
        MethodHandle dup = null;
        MethodHandle setsockopt = null;
        MethodHandle getsockopt = null;
        MethodHandle strerror = null;
        MethodHandle recvH = null;
        MethodHandle sendH = null;
        MethodHandle getsockname = null;
        try {
            if (System.getProperty("os.name", "").toLowerCase().contains("linux") && ADDRESS.byteSize() == 8
                    && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
                Linker linker = Linker.nativeLinker();
                Linker.Option ccs = Linker.Option.captureCallState("errno");
                capture = Linker.Option.captureStateLayout();
                errno = capture.varHandle(MemoryLayout.PathElement.groupElement("errno"));
                var lookup = linker.defaultLookup();
                recv = linker.downcallHandle(lookup.find("recvmmsg").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG),
                        ccs, Linker.Option.critical(false));
                send = linker.downcallHandle(lookup.find("sendmmsg").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT),
                        ccs, Linker.Option.critical(false));
                socket = linker.downcallHandle(lookup.find("socket").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), ccs);
                // Per-connection TCP calls: none blocks on a non-blocking socket, none calls back.
                connect = linker.downcallHandle(lookup.find("connect").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT),
                        ccs, Linker.Option.critical(false));
                shutdown = linker.downcallHandle(lookup.find("shutdown").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ccs, Linker.Option.critical(false));
                dup = linker.downcallHandle(lookup.find("fcntl").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
                        ccs, Linker.Option.firstVariadicArg(2));
                setsockopt = linker.downcallHandle(lookup.find("setsockopt").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT),
                        ccs, Linker.Option.critical(false));
                getsockopt = linker.downcallHandle(lookup.find("getsockopt").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
                        ccs, Linker.Option.critical(false));
                recvH = linker.downcallHandle(lookup.find("recv").orElseThrow(),
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT),
                        ccs, Linker.Option.critical(false));
                sendH = linker.downcallHandle(lookup.find("send").orElseThrow(),
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT),
                        ccs, Linker.Option.critical(false));
                getsockname = linker.downcallHandle(lookup.find("getsockname").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
                        ccs, Linker.Option.critical(false));
                strerror = linker.downcallHandle(lookup.find("strerror").orElseThrow(),
                        FunctionDescriptor.of(ADDRESS, JAVA_INT));
                ok = true;
            }
        } catch (Throwable t) { // no native access, unknown platform
            log.debug("raw UDP system calls unavailable cause=\"{}\"", t.toString());
        }
        AVAILABLE = ok;
        CAPTURE = capture;
        ERRNO = errno;
        RECVMMSG = recv;
        SENDMMSG = send;
        SOCKET = socket;
        CONNECT = connect;
        SHUTDOWN = shutdown;
        DUP = dup;
        SETSOCKOPT = setsockopt;
        GETSOCKOPT = getsockopt;
        STRERROR = strerror;
        RECV = recvH;
        SEND = sendH;
        GETSOCKNAME = getsockname;
    }

    private Syscalls() {
    }

    /** A buffer for the errno of calls made by one thread (or one owner confined to a thread). */
    public static MemorySegment newErrnoBuffer(Arena arena) {
        return arena.allocate(CAPTURE);
    }

    public static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /**
     * recvmmsg(fd, msgs, n, flags, NULL) with {@code msgs} the native address of an mmsghdr array
     * (pointers are passed as longs: no segment object per call): datagrams received, or -1 with
     * errno in {@code state}.
     */
    public static int recvmmsg(MemorySegment state, int fd, long msgs, int n, int flags) {
        try {
            return (int) RECVMMSG.invokeExact(state, fd, msgs, n, flags, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** sendmmsg(fd, msgs, n, flags): datagrams sent, or -1 with errno in {@code state}. */
    public static int sendmmsg(MemorySegment state, int fd, long msgs, int n, int flags) {
        try {
            return (int) SENDMMSG.invokeExact(state, fd, msgs, n, flags);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A non-blocking, close-on-exec datagram socket of {@code family}, or -1 with errno in {@code state}. */
    public static int socketDgram(MemorySegment state, int family) {
        try {
            return (int) SOCKET.invokeExact(state, family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A non-blocking, close-on-exec TCP socket of {@code family}, or -1 with errno in {@code state}. */
    public static int socketStream(MemorySegment state, int family) {
        try {
            return (int) SOCKET.invokeExact(state, family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** connect(fd, addr, len) with {@code addr} the native address of a sockaddr: 0, or -1 with errno. */
    public static int connect(MemorySegment state, int fd, long addr, int len) {
        try {
            return (int) CONNECT.invokeExact(state, fd, addr, len);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** shutdown(fd, how): 0, or -1 with errno. */
    public static int shutdown(MemorySegment state, int fd, int how) {
        try {
            return (int) SHUTDOWN.invokeExact(state, fd, how);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** fcntl(fd, F_DUPFD_CLOEXEC, 0): a new descriptor for the same open socket, or -1 with errno. */
    public static int dup(MemorySegment state, int fd) {
        try {
            return (int) DUP.invokeExact(state, fd, F_DUPFD_CLOEXEC, 0);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** setsockopt(fd, level, name, value, len) with {@code value} a native address: 0, or -1 with errno. */
    public static int setsockopt(MemorySegment state, int fd, int level, int name, long value, int len) {
        try {
            return (int) SETSOCKOPT.invokeExact(state, fd, level, name, value, len);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** getsockopt(fd, level, name, value, lenp) with native addresses: 0, or -1 with errno. */
    public static int getsockopt(MemorySegment state, int fd, int level, int name, long value, long lenp) {
        try {
            return (int) GETSOCKOPT.invokeExact(state, fd, level, name, value, lenp);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Writes {@code address} as a {@code sockaddr_in} (IPv4) or {@code sockaddr_in6} into
     * {@code at} and returns its length.
     */
    public static int writeSockaddr(MemorySegment at, java.net.InetSocketAddress address) {
        java.net.InetAddress ip = address.getAddress();
        int port = address.getPort();
        byte[] raw = ip.getAddress();
        at.fill((byte) 0);
        if (raw.length == 4) {
            at.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET);
            at.set(ValueLayout.JAVA_BYTE, 2, (byte) (port >> 8));
            at.set(ValueLayout.JAVA_BYTE, 3, (byte) port);
            MemorySegment.copy(raw, 0, at, ValueLayout.JAVA_BYTE, 4, 4);
            return SOCKADDR_IN_SIZE;
        }
        at.set(ValueLayout.JAVA_SHORT, 0, (short) AF_INET6);
        at.set(ValueLayout.JAVA_BYTE, 2, (byte) (port >> 8));
        at.set(ValueLayout.JAVA_BYTE, 3, (byte) port);
        MemorySegment.copy(raw, 0, at, ValueLayout.JAVA_BYTE, 8, 16);
        if (ip instanceof java.net.Inet6Address v6) {
            at.set(JAVA_INT, 24, v6.getScopeId());
        }
        return SOCKADDR_IN6_SIZE;
    }

    /**
     * Reads the {@code sockaddr_in} or {@code sockaddr_in6} at {@code at} (a receive slot, a
     * {@code getsockname} result): the address, or null for another family. An IPv4-mapped IPv6
     * address comes back as the IPv4 address (as Java's own sockets report it); a link-local
     * IPv6 address keeps its scope id. Allocates: once per new peer, not per datagram.
     */
    public static java.net.InetSocketAddress readSockaddr(MemorySegment at) {
        return readSockaddr(at, 0);
    }

    /** {@link #readSockaddr(MemorySegment)} of the sockaddr at {@code offset} of {@code in}. */
    public static java.net.InetSocketAddress readSockaddr(MemorySegment in, long offset) {
        int family = in.get(ValueLayout.JAVA_SHORT, offset) & 0xffff;
        int port = ((in.get(ValueLayout.JAVA_BYTE, offset + 2) & 0xff) << 8)
                | (in.get(ValueLayout.JAVA_BYTE, offset + 3) & 0xff);
        byte[] ip;
        if (family == AF_INET) {
            ip = new byte[4];
            MemorySegment.copy(in, ValueLayout.JAVA_BYTE, offset + 4, ip, 0, 4);
        } else if (family == AF_INET6) {
            ip = new byte[16];
            MemorySegment.copy(in, ValueLayout.JAVA_BYTE, offset + 8, ip, 0, 16);
        } else {
            return null;
        }
        try {
            java.net.InetAddress address = java.net.InetAddress.getByAddress(ip);
            if (address instanceof java.net.Inet6Address && address.isLinkLocalAddress()) {
                address = java.net.Inet6Address.getByAddress(null, ip, in.get(JAVA_INT, offset + 24));
            }
            return new java.net.InetSocketAddress(address, port);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e); // only for a wrong length
        }
    }

    /** getsockname(fd, addr, lenp) with native addresses ({@code *lenp} = the room at addr): 0, or -1 with errno. */
    public static int getsockname(MemorySegment state, int fd, long addr, long lenp) {
        try {
            return (int) GETSOCKNAME.invokeExact(state, fd, addr, lenp);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** recv(fd, buf, len, flags) into native memory: bytes, 0 at EOF, or -1 with errno in {@code state}. */
    public static long recv(MemorySegment state, int fd, long buf, long len, int flags) {
        try {
            return (long) RECV.invokeExact(state, fd, buf, len, flags);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** send(fd, buf, len, flags) from native memory: bytes, or -1 with errno in {@code state}. */
    public static long send(MemorySegment state, int fd, long buf, long len, int flags) {
        try {
            return (long) SEND.invokeExact(state, fd, buf, len, flags);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** libc's message for {@code errno} ("Connection refused"); error paths only. */
    public static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
