package io.tandem.ha;

import static io.tandem.sys.Syscalls.AF_NETLINK;
import static io.tandem.sys.Syscalls.SOCK_CLOEXEC;
import static io.tandem.sys.Syscalls.SOCK_RAW;
import static io.tandem.sys.Syscalls.SOL_SOCKET;
import static io.tandem.sys.Syscalls.SO_RCVTIMEO;

import io.tandem.sys.Syscalls;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Adds and deletes elements of nftables sets with one {@code nfnetlink} batch (one transaction:
 * all of it applies or none) on an {@code AF_NETLINK}/{@code NETLINK_NETFILTER} socket (FFM), as
 * {@code nft add element …; delete element …} does after it has been spawned. The fence renews
 * its sets every heartbeat: a spawned {@code nft} costs milliseconds of CPU, this costs tens of
 * microseconds. The kernel processes the batch inside the {@code sendto}, so an element's
 * timeout counts from the call, which is what {@link KernelFence} relies on.
 *
 * <p>Wire format: {@code include/uapi/linux/netfilter/nf_tables.h} and {@code nfnetlink.h}
 * (as libnftnl encodes them): a batch is {@code NFNL_MSG_BATCH_BEGIN}, the messages, then
 * {@code NFNL_MSG_BATCH_END}; each message is an {@code nlmsghdr}, an {@code nfgenmsg} and
 * attributes; set element timeouts are big-endian milliseconds. Not thread-safe: one owner.
 */
final class NftSetElements implements AutoCloseable {
    static final byte NFPROTO_INET = 1;
    static final byte NFPROTO_ARP = 3;
    private static final int NETLINK_NETFILTER = 12;
    private static final short NFNL_MSG_BATCH_BEGIN = 0x10;
    private static final short NFNL_MSG_BATCH_END = 0x11;
    private static final int NFNL_SUBSYS_NFTABLES = 10;
    private static final short NFT_MSG_NEWSETELEM = (short) ((NFNL_SUBSYS_NFTABLES << 8) | 12);
    private static final short NFT_MSG_DELSETELEM = (short) ((NFNL_SUBSYS_NFTABLES << 8) | 14);
    private static final short NLMSG_ERROR = 2;
    private static final short NLM_F_REQUEST = 0x1;
    private static final short NLM_F_ACK = 0x4;
    private static final short NLM_F_CREATE = 0x400;
    private static final short NLA_F_NESTED = (short) 0x8000;
    private static final short NFTA_SET_ELEM_LIST_TABLE = 1;
    private static final short NFTA_SET_ELEM_LIST_SET = 2;
    private static final short NFTA_SET_ELEM_LIST_ELEMENTS = 3;
    private static final short NFTA_LIST_ELEM = 1;
    private static final short NFTA_SET_ELEM_KEY = 1;
    private static final short NFTA_SET_ELEM_TIMEOUT = 4;
    private static final short NFTA_SET_ELEM_FLAGS = 3;
    private static final int NFT_SET_ELEM_INTERVAL_END = 1;
    private static final short NFTA_DATA_VALUE = 1;
    private static final int SOCKADDR_NL_SIZE = 12;
    private static final int REPLY_BYTES = 16 * 1024;

    /**
     * One message of a batch: add ({@code timeoutMs} ≥ 1, or 0 for none) or delete {@code keys} of
     * one set; a delete with no keys flushes the set. {@code intervalEnds}, when not empty, marks
     * index for index the keys that close an interval (an interval set holds a range as its first
     * key and, flagged {@code NFT_SET_ELEM_INTERVAL_END}, the key one past its last).
     */
    record Op(boolean add, byte family, String table, String set, List<byte[]> keys, List<Boolean> intervalEnds,
            long timeoutMs) {
        Op {
            keys = List.copyOf(keys);
            intervalEnds = List.copyOf(intervalEnds);
            if (!intervalEnds.isEmpty() && intervalEnds.size() != keys.size()) {
                throw new IllegalArgumentException("intervalEnds: " + intervalEnds.size() + " (expected one per key: "
                        + keys.size() + ")");
            }
            if (add && keys.isEmpty()) {
                throw new IllegalArgumentException("keys: none (an add needs at least one element)");
            }
        }

        Op(boolean add, byte family, String table, String set, List<byte[]> keys, long timeoutMs) {
            this(add, family, table, set, keys, List.of(), timeoutMs);
        }

        /** Deletes every element of {@code set} (in the same transaction as what follows it). */
        static Op flush(byte family, String table, String set) {
            return new Op(false, family, table, set, List.of(), List.of(), 0);
        }

        boolean isFlush() {
            return !add && keys.isEmpty();
        }
    }

