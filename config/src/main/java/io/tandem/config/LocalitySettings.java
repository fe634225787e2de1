package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;

/**
 * The node's own fault domain and the fallback for backends whose source names none.
 *
 * @param node      this node's locality: {@code node.region/zone/rack} in the file, each
 *                  overridden by a non-empty {@code TANDEM_NODE_REGION}/{@code TANDEM_NODE_ZONE}/
 *                  {@code TANDEM_NODE_RACK} in the environment (the same file on every node, the
 *                  zone from the host)
 * @param cidrs     {@code locality.cidrs}: address blocks and their locality, for backends whose
 *                  source carries none (plain ZooKeeper children, host names); the longest
 *                  matching prefix wins
 * @param nodeZones {@code locality.node_zones}: how many load-balancer nodes serve from each zone
 *                  (Envoy's "local cluster"), for the zone-aware split; empty = spread evenly over
 *                  the zones where a VIP has backends
 */
public record LocalitySettings(Locality node, List<Cidr> cidrs, Map<String, Integer> nodeZones) {
    public static final LocalitySettings NONE = new LocalitySettings(Locality.UNKNOWN, List.of(), Map.of());

    public LocalitySettings {
        requireNonNull(node, "node");
        cidrs = List.copyOf(requireNonNull(cidrs, "cidrs"));
        nodeZones = Map.copyOf(requireNonNull(nodeZones, "nodeZones"));
    }

    /** One entry of {@code locality.cidrs}: {@code cidr} is {@code address/prefix}, IPv4 or IPv6. */
    public record Cidr(String cidr, Locality locality) {
        public Cidr {
            requireNonNull(cidr, "cidr");
            requireNonNull(locality, "locality");
            if (parse(cidr) == null) {
                throw new IllegalArgumentException("cidr: " + cidr + " (expected address/prefix with zero host bits)");
            }
        }

        int prefix() {
            return Integer.parseInt(cidr.substring(cidr.indexOf('/') + 1));
        }

        boolean contains(InetAddress address) {
            byte[] net = parse(cidr);
            byte[] a = address.getAddress();
            if (net == null || a.length != net.length) {
                return false;
            }
            return matches(net, a, prefix());
        }
    }

    /**
     * The locality of the longest block containing {@code address}; {@link Locality#UNKNOWN} when
     * none does (or the address is null: a name not resolved yet).
     */
    public Locality lookup(InetAddress address) {
        if (address == null || cidrs.isEmpty()) {
            return Locality.UNKNOWN;
        }
        Cidr best = null;
        for (Cidr c : cidrs) {
            if (c.contains(address) && (best == null || c.prefix() > best.prefix())) {
                best = c;
            }
        }
        return best == null ? Locality.UNKNOWN : best.locality();
    }

    /** The network bytes of {@code address/prefix}, or null when malformed or host bits are set. */
    static byte[] parse(String cidr) {
        int slash = cidr.indexOf('/');
        if (slash <= 0 || slash == cidr.length() - 1) {
            return null;
        }
        String addr = cidr.substring(0, slash);
        String bits = cidr.substring(slash + 1);
        if (!Addresses.isIpLiteral(addr) || !bits.chars().allMatch(Character::isDigit) || bits.length() > 3) {
            return null;
        }
        byte[] net = InetAddress.ofLiteral(addr).getAddress();
        int prefix = Integer.parseInt(bits);
        if (prefix > net.length * 8) {
            return null;
        }
        byte[] masked = net.clone();
        for (int i = 0; i < masked.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            masked[i] &= (byte) (0xff << (8 - keep));
        }
        return java.util.Arrays.equals(masked, net) ? net : null;
    }

    private static boolean matches(byte[] net, byte[] a, int prefix) {
        int full = prefix / 8;
        for (int i = 0; i < full; i++) {
            if (net[i] != a[i]) {
                return false;
            }
        }
        int rest = prefix % 8;
        if (rest == 0) {
            return true;
        }
        int mask = 0xff << (8 - rest) & 0xff;
        return (net[full] & mask) == (a[full] & mask);
    }
}
