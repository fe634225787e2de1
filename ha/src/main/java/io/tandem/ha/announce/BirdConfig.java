package io.tandem.ha.announce;

import io.tandem.config.AnnounceSettings;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Renders the {@code bird.conf} of one node: a {@code direct} protocol on the VIP interface whose
 * import filter accepts only the configured VIP prefixes (so the routes follow the addresses the
 * kernel holds, and nothing else on the interface leaks out), one BGP session per neighbor that
 * exports only those routes with this node as next hop, and BFD on each session. Pure: no I/O.
 *
 * <p>The addresses are announced exactly while they are on the interface: adding the /32 is the
 * announcement, removing it the withdrawal (BIRD hears both from the kernel over netlink at once).
 */
final class BirdConfig {
    static final String DIRECT = "tandem_vips";
    static final String BFD = "tandem_bfd";

    private BirdConfig() {
    }

    /**
     * With {@code withdraw_without_backends}, the {@code direct} protocol of the {@code index}-th
     * address (0-based): one per address, so that one can be disabled (its route withdrawn) while
     * the address stays on the interface and the others stay announced.
     */
    static String vipProtocol(int index) {
        return "tandem_vip_" + (index + 1);
    }

    /** The BIRD protocol name of the {@code index}-th neighbor (0-based). */
    static String peerName(int index) {
        return "tandem_peer" + (index + 1);
    }

    static String render(AnnounceSettings s, String nodeId, String routerId, String iface, List<String> vipAddresses) {
        List<String> v4 = vipAddresses.stream().filter(BirdConfig::v4).map(a -> a + "/32").toList();
        List<String> v6 = vipAddresses.stream().filter(a -> !v4(a)).map(a -> a + "/128").toList();
        StringBuilder b = new StringBuilder();
        b.append("# Written by Tandem for node ").append(nodeId).append(" (ha.announce) at every start: do not edit.\n");
        b.append("log stderr all;\n");
        b.append("router id ").append(routerId).append(";\n");
        // No spaces in the times of `show protocols`: the status reader splits on whitespace.
        b.append("timeformat protocol \"%T\";\n");
        b.append("protocol device { scan time 10; }\n");
        if (s.withdrawWithoutBackends()) {
            // Each address its own protocol, disabled until the announcer has seen an eligible backend
            // behind it (also after BIRD restarts: it enables them again).
            for (int i = 0; i < vipAddresses.size(); i++) {
                String a = vipAddresses.get(i);
                boolean four = v4(a);
                b.append("protocol direct ").append(vipProtocol(i)).append(" {\n  disabled yes;\n");
                b.append("  interface \"").append(iface).append("\";\n");
                b.append("  ").append(four ? "ipv4" : "ipv6").append(" { import ")
                        .append(filter(List.of(a + (four ? "/32" : "/128")))).append("; };\n");
                b.append("}\n");
            }
        } else {
            b.append("protocol direct ").append(DIRECT).append(" {\n");
            b.append("  interface \"").append(iface).append("\";\n");
            b.append("  ipv4 { import ").append(filter(v4)).append("; };\n");
            b.append("  ipv6 { import ").append(filter(v6)).append("; };\n");
            b.append("}\n");
        }
        s.bfd().ifPresent(bfd -> {
            long ms = bfd.interval().toMillis();
            b.append("protocol bfd ").append(BFD).append(" {\n  interface \"*\" { min rx interval ").append(ms)
                    .append(" ms; min tx interval ").append(ms).append(" ms; idle tx interval 1000 ms; multiplier ")
                    .append(bfd.multiplier()).append("; };\n}\n");
        });
        for (int i = 0; i < s.neighbors().size(); i++) {
            AnnounceSettings.Neighbor n = s.neighbors().get(i);
            String channel = v4(n.address()) ? "ipv4" : "ipv6";
            b.append("protocol bgp ").append(peerName(i)).append(" {\n");
            b.append("  description \"").append(n.address()).append("\";\n");
            b.append("  local as ").append(s.localAs()).append(";\n");
            b.append("  neighbor ").append(n.address()).append(" as ").append(n.as()).append(";\n");
            if (s.bfd().isPresent()) {
                b.append("  bfd on;\n");
            }
            long hold = s.holdTime().toSeconds();
            b.append("  hold time ").append(hold).append("; keepalive time ").append(Math.max(1, hold / 3))
                    .append("; connect retry time 1; error wait time 1, 10;\n");
            String exported = s.withdrawWithoutBackends() ? "proto ~ \"tandem_vip_*\"" : "proto = \"" + DIRECT + "\"";
            b.append("  ").append(channel).append(" { import none; export where ").append(exported)
                    .append("; next hop self; };\n");
            b.append("}\n");
        }
        return b.toString();
    }

    private static String filter(List<String> prefixes) {
        if (prefixes.isEmpty()) {
            return "none";
        }
        return "filter { if net ~ [ " + String.join(", ", prefixes) + " ] then accept; reject; }";
    }

    static boolean v4(String address) {
        return InetAddress.ofLiteral(address) instanceof Inet4Address;
    }

    /** The control socket in {@code dir}. */
    static Path socket(Path dir) {
        return dir.resolve("bird.ctl");
    }

    static String describe(List<String> addresses) {
        return addresses.stream().collect(Collectors.joining(",", "[", "]"));
    }
}
