package io.tandem.sys;

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
 * Tandem's one binding place for libc, through the FFM API: the linker setup, the {@code errno}
 * capture every call shares, the Linux constants (declared here once; errno numbers in
 * {@link Errno}) and the calls themselves.
 *
 * <ul>
 *   <li><b>The data path</b> (lb-core's TCP and UDP sockets), where Netty's JNI has no call of its
 *       own, costs more than the call, or is marked for Netty's internal use only:
 *       {@code recvmmsg} and {@code sendmmsg} (many datagrams per system call, into and out of
 *       native memory that the listener owns, with no Java object per datagram), the TCP sockets'
 *       calls on bare descriptors ({@code socket}, {@code bind}, {@code listen}, {@code accept4},
 *       {@code connect}, {@code recv}, {@code send}, {@code splice}, {@code pipe2},
 *       {@code shutdown}, {@code setsockopt}, {@code getsockopt}, {@code getsockname}; Netty's
 *       {@code Socket} wrapper costs a {@code getsockname} per socket to learn its family, which
 *       the TCP path already knows) and {@code epoll_ctl} on an event loop's epoll descriptor.
 *       These are linked {@linkplain Linker.Option#critical critical}: they run with
 *       {@code MSG_DONTWAIT} on non-blocking descriptors, never block, never call back, so the
 *       thread-state transition of a normal downcall is not needed. Pointers are passed as
 *       {@code long}s: no segment object per call.</li>
 *   <li><b>The HA module</b>'s raw and netlink sockets (gratuitous ARP, interface addresses):
 *       {@link #socket}, {@link #sendto} and {@link #recvWaiting}, normal downcalls because a
 *       netlink answer may be waited for (up to {@code SO_RCVTIMEO}).</li>
 * </ul>
 *
 * <p>Struct layouts are Linux LP64 ({@code struct mmsghdr} = 64 bytes); {@link #AVAILABLE} is
 * false elsewhere, and without native access: then the node runs on NIO, and the HA module adds
 * addresses with the {@code ip} tool. Callers check {@link #AVAILABLE} before the first call.
 */
@SuppressWarnings("restricted") // native access is the point; the JVM needs --enable-native-access
public final class Syscalls {
    private static final Logger log = LoggerFactory.getLogger(Syscalls.class);

    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int AF_NETLINK = 16;
    public static final int AF_PACKET = 17;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;
    public static final int MSG_DONTWAIT = 0x40;
    /** No SIGPIPE for a write to a reset peer: the call fails with EPIPE instead. */
    public static final int MSG_NOSIGNAL = 0x4000;

    public static final int SOL_SOCKET = 1;
    public static final int SO_KEEPALIVE = 9;
    public static final int SO_LINGER = 13;
    public static final int SO_ERROR = 4;
    public static final int SO_RCVTIMEO = 20;
    public static final int IPPROTO_TCP = 6;
    public static final int TCP_NODELAY = 1;
    public static final int TCP_USER_TIMEOUT = 18;
    public static final int SHUT_WR = 1;
    public static final int F_DUPFD_CLOEXEC = 1030;
    /** The IP level of socket options ({@code IPPROTO_IP}). */
    public static final int SOL_IP = 0;
    public static final int IP_FREEBIND = 15;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_REUSEPORT = 15;
    /** pipe2 flags: O_NONBLOCK (= SOCK_NONBLOCK), O_CLOEXEC (= SOCK_CLOEXEC). */
    public static final int O_NONBLOCK = SOCK_NONBLOCK;
    public static final int O_CLOEXEC = SOCK_CLOEXEC;
    public static final int SPLICE_F_MOVE = 1;
    public static final int SPLICE_F_NONBLOCK = 2;
    public static final int EPOLL_CTL_ADD = 1;
    public static final int EPOLL_CTL_DEL = 2;
    public static final int EPOLLEXCLUSIVE = 1 << 28;
    /**
     * {@code struct epoll_event}: a u32 of events, then the u64 data. Packed on x86-64 (12 bytes,
     * data at 4), naturally aligned elsewhere (16 bytes, data at 8).
     */
    public static final int EPOLL_EVENT_SIZE;
    public static final int EPOLL_DATA_OFFSET;

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
    private static final MethodHandle BIND;
    private static final MethodHandle LISTEN;
    private static final MethodHandle ACCEPT4;
    private static final MethodHandle GETSOCKNAME;
    private static final MethodHandle GETPEERNAME;
    private static final MethodHandle CLOSE;
    private static final MethodHandle PIPE2;
    private static final MethodHandle SPLICE;
    private static final MethodHandle EPOLL_CTL;
    private static final MethodHandle SENDTO;
    private static final MethodHandle RECV_WAITING;

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
        MethodHandle[] tcp = new MethodHandle[9];
        MethodHandle sendto = null;
        MethodHandle recvWaiting = null;
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
                strerror = linker.downcallHandle(lookup.find("strerror").orElseThrow(),
                        FunctionDescriptor.of(ADDRESS, JAVA_INT));
                tcp = tcpHandles(linker, ccs);
                // The HA module's calls: normal downcalls (a netlink answer is waited for).
                sendto = linker.downcallHandle(lookup.find("sendto").orElseThrow(),
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT),
                        ccs);
                recvWaiting = linker.downcallHandle(lookup.find("recv").orElseThrow(),
                        FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT), ccs);
                ok = true;
            }
        } catch (Throwable t) { // no native access, unknown platform
            log.debug("libc calls through FFM unavailable cause=\"{}\"", t.toString());
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
        BIND = tcp[0];
        LISTEN = tcp[1];
        ACCEPT4 = tcp[2];
        GETSOCKNAME = tcp[3];
        GETPEERNAME = tcp[4];
        CLOSE = tcp[5];
        PIPE2 = tcp[6];
        SPLICE = tcp[7];
        EPOLL_CTL = tcp[8];
        SENDTO = sendto;
        RECV_WAITING = recvWaiting;
        boolean x86 = System.getProperty("os.arch", "").matches("amd64|x86_64");
        EPOLL_EVENT_SIZE = x86 ? 12 : 16;
        EPOLL_DATA_OFFSET = x86 ? 4 : 8;
    }

    /**
     * The TCP data path's listener, pipe and epoll calls. The per-connection ones (accept4,
     * splice, close of a pipe, getsockname/getpeername) never block on non-blocking descriptors
     * and never call back: critical, like the relay's recv/send.
     */
    private static MethodHandle[] tcpHandles(Linker linker, Linker.Option ccs) {
        var lookup = linker.defaultLookup();
        Linker.Option critical = Linker.Option.critical(false);
        return new MethodHandle[] {
            linker.downcallHandle(lookup.find("bind").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT), ccs),
            linker.downcallHandle(lookup.find("listen").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), ccs),
            linker.downcallHandle(lookup.find("accept4").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT), ccs, critical),
            linker.downcallHandle(lookup.find("getsockname").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), ccs, critical),
            linker.downcallHandle(lookup.find("getpeername").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), ccs, critical),
            linker.downcallHandle(lookup.find("close").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT), ccs, critical),
            linker.downcallHandle(lookup.find("pipe2").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT), ccs),
            linker.downcallHandle(lookup.find("splice").orElseThrow(),
                    FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT),
                    ccs, critical),
            linker.downcallHandle(lookup.find("epoll_ctl").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), ccs, critical),
        };
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

    /**
     * socket(domain, type, protocol) as given (the HA module's raw and netlink sockets): the
     * descriptor, or -1 with errno in {@code state}.
     */
    public static int socket(MemorySegment state, int domain, int type, int protocol) {
        try {
            return (int) SOCKET.invokeExact(state, domain, type, protocol);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * sendto(fd, buf, len, flags, addr, addrlen) with native addresses: bytes sent, or -1 with
     * errno. A normal downcall: the socket may block.
     */
    public static long sendto(MemorySegment state, int fd, long buf, long len, int flags, long addr, int addrlen) {
        try {
            return (long) SENDTO.invokeExact(state, fd, buf, len, flags, addr, addrlen);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * recv(fd, buf, len, flags) that may wait (a blocking socket, bounded by its
     * {@code SO_RCVTIMEO}): bytes, 0 at EOF, or -1 with errno. A normal downcall, unlike
     * {@link #recv}, which must never block.
     */
    public static long recvWaiting(MemorySegment state, int fd, long buf, long len, int flags) {
        try {
            return (long) RECV_WAITING.invokeExact(state, fd, buf, len, flags);
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

    /** bind(fd, addr, len) with {@code addr} the native address of a sockaddr: 0, or -1 with errno. */
    public static int bind(MemorySegment state, int fd, long addr, int len) {
        try {
            return (int) BIND.invokeExact(state, fd, addr, len);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** listen(fd, backlog): 0, or -1 with errno. */
    public static int listen(MemorySegment state, int fd, int backlog) {
        try {
            return (int) LISTEN.invokeExact(state, fd, backlog);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * accept4(fd, addr, lenp, SOCK_NONBLOCK | SOCK_CLOEXEC), the peer's sockaddr written at
     * {@code addr} (its size in {@code *lenp} on entry): the new descriptor, or -1 with errno.
     */
    public static int accept4(MemorySegment state, int fd, long addr, long lenp) {
        try {
            return (int) ACCEPT4.invokeExact(state, fd, addr, lenp, SOCK_NONBLOCK | SOCK_CLOEXEC);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** getsockname(fd, addr, lenp): 0, or -1 with errno. */
    public static int getsockname(MemorySegment state, int fd, long addr, long lenp) {
        try {
            return (int) GETSOCKNAME.invokeExact(state, fd, addr, lenp);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** getpeername(fd, addr, lenp): 0, or -1 with errno. */
    public static int getpeername(MemorySegment state, int fd, long addr, long lenp) {
        try {
            return (int) GETPEERNAME.invokeExact(state, fd, addr, lenp);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** close(fd): 0, or -1 with errno. */
    public static int close(MemorySegment state, int fd) {
        try {
            return (int) CLOSE.invokeExact(state, fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** pipe2(fds, flags) with {@code fds} the native address of two ints (read end, write end): 0, or -1 with errno. */
    public static int pipe2(MemorySegment state, long fds, int flags) {
        try {
            return (int) PIPE2.invokeExact(state, fds, flags);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * splice(in, NULL, out, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK): bytes moved, 0 at the
     * end of the input, or -1 with errno (EAGAIN: nothing to move now).
     */
    public static long splice(MemorySegment state, int in, int out, long len) {
        try {
            return (long) SPLICE.invokeExact(state, in, 0L, out, 0L, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** epoll_ctl(epfd, op, fd, event) with {@code event} the native address of a struct epoll_event (or 0): 0, or -1 with errno. */
    public static int epollCtl(MemorySegment state, int epfd, int op, int fd, long event) {
        try {
            return (int) EPOLL_CTL.invokeExact(state, epfd, op, fd, event);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * The address in the {@code sockaddr_in} or {@code sockaddr_in6} at {@code at}, or null for
     * another family. An IPv4-mapped IPv6 address comes back as an IPv4 address.
     */
    public static java.net.InetSocketAddress readSockaddr(MemorySegment at) {
        return readSockaddr(at, 0);
    }

    /**
     * {@link #readSockaddr(MemorySegment)} of the sockaddr at {@code offset} of {@code in}: a
     * received datagram's source read in place, with no slice object per datagram.
     */
    public static java.net.InetSocketAddress readSockaddr(MemorySegment in, long offset) {
        int family = in.get(ValueLayout.JAVA_SHORT, offset);
        int port = (Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, offset + 2)) << 8)
                | Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, offset + 3));
        try {
            if (family == AF_INET) {
                byte[] ip = new byte[4];
                MemorySegment.copy(in, ValueLayout.JAVA_BYTE, offset + 4, ip, 0, 4);
                return new java.net.InetSocketAddress(java.net.InetAddress.getByAddress(ip), port);
            }
            if (family == AF_INET6) {
                byte[] ip = new byte[16];
                MemorySegment.copy(in, ValueLayout.JAVA_BYTE, offset + 8, ip, 0, 16);
                int scope = in.get(JAVA_INT, offset + 24);
                // getByAddress turns an IPv4-mapped address into an Inet4Address.
                java.net.InetAddress a = scope == 0 ? java.net.InetAddress.getByAddress(ip)
                        : java.net.Inet6Address.getByAddress(null, ip, scope);
                return new java.net.InetSocketAddress(a, port);
            }
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException("address of a valid length rejected", e);
        }
        return null;
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
