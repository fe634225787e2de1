package io.tandem.ha;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The self-fence with nftables: two tables named {@code tandem_fence_<node>}, one {@code inet}
 * (an input-hook rule dropping packets to a managed address that is not in the {@code held4} /
 * {@code held6} set and that a local socket would take: {@code socket transparent 0} matches only
 * when the kernel finds one, so once the process is dead — its sockets gone — its kernel refuses
 * connections with a reset as it did without a fence, and clients fail over at once instead of
 * waiting for a SYN retransmission; a frozen or starved process still has its sockets, and those
 * packets are dropped) and one {@code arp} (dropping ARP requests for a managed IPv4 address not
 * in its {@code held4} set, so a fenced host does not pull neighbours back either). The held
 * sets have {@code flags timeout}: each element disappears by itself when its timeout runs out,
 * with millisecond resolution (the kernel's jiffies: 4 ms at HZ=250), checked on every lookup.
 *
 * <p>The tables are created once with the {@code nft} command (Debian {@code nftables}) at
 * start and deleted at a clean stop; renewals are nfnetlink batches ({@link NftSetElements}).
 * A renewal is add + delete + add in one transaction: re-adding an element that exists does not
 * refresh its timeout on every kernel (checked on 6.18 with nft 1.0.6), and deleting an absent
 * one would abort the batch. Needs CAP_NET_ADMIN, like the addresses themselves.
 *
 * <p>For IPv6 the neighbour solicitations for a managed address not in {@code ndheld} are
 * dropped too: nft has no named match for the solicited target, so the rule reads it as the raw
 * 128 bits at offset 64 of the ICMPv6 header ({@code @th,64,128}) and the sets are typed so.
 *
 * <p><b>The absolute deadline.</b> A timeout counts from the moment the kernel processes the
 * renewal, not from the moment the deadline was computed: a thread descheduled between the two
 * (a starved cgroup, a stop-the-world pause) would stretch every element by the delay — the
 * starvation overlaps of issue #19. So every managed address also has an interval set of its own
 * ({@code until<i>}, {@code typeof meta time}: {@code meta time} is the kernel's
 * {@code CLOCK_REALTIME} in nanoseconds, compared big-endian after the byteorder conversion nft
 * inserts) holding one range, from 0 to the deadline itself, however late the call arrives; a
 * verdict map sends the address's packets (its solicitations, its ARP requests) to a chain that
 * drops them outside that range. Both checks must let a packet in: the timeout set stays as the
 * guard against a wall clock stepped backwards (which would stretch an absolute range), the range
 * guards against the late call. A range cannot be refreshed in place (an overlapping one is
 * refused), so a renewal flushes the address's set and adds the new range in the same
 * transaction. One set per address, not one set keyed on {@code meta time . address}: that
 * needs the concatenated-range backend (pipapo), whose every update rebuilds its lookup tables —
 * 1.8–3.6 ms per renewal measured, against tens of µs for a per-address range.
 */
public final class NftFence implements KernelFence {
    private static final long COMMAND_TIMEOUT_MS = 5_000;
    private static final String INET_V4 = "held4";
    private static final String INET_V6 = "held6";
    /** Solicited targets of neighbour solicitations: typed as the raw payload the rule matches. */
    private static final String ND_HELD = "ndheld";
    /** The absolute deadline of managed address {@code i}: {@code until<i>} (see the class comment). */
    private static final String UNTIL = "until";

    private final String table;
    private final List<String> commandPrefix;
    private final NftSetElements elements;
    private volatile boolean installed;
    /** Managed address (canonical literal) → the index of its {@code until<i>} set, since install. */
    private final java.util.Map<String, Integer> index = new java.util.HashMap<>();

    private NftFence(String table, List<String> commandPrefix, NftSetElements elements) {
        this.table = table;
        this.commandPrefix = List.copyOf(commandPrefix);
        this.elements = elements;
    }

    /** A fence for node {@code nodeId} in this process's network namespace (not installed yet). */
    public static NftFence forNode(String nodeId) throws IOException {
        return new NftFence(tableName(nodeId), List.of(), NftSetElements.open());
    }

    /**
     * A fence whose netlink socket was opened in another namespace (by a thread that entered it)
     * and whose {@code nft} commands run with {@code commandPrefix} (e.g. {@code ip netns exec NS}):
     * tests.
     */
    static NftFence inNamespace(String nodeId, List<String> commandPrefix, NftSetElements elements) {
        return new NftFence(tableName(nodeId), commandPrefix, elements);
    }

    /**
     * Tests: a fence that takes {@code managed} as installed (by someone else) without touching
     * the kernel, so its renewals reach the kernel as they are, whatever tables exist there.
     */
    static NftFence assumingInstalled(String nodeId, List<String> commandPrefix, NftSetElements elements,
            Collection<String> managed) {
        NftFence f = new NftFence(tableName(nodeId), commandPrefix, elements);
        int i = 0;
        for (String a : managed) {
            f.index.put(canonical(a), i++);
        }
        return f;
    }

    /** {@code tandem_fence_} + the node id with every character nft names cannot hold replaced. */
    static String tableName(String nodeId) {
        StringBuilder b = new StringBuilder("tandem_fence_");
        for (char c : nodeId.toCharArray()) {
            b.append(c < 128 && (Character.isLetterOrDigit(c) || c == '_') ? c : '_');
            if (b.length() >= 64) {
                b.append('_').append(Integer.toHexString(nodeId.hashCode()));
                break;
            }
        }
        return b.toString();
    }

    @Override
    public synchronized void install(Collection<String> managed) throws IOException {
        index.clear();
        String script = script(table, managed);
        List<String> cmd = new ArrayList<>(commandPrefix);
        cmd.addAll(List.of("nft", "-f", "-"));
        run(cmd, script);
        int i = 0;
        for (String a : managed) {
            index.put(canonical(a), i++);
        }
        installed = true;
    }

    /** The ruleset: any old tables of this name are replaced in the same transaction. */
    static String script(String table, Collection<String> managed) {
        List<String> v4 = new ArrayList<>();
        List<String> v6 = new ArrayList<>();
        StringBuilder inetUntil = new StringBuilder();
        StringBuilder arpUntil = new StringBuilder();
        List<String> map4 = new ArrayList<>();
        List<String> map6 = new ArrayList<>();
        List<String> mapNd = new ArrayList<>();
        int i = 0;
        for (String a : managed) {
            String addr = canonical(a);
            String set = UNTIL + i;
            inetUntil.append("  set ").append(set).append(" { typeof meta time; flags interval; }\n")
                    .append("  chain a").append(i).append(" { meta time != @").append(set)
                    .append(" socket transparent 0 drop; }\n");
            if (isV4(addr)) {
                v4.add(addr);
                map4.add(addr + " : jump a" + i);
                arpUntil.append("  set ").append(set).append(" { typeof meta time; flags interval; }\n")
                        .append("  chain a").append(i).append(" { meta time != @").append(set).append(" drop; }\n");
            } else {
                v6.add(addr);
                map6.add(addr + " : jump a" + i);
                mapNd.add(ndHex(addr) + " : jump n" + i);
                inetUntil.append("  chain n").append(i).append(" { meta time != @").append(set).append(" drop; }\n");
            }
            i++;
        }
        String e4 = v4.isEmpty() ? "" : " elements = { " + String.join(", ", v4) + " };";
        String e6 = v6.isEmpty() ? "" : " elements = { " + String.join(", ", v6) + " };";
        List<String> nd = new ArrayList<>();
        for (String a : v6) {
            nd.add(ndHex(a));
        }
        String eNd = nd.isEmpty() ? "" : " elements = { " + String.join(", ", nd) + " };";
        return "table inet " + table + "\n"
                + "delete table inet " + table + "\n"
                + "table inet " + table + " {\n"
                + "  set vips4 { type ipv4_addr;" + e4 + " }\n"
                + "  set vips6 { type ipv6_addr;" + e6 + " }\n"
                + "  set " + INET_V4 + " { type ipv4_addr; flags timeout; }\n"
                + "  set " + INET_V6 + " { type ipv6_addr; flags timeout; }\n"
                + "  set ndvips { typeof @th,64,128;" + eNd + " }\n"
                + "  set " + ND_HELD + " { typeof @th,64,128; flags timeout; }\n"
                + inetUntil
                + "  chain in {\n"
                + "    type filter hook input priority filter - 10; policy accept;\n"
                + "    ip daddr @vips4 ip daddr != @" + INET_V4 + " socket transparent 0 drop\n"
                + "    ip6 daddr @vips6 ip6 daddr != @" + INET_V6 + " socket transparent 0 drop\n"
                + "    icmpv6 type nd-neighbor-solicit @th,64,128 @ndvips @th,64,128 != @" + ND_HELD + " drop\n"
                + (map4.isEmpty() ? "" : "    ip daddr vmap { " + String.join(", ", map4) + " }\n")
                + (map6.isEmpty() ? "" : "    ip6 daddr vmap { " + String.join(", ", map6) + " }\n")
                + (mapNd.isEmpty() ? "" : "    icmpv6 type nd-neighbor-solicit @th,64,128 vmap { "
                        + String.join(", ", mapNd) + " }\n")
                + "  }\n"
                + "}\n"
                + "table arp " + table + "\n"
                + "delete table arp " + table + "\n"
                + "table arp " + table + " {\n"
                + "  set vips4 { type ipv4_addr;" + e4 + " }\n"
                + "  set " + INET_V4 + " { type ipv4_addr; flags timeout; }\n"
                + arpUntil
                + "  chain in {\n"
                + "    type filter hook input priority filter - 10; policy accept;\n"
                + "    arp operation request arp daddr ip @vips4 arp daddr ip != @" + INET_V4 + " drop\n"
                + (map4.isEmpty() ? "" : "    arp operation request arp daddr ip vmap { " + String.join(", ", map4)
                        + " }\n")
                + "  }\n"
                + "}\n";
    }

    private static String ndHex(String address) {
        return "0x" + java.util.HexFormat.of().formatHex(InetAddress.ofLiteral(address).getAddress());
    }

    private static String canonical(String address) {
        return InetAddress.ofLiteral(address).getHostAddress();
    }

    @Override
    public void renew(Collection<String> addresses, long untilNanos) throws IOException {
        renew(addresses, untilNanos, System.nanoTime());
    }

    /**
     * {@link #renew(Collection, long)} as computed at {@code computedAtNanos} (the monotonic
     * clock): the timeout is what is left from then, the absolute end is the wall-clock instant of
     * {@code untilNanos}. Package-private so a test can play a call that reaches the kernel later
     * than it was computed.
     */
    synchronized void renew(Collection<String> addresses, long untilNanos, long computedAtNanos) throws IOException {
        if (addresses.isEmpty()) {
            return;
        }
        long validMs = (untilNanos - computedAtNanos) / 1_000_000;
        if (validMs < 1) {
            throw new IllegalArgumentException("untilNanos: " + (untilNanos - computedAtNanos)
                    + " ns from now (expected at least 1 ms ahead)");
        }
        long wallUntil = wallNanos() - (System.nanoTime() - computedAtNanos) + (untilNanos - computedAtNanos);
        List<byte[]> v4 = new ArrayList<>();
        List<byte[]> v6 = new ArrayList<>();
        split(addresses, v4, v6);
        List<NftSetElements.Op> ops = new ArrayList<>(12 + 4 * addresses.size());
        refresh(ops, NftSetElements.NFPROTO_INET, INET_V4, v4, validMs);
        refresh(ops, NftSetElements.NFPROTO_ARP, INET_V4, v4, validMs);
        refresh(ops, NftSetElements.NFPROTO_INET, INET_V6, v6, validMs);
        refresh(ops, NftSetElements.NFPROTO_INET, ND_HELD, v6, validMs);
        for (String a : addresses) {
            until(ops, a, wallUntil);
        }
        elements.apply(ops);
    }

    private void refresh(List<NftSetElements.Op> ops, byte family, String set, List<byte[]> keys, long validMs) {
        if (keys.isEmpty()) {
            return;
        }
        ops.add(new NftSetElements.Op(true, family, table, set, keys, validMs));
        ops.add(new NftSetElements.Op(false, family, table, set, keys, 0));
        ops.add(new NftSetElements.Op(true, family, table, set, keys, validMs));
    }

    /**
     * Replaces the range of {@code address}'s {@code until<i>} set (both tables for IPv4) by
     * 0 … {@code wallUntil} ({@code wallUntil} < 0: empties it, a revoke). Keys are the big-endian
     * nanosecond count the rule's lookup builds; an interval is its first key and, flagged as its
     * end, the key one past its last.
     */
    private void until(List<NftSetElements.Op> ops, String address, long wallUntil) {
        Integer i = index.get(canonical(address));
        if (i == null) {
            throw new IllegalArgumentException("address: " + address + " (expected one of the addresses the fence "
                    + "was installed for: " + index.keySet() + ")");
        }
        String set = UNTIL + i;
        byte[] from = new byte[8];
        byte[] past = java.nio.ByteBuffer.allocate(8).putLong(wallUntil + 1).array();
        for (byte family : isV4(address) ? new byte[] {NftSetElements.NFPROTO_INET, NftSetElements.NFPROTO_ARP}
                : new byte[] {NftSetElements.NFPROTO_INET}) {
            ops.add(NftSetElements.Op.flush(family, table, set));
            if (wallUntil >= 0) {
                ops.add(new NftSetElements.Op(true, family, table, set, List.of(from, past), List.of(false, true), 0));
            }
        }
    }

    /** The kernel's {@code meta time} clock: CLOCK_REALTIME in nanoseconds. */
    private static long wallNanos() {
        java.time.Instant now = java.time.Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    @Override
    public synchronized void revoke(String address) throws IOException {
        List<byte[]> v4 = new ArrayList<>();
        List<byte[]> v6 = new ArrayList<>();
        split(List.of(address), v4, v6);
        List<NftSetElements.Op> ops = new ArrayList<>(12);
        // add (a no-op when present) then delete: one transaction whether or not it was there.
        for (byte family : v4.isEmpty() ? new byte[0] : new byte[] {NftSetElements.NFPROTO_INET,
                NftSetElements.NFPROTO_ARP}) {
            ops.add(new NftSetElements.Op(true, family, table, INET_V4, v4, 1));
            ops.add(new NftSetElements.Op(false, family, table, INET_V4, v4, 0));
        }
        for (String set : v6.isEmpty() ? new String[0] : new String[] {INET_V6, ND_HELD}) {
            ops.add(new NftSetElements.Op(true, NftSetElements.NFPROTO_INET, table, set, v6, 1));
            ops.add(new NftSetElements.Op(false, NftSetElements.NFPROTO_INET, table, set, v6, 0));
        }
        until(ops, address, -1);
        elements.apply(ops);
    }

    @Override
    public synchronized void close() {
        try {
            if (installed) {
                List<String> cmd = new ArrayList<>(commandPrefix);
                cmd.addAll(List.of("nft", "-f", "-"));
                run(cmd, "delete table inet " + table + "\ndelete table arp " + table + "\n");
            }
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(NftFence.class).warn("self-fence removal failed table={} error=\"{}\"",
                    table, e.toString());
        } finally {
            installed = false;
            index.clear();
            elements.close();
        }
    }

    @Override
    public boolean active() {
        return installed;
    }

    @Override
    public String describe() {
        return "nftables inet/arp " + table;
    }

    private static void split(Collection<String> addresses, List<byte[]> v4, List<byte[]> v6) {
        for (String a : addresses) {
            byte[] bytes = InetAddress.ofLiteral(a).getAddress();
            (bytes.length == 4 ? v4 : v6).add(bytes);
        }
    }

    private static boolean isV4(String address) {
        return InetAddress.ofLiteral(address) instanceof Inet4Address;
    }

    private static void run(List<String> cmd, String stdin) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException(String.join(" ", cmd) + ": cannot run (" + e.getMessage()
                    + "; the self-fence needs the nft command, Debian package nftables)", e);
        }
        try {
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.US_ASCII));
            }
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(COMMAND_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": timed out after " + COMMAND_TIMEOUT_MS + "ms");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + ": exit " + p.exitValue() + " "
                        + new String(out, StandardCharsets.UTF_8).trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + ": interrupted", e);
        }
    }
}