    /** The kernel refused the batch (nothing of it applied). */
    static final class Refused extends IOException {
        final int errno;

        Refused(String what, int errno) {
            super(what + ": kernel answered errno " + errno);
            this.errno = errno;
        }
    }

    private final Arena arena = Arena.ofShared();
    private final MemorySegment state = Syscalls.newErrnoBuffer(arena);
    private final MemorySegment kernel;
    private final MemorySegment reply;
    private final int fd;
    private int seq = 1;

    private NftSetElements(int fd) {
        this.fd = fd;
        this.kernel = arena.allocate(SOCKADDR_NL_SIZE, 4); // zeroed: pid 0 = the kernel, no groups
        kernel.set(ValueLayout.JAVA_SHORT, 0, (short) AF_NETLINK);
        this.reply = arena.allocate(REPLY_BYTES, 8);
    }

    /** Opens the netlink socket (needs CAP_NET_ADMIN for the requests, not for the socket). */
    static NftSetElements open() throws IOException {
        if (!Syscalls.AVAILABLE) {
            throw new IOException("nfnetlink: libc calls through FFM unavailable (expected Linux and native access)");
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = Syscalls.newErrnoBuffer(a);
            int fd = Syscalls.socket(st, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
            if (fd < 0) {
                throw new IOException("socket(AF_NETLINK, NETLINK_NETFILTER): errno " + Syscalls.errno(st));
            }
            MemorySegment tv = a.allocate(16, 8); // a stuck kernel must not hang the control thread
            tv.set(ValueLayout.JAVA_LONG, 0, 1L);
            Syscalls.setsockopt(st, fd, SOL_SOCKET, SO_RCVTIMEO, tv.address(), 16);
            return new NftSetElements(fd);
        } catch (IllegalStateException e) {
            throw new IOException("nfnetlink socket via FFM failed", e);
        }
    }

    /** Applies {@code ops} as one transaction and waits for the kernel's answer to each. */
    synchronized void apply(List<Op> ops) throws IOException {
        if (ops.isEmpty()) {
            return;
        }
        int first = seq;
        byte[] msg = batch(first, ops);
        seq += ops.size() + 2;
        MemorySegment buf = arena.allocate(msg.length, 8);
        MemorySegment.copy(msg, 0, buf, ValueLayout.JAVA_BYTE, 0, msg.length);
        long sent = Syscalls.sendto(state, fd, buf.address(), msg.length, 0, kernel.address(), SOCKADDR_NL_SIZE);
        if (sent != msg.length) {
            throw new IOException("nfnetlink batch: sendto returned " + sent + " errno " + Syscalls.errno(state));
        }
        int acked = 0;
        IOException refused = null;
        while (acked < ops.size()) {
            long n = Syscalls.recvWaiting(state, fd, reply.address(), REPLY_BYTES, 0);
            if (n < 20) {
                throw new IOException("nfnetlink batch: no answer (recv " + n + " errno " + Syscalls.errno(state)
                        + ", " + acked + " of " + ops.size() + " answered)");
            }
            for (int at = 0; at + 20 <= n; ) {
                int len = reply.get(ValueLayout.JAVA_INT, at);
                short type = reply.get(ValueLayout.JAVA_SHORT, at + 4);
                int replySeq = reply.get(ValueLayout.JAVA_INT, at + 8);
                if (len < 16 || at + len > n) {
                    break;
                }
                if (type == NLMSG_ERROR && replySeq >= first && replySeq < seq) {
                    acked++;
                    int error = reply.get(ValueLayout.JAVA_INT, at + 16);
                    if (error != 0 && refused == null) {
                        Op op = replySeq - first - 1 >= 0 && replySeq - first - 1 < ops.size()
                                ? ops.get(replySeq - first - 1) : null;
                        refused = new Refused("nfnetlink " + (op == null ? "batch" : describe(op)), -error);
                    }
                }
                at += (len + 3) & ~3;
            }
            if (refused != null) {
                // An aborted batch answers the failing message (and maybe not the others): stop
                // here; answers still queued carry this batch's sequence numbers, which the next
                // batch skips.
                throw refused;
            }
        }
    }

    private static String describe(Op op) {
        return (op.add() ? "add element " : "delete element ") + (op.family() == NFPROTO_ARP ? "arp " : "inet ")
                + op.table() + " " + op.set();
    }

    /** The batch bytes (package-private for the unit test of the encoding). */
    static byte[] batch(int firstSeq, List<Op> ops) {
        int size = 2 * 20;
        for (Op op : ops) {
            size += messageSize(op);
        }
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.nativeOrder());
        control(b, NFNL_MSG_BATCH_BEGIN, firstSeq);
        int s = firstSeq + 1;
        for (Op op : ops) {
            int start = b.position();
            b.putInt(messageSize(op))
                    .putShort(op.add() ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM)
                    .putShort((short) (NLM_F_REQUEST | NLM_F_ACK | (op.add() ? NLM_F_CREATE : 0)))
                    .putInt(s++).putInt(0);
            b.put(op.family()).put((byte) 0).putShort((short) 0); // nfgenmsg: family, NFNETLINK_V0, res_id
            string(b, NFTA_SET_ELEM_LIST_TABLE, op.table());
            string(b, NFTA_SET_ELEM_LIST_SET, op.set());
            if (!op.isFlush()) { // no element list at all: the kernel flushes the set
                int elements = b.position();
                b.putShort((short) 0).putShort((short) (NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED));
                for (int i = 0; i < op.keys().size(); i++) {
                    int elem = b.position();
                    b.putShort((short) 0).putShort((short) (NFTA_LIST_ELEM | NLA_F_NESTED));
                    value(b, NFTA_SET_ELEM_KEY, op.keys().get(i));
                    if (!op.intervalEnds().isEmpty() && op.intervalEnds().get(i)) {
                        b.putShort((short) 8).putShort(NFTA_SET_ELEM_FLAGS);
                        b.order(ByteOrder.BIG_ENDIAN).putInt(NFT_SET_ELEM_INTERVAL_END).order(ByteOrder.nativeOrder());
                    }
                    if (op.add() && op.timeoutMs() > 0) {
                        b.putShort((short) 12).putShort(NFTA_SET_ELEM_TIMEOUT);
                        b.order(ByteOrder.BIG_ENDIAN).putLong(op.timeoutMs()).order(ByteOrder.nativeOrder());
                    }
                    b.putShort(elem, (short) (b.position() - elem));
                }
                b.putShort(elements, (short) (b.position() - elements));
            }
            if (b.position() - start != messageSize(op)) {
                throw new IllegalStateException("nfnetlink message size " + (b.position() - start) + " != "
                        + messageSize(op));
            }
        }
        control(b, NFNL_MSG_BATCH_END, s);
        return b.array();
    }

