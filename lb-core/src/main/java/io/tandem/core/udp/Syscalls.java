package io.tandem.core.udp;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The few libc calls of the raw UDP data path, through the FFM API: {@code recvmmsg} and
 * {@code sendmmsg} (many datagrams per system call, into and out of native memory that the
 * listener owns, with no Java object per datagram) and {@code socket} (so a listening socket
 * gets the address family of its bind address). All of them capture {@code errno}.
 *
 * <p>The data-path calls are linked {@linkplain Linker.Option#critical critical}: they run with
 * {@code MSG_DONTWAIT}, never block, never call back, so the thread-state transition of a
 * normal downcall is not needed. Struct layouts are Linux LP64 ({@code struct mmsghdr} = 64
 * bytes); {@link #AVAILABLE} is false elsewhere and the channel path is used.
 */
final class Syscalls {
    private static final Logger log = LoggerFactory.getLogger(Syscalls.class);

    static final int AF_INET = 2;
    static final int AF_INET6 = 10;
    static final int SOCK_DGRAM = 2;
    static final int SOCK_NONBLOCK = 0x800;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int MSG_DONTWAIT = 0x40;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int ECONNREFUSED = 111;

    // struct msghdr / mmsghdr / iovec offsets (Linux, LP64)
    static final int MSG_NAME = 0;
    static final int MSG_NAMELEN = 8;
    static final int MSG_IOV = 16;
    static final int MSG_IOVLEN = 24;
    static final int MSG_FLAGS = 48;
    static final int MMSG_LEN = 56;
    static final int MMSGHDR_SIZE = 64;
    static final int IOV_BASE = 0;
    static final int IOV_LEN = 8;
    static final int IOVEC_SIZE = 16;
    /** sizeof(struct sockaddr_in6), enough for a sockaddr_in too; slots are 32 bytes apart. */
    static final int SOCKADDR_IN6_SIZE = 28;
    static final int SOCKADDR_IN_SIZE = 16;
    static final int SOCKADDR_SLOT = 32;

    static final boolean AVAILABLE;
    private static final StructLayout CAPTURE;
    private static final VarHandle ERRNO;
    private static final MethodHandle RECVMMSG;
    private static final MethodHandle SENDMMSG;
    private static final MethodHandle SOCKET;

    static {
        boolean ok = false;
        StructLayout capture = null;
        VarHandle errno = null;
        MethodHandle recv = null;
        MethodHandle send = null;
        MethodHandle socket = null;
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
    }

    private Syscalls() {
    }

    /** A buffer for the errno of calls made by one thread (or one owner confined to a thread). */
    static MemorySegment newErrnoBuffer(Arena arena) {
        return arena.allocate(CAPTURE);
    }

    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /**
     * recvmmsg(fd, msgs, n, flags, NULL) with {@code msgs} the native address of an mmsghdr array
     * (pointers are passed as longs: no segment object per call): datagrams received, or -1 with
     * errno in {@code state}.
     */
    static int recvmmsg(MemorySegment state, int fd, long msgs, int n, int flags) {
        try {
            return (int) RECVMMSG.invokeExact(state, fd, msgs, n, flags, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** sendmmsg(fd, msgs, n, flags): datagrams sent, or -1 with errno in {@code state}. */
    static int sendmmsg(MemorySegment state, int fd, long msgs, int n, int flags) {
        try {
            return (int) SENDMMSG.invokeExact(state, fd, msgs, n, flags);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A non-blocking, close-on-exec datagram socket of {@code family}, or -1 with errno in {@code state}. */
    static int socketDgram(MemorySegment state, int family) {
        try {
            return (int) SOCKET.invokeExact(state, family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

}
