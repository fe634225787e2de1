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
 * {@code held6} set) and one {@code arp} (dropping ARP requests for a managed IPv4 address not
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
 * <p>Neighbour solicitations for IPv6 addresses are not filtered (no nft match on the target
 * address): a fenced IPv6 address drops packets but may still be solicited (docs/ha.md).
 */
public final class NftFence implements KernelFence {
    private static final long COMMAND_TIMEOUT_MS = 5_000;
    private static final String INET_V4 = "held4";
    private static final String INET_V6 = "held6";

    private final String table;
    private final List<String> commandPrefix;
    private final NftSetElements elements;
    private volatile boolean installed;

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
    public void install(Collection<String> managed) throws IOException {
        String script = script(table, managed);
        List<String> cmd = new ArrayList<>(commandPrefix);
        cmd.addAll(List.of("nft", "-f", "-"));
        run(cmd, script);
        installed = true;
    }

    /** The ruleset: any old tables of this name are replaced in the same transaction. */
    static String script(String table, Collection<String> managed) {
        List<String> v4 = new ArrayList<>();
        List<String> v6 = new ArrayList<>();
        for (String a : managed) {
            (isV4(a) ? v4 : v6).add(InetAddress.ofLiteral(a).getHostAddress());
        }
        String e4 = v4.isEmpty() ? "" : " elements = { " + String.join(", ", v4) + " };";
        String e6 = v6.isEmpty() ? "" : " elements = { " + String.join(", ", v6) + " };";
        return "table inet " + table + "\n"
                + "delete table inet " + table + "\n"
                + "table inet " + table + " {\n"
                + "  set vips4 { type ipv4_addr;" + e4 + " }\n"
                + "  set vips6 { type ipv6_addr;" + e6 + " }\n"
                + "  set " + INET_V4 + " { type ipv4_addr; flags timeout; }\n"
                + "  set " + INET_V6 + " { type ipv6_addr; flags timeout; }\n"
                + "  chain in {\n"
                + "    type filter hook input priority filter - 10; policy accept;\n"
                + "    ip daddr @vips4 ip daddr != @" + INET_V4 + " drop\n"
                + "    ip6 daddr @vips6 ip6 daddr != @" + INET_V6 + " drop\n"
                + "  }\n"
                + "}\n"
                + "table arp " + table + "\n"
                + "delete table arp " + table + "\n"
                + "table arp " + table + " {\n"
                + "  set vips4 { type ipv4_addr;" + e4 + " }\n"
                + "  set " + INET_V4 + " { type ipv4_addr; flags timeout; }\n"
                + "  chain in {\n"
                + "    type filter hook input priority filter - 10; policy accept;\n"
                + "    arp operation request arp daddr ip @vips4 arp daddr ip != @" + INET_V4 + " drop\n"
                + "  }\n"
                + "}\n";
    }

    @Override
    public void renew(Collection<String> addresses, long validMs) throws IOException {
        if (addresses.isEmpty()) {
            return;
        }
        if (validMs < 1) {
            throw new IllegalArgumentException("validMs: " + validMs + " (expected >= 1)");
        }
        List<byte[]> v4 = new ArrayList<>();
        List<byte[]> v6 = new ArrayList<>();
        split(addresses, v4, v6);
        List<NftSetElements.Op> ops = new ArrayList<>(9);
        refresh(ops, NftSetElements.NFPROTO_INET, INET_V4, v4, validMs);
        refresh(ops, NftSetElements.NFPROTO_ARP, INET_V4, v4, validMs);
        refresh(ops, NftSetElements.NFPROTO_INET, INET_V6, v6, validMs);
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

    @Override
    public void revoke(String address) throws IOException {
        List<byte[]> v4 = new ArrayList<>();
        List<byte[]> v6 = new ArrayList<>();
        split(List.of(address), v4, v6);
        List<NftSetElements.Op> ops = new ArrayList<>(4);
        // add (a no-op when present) then delete: one transaction whether or not it was there.
        for (byte family : v4.isEmpty() ? new byte[0] : new byte[] {NftSetElements.NFPROTO_INET,
                NftSetElements.NFPROTO_ARP}) {
            ops.add(new NftSetElements.Op(true, family, table, INET_V4, v4, 1));
            ops.add(new NftSetElements.Op(false, family, table, INET_V4, v4, 0));
        }
        if (!v6.isEmpty()) {
            ops.add(new NftSetElements.Op(true, NftSetElements.NFPROTO_INET, table, INET_V6, v6, 1));
            ops.add(new NftSetElements.Op(false, NftSetElements.NFPROTO_INET, table, INET_V6, v6, 0));
        }
        elements.apply(ops);
    }

    @Override
    public void close() {
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