    /** A nested {@code NFTA_DATA_VALUE} attribute of type {@code type}. */
    private static void value(ByteBuffer b, short type, byte[] bytes) {
        b.putShort((short) (4 + align4(4 + bytes.length))).putShort((short) (type | NLA_F_NESTED));
        b.putShort((short) (4 + bytes.length)).putShort(NFTA_DATA_VALUE).put(bytes);
        pad(b);
    }

    private static void control(ByteBuffer b, short type, int seq) {
        b.putInt(20).putShort(type).putShort(NLM_F_REQUEST).putInt(seq).putInt(0);
        b.put((byte) 0).put((byte) 0).order(ByteOrder.BIG_ENDIAN).putShort((short) NFNL_SUBSYS_NFTABLES)
                .order(ByteOrder.nativeOrder());
    }

    private static int messageSize(Op op) {
        int size = 16 + 4 + stringAttr(op.table()) + stringAttr(op.set());
        if (op.isFlush()) {
            return size;
        }
        size += 4;
        for (int i = 0; i < op.keys().size(); i++) {
            size += 4 + 4 + align4(4 + op.keys().get(i).length) + (op.add() && op.timeoutMs() > 0 ? 12 : 0);
            if (!op.intervalEnds().isEmpty() && op.intervalEnds().get(i)) {
                size += 8;
            }
        }
        return size;
    }

    private static int stringAttr(String s) {
        return align4(4 + s.getBytes(StandardCharsets.US_ASCII).length + 1);
    }

    private static void string(ByteBuffer b, short type, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
        b.putShort((short) (4 + bytes.length + 1)).putShort(type).put(bytes).put((byte) 0);
        pad(b);
    }

    private static void pad(ByteBuffer b) {
        while ((b.position() & 3) != 0) {
            b.put((byte) 0);
        }
    }

    private static int align4(int n) {
        return (n + 3) & ~3;
    }

    @Override
    public synchronized void close() {
        Syscalls.close(state, fd);
        arena.close();
    }
}
