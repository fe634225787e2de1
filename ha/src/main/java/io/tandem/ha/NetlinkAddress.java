package io.tandem.ha;

import static io.tandem.sys.Syscalls.AF_INET;
import static io.tandem.sys.Syscalls.AF_INET6;
import static io.tandem.sys.Syscalls.AF_NETLINK;
import static io.tandem.sys.Syscalls.SOCK_CLOEXEC;
import static io.tandem.sys.Syscalls.SOCK_RAW;
import static io.tandem.sys.Syscalls.SOL_SOCKET;
import static io.tandem.sys.Syscalls.SO_RCVTIMEO;

import io.tandem.sys.Errno;
import io.tandem.sys.Syscalls;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Adds and removes an interface address with one {@code RTM_NEWADDR}/{@code RTM_DELADDR}
 * request on an {@code AF_NETLINK} socket (FFM, no JNI), which is what {@code ip addr add}
 * does after it has been spawned. Spawning {@code ip} from a JVM costs milliseconds to tens of
 * milliseconds on a loaded host, and the takeover waits for it; the netlink call costs
 * microseconds. Needs CAP_NET_ADMIN. Linux only (libc through {@link Syscalls});
 * {@link IpAddressManager} falls back to {@code ip} when this fails for any reason other than
 * the kernel refusing the request.
 */
final class NetlinkAddress {
    private static final int NETLINK_ROUTE = 0;
    private static final short RTM_NEWADDR = 20;
    private static final short RTM_DELADDR = 21;
    private static final short NLMSG_ERROR = 2;
    private static final short NLM_F_REQUEST = 0x1;
    private static final short NLM_F_ACK = 0x4;
    private static final short NLM_F_EXCL = 0x200;
    private static final short NLM_F_CREATE = 0x400;
    private static final short IFA_ADDRESS = 1;
    private static final short IFA_LOCAL = 2;
    private static final short IFA_CACHEINFO = 6;
    private static final short NLM_F_REPLACE = 0x100;
    private static final byte IFA_F_NODAD = 0x02;
    private static final int SOCKADDR_NL_SIZE = 12;

    /** The kernel answered the request with an error (as opposed to netlink itself being unusable). */
    static final class KernelError extends IOException {
        final int errno;

        KernelError(String what, int errno) {
            super(what + ": kernel answered errno " + errno);
            this.errno = errno;
        }
    }

    private NetlinkAddress() {
    }

    static void add(String iface, String address) throws IOException {
        request(RTM_NEWADDR, (short) (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), iface, address, 0);
    }

    /**
     * Adds the address, or renews it if present, with a valid (and preferred) lifetime of
     * {@code seconds}: the kernel deletes it when that runs out without a renewal.
     */
    static void addWithLifetime(String iface, String address, int seconds) throws IOException {
        if (seconds <= 0) {
            throw new IllegalArgumentException("seconds: " + seconds + " (expected > 0)");
        }
        request(RTM_NEWADDR, (short) (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE), iface, address,
                seconds);
    }

    static void remove(String iface, String address) throws IOException {
        request(RTM_DELADDR, (short) (NLM_F_REQUEST | NLM_F_ACK), iface, address, 0);
    }

    /**
     * The request bytes: nlmsghdr, ifaddrmsg, then IFA_LOCAL and IFA_ADDRESS (both the address,
     * as {@code ip addr add A/32} sends them) and, with a lifetime, IFA_CACHEINFO (preferred and
     * valid seconds), host byte order as netlink wants.
     */
    static byte[] message(short type, short flags, int seq, int ifindex, byte[] addr, int lifetimeSeconds) {
        boolean v6 = addr.length == 16;
        int attr = align4(4 + addr.length);
        int len = 16 + 8 + 2 * attr + (lifetimeSeconds > 0 ? 20 : 0);
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.nativeOrder());
        b.putInt(len).putShort(type).putShort(flags).putInt(seq).putInt(0);
        b.put((byte) (v6 ? AF_INET6 : AF_INET)).put((byte) (addr.length * 8))
                .put(v6 ? IFA_F_NODAD : 0).put((byte) 0 /* RT_SCOPE_UNIVERSE */).putInt(ifindex);
        for (short t : new short[] {IFA_LOCAL, IFA_ADDRESS}) {
            b.putShort((short) (4 + addr.length)).putShort(t).put(addr);
            b.position(b.position() + attr - 4 - addr.length);
        }
        if (lifetimeSeconds > 0) {
            b.putShort((short) 20).putShort(IFA_CACHEINFO).putInt(lifetimeSeconds).putInt(lifetimeSeconds)
                    .putInt(0).putInt(0);
        }
        return b.array();
    }

    private static int align4(int n) {
        return (n + 3) & ~3;
    }

    private static void request(short type, short flags, String iface, String address, int lifetimeSeconds)
            throws IOException {
        InetAddress a = InetAddress.ofLiteral(address);
        String what = (type == RTM_NEWADDR ? "RTM_NEWADDR " : "RTM_DELADDR ") + address + (a instanceof Inet4Address
                ? "/32" : "/128") + " dev " + iface;
        int ifindex;
        try {
            ifindex = GratuitousArp.ifindex(iface);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new KernelError(what + " (no such interface)", Errno.ENODEV);
        }
        byte[] msg = message(type, flags, 1, ifindex, a.getAddress(), lifetimeSeconds);
        if (!Syscalls.AVAILABLE) {
            throw new IOException(what + ": libc calls through FFM unavailable (expected Linux and native access)");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newErrnoBuffer(arena);
            int fd = Syscalls.socket(state, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
            if (fd < 0) {
                throw new IOException("socket(AF_NETLINK): errno " + Syscalls.errno(state));
            }
            try {
                MemorySegment tv = arena.allocate(16, 8); // struct timeval: a stuck kernel must not hang the takeover
                tv.set(ValueLayout.JAVA_LONG, 0, 2L);
                Syscalls.setsockopt(state, fd, SOL_SOCKET, SO_RCVTIMEO, tv.address(), 16);
                MemorySegment nl = arena.allocate(SOCKADDR_NL_SIZE, 4); // zeroed: pid 0 = the kernel, no groups
                nl.set(ValueLayout.JAVA_SHORT, 0, (short) AF_NETLINK);
                MemorySegment buf = arena.allocateFrom(ValueLayout.JAVA_BYTE, msg);
                long sent = Syscalls.sendto(state, fd, buf.address(), msg.length, 0, nl.address(), SOCKADDR_NL_SIZE);
                if (sent != msg.length) {
                    throw new IOException(what + ": sendto returned " + sent + " errno " + Syscalls.errno(state));
                }
                MemorySegment reply = arena.allocate(4096, 8);
                long n = Syscalls.recvWaiting(state, fd, reply.address(), 4096L, 0);
                if (n < 20) {
                    throw new IOException(what + ": no acknowledgement (recv " + n + " errno "
                            + Syscalls.errno(state) + ")");
                }
                short replyType = reply.get(ValueLayout.JAVA_SHORT, 4);
                if (replyType != NLMSG_ERROR) {
                    throw new IOException(what + ": unexpected reply type " + replyType + " (expected NLMSG_ERROR)");
                }
                int error = reply.get(ValueLayout.JAVA_INT, 16);
                if (error != 0) {
                    throw new KernelError(what, -error);
                }
            } finally {
                Syscalls.close(state, fd);
            }
        } catch (IllegalStateException e) { // a call that could not be made at all
            throw new IOException(what + " via FFM failed", e);
        }
    }
}
