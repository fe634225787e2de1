package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code vips[].source}: the local address (and source ports) the VIP's backend connections
 * leave from, instead of what the kernel picks (HAProxy's {@code source}, Envoy's
 * {@code upstream_bind_config}). An address that moves with the VIP is what lets a proxied
 * connection survive the node that carries it (docs/connection-survival.md: the backend must
 * answer to an address the surviving node then has).
 *
 * <p>{@code address} is an IP literal or {@code vip} (the VIP's own listen address). The socket
 * binds it with {@code IP_FREEBIND}, so the address need not be on this host yet (it arrives with
 * the VIP), and with {@code IP_BIND_ADDRESS_NO_PORT}, so the port is still chosen at connect per
 * 4-tuple, not reserved per address. With {@code ports} the kernel picks from that range only
 * ({@code IP_LOCAL_PORT_RANGE}, Linux 6.3+); in an HA group each node uses its own slice of it
 * (see {@link #forNode}), so connections of two nodes never share a 4-tuple.
 *
 * @param kind       none (the kernel picks), an address, or the VIP's listen address
 * @param address    the address when {@code kind} is ADDRESS, else null
 * @param portLow    first port of the configured range, 0 when none
 * @param portHigh   last port of the configured range, 0 when none
 * @param nodeLow    first port of this node's slice of the range (= portLow outside an HA group)
 * @param nodeHigh   last port of this node's slice
 */
public record BackendSource(Kind kind, InetAddress address, int portLow, int portHigh, int nodeLow, int nodeHigh) {
    /** Where the address comes from. */
    public enum Kind { NONE, ADDRESS, VIP }

    /** No source set: the kernel chooses address and port, as without this key. */
    public static final BackendSource NONE = new BackendSource(Kind.NONE, null, 0, 0, 0, 0);

    public BackendSource {
        requireNonNull(kind, "kind");
        if ((kind == Kind.ADDRESS) != (address != null)) {
            throw new IllegalArgumentException("address: " + address + " (expected one exactly when kind is ADDRESS)");
        }
        if (portLow != 0 || portHigh != 0) {
            if (portLow < 1 || portHigh > 65_535 || portLow > portHigh) {
                throw new IllegalArgumentException("ports: " + portLow + "-" + portHigh + " (expected 1..65535, low <= high)");
            }
            if (nodeLow < portLow || nodeHigh > portHigh || nodeLow > nodeHigh) {
                throw new IllegalArgumentException("node ports: " + nodeLow + "-" + nodeHigh + " (expected within "
                        + portLow + "-" + portHigh + ")");
            }
        } else if (nodeLow != 0 || nodeHigh != 0) {
            throw new IllegalArgumentException("node ports without a range");
        }
    }

    /** A source on {@code address} (null: the VIP's), with the range {@code low..high} (0, 0: none) used whole. */
    public static BackendSource of(InetAddress address, int low, int high) {
        return new BackendSource(address == null ? Kind.VIP : Kind.ADDRESS, address, low, high, low, high);
    }

    public boolean enabled() {
        return kind != Kind.NONE;
    }

    public boolean hasPorts() {
        return portLow != 0;
    }

    /** The address to bind for a VIP listening on {@code listen}; empty when none is set. */
    public Optional<InetAddress> resolve(HostPort listen) {
        return switch (kind) {
            case NONE -> Optional.empty();
            case ADDRESS -> Optional.of(address);
            case VIP -> Optional.of(InetAddress.ofLiteral(listen.host()));
        };
    }

    /**
     * This node's slice of the range in an HA group: the node ids ({@code self} and every peer's)
     * sorted, this node's position {@code k} of {@code n} takes the {@code k}-th of {@code n}
     * equal slices (the last one also takes the remainder). Every node computes the same split
     * from the same group, so no two nodes' slices overlap. Empty when the range has fewer ports
     * than the group has nodes.
     */
    public Optional<BackendSource> forNode(String self, List<String> peers) {
        if (!hasPorts()) {
            return Optional.of(this);
        }
        List<String> ids = new ArrayList<>(peers);
        ids.add(self);
        ids.sort(null);
        int n = ids.size();
        int k = ids.indexOf(self);
        int size = (portHigh - portLow + 1) / n;
        if (size < 1) {
            return Optional.empty();
        }
        int low = portLow + k * size;
        int high = k == n - 1 ? portHigh : low + size - 1;
        return Optional.of(new BackendSource(kind, address, portLow, portHigh, low, high));
    }

    /** As in the configuration: {@code vip}, an address, and the range ({@code 40000-49999}). */
    @Override
    public String toString() {
        if (kind == Kind.NONE) {
            return "none";
        }
        String a = kind == Kind.VIP ? "vip" : address.getHostAddress();
        return hasPorts() ? a + " ports " + portLow + "-" + portHigh + " (this node " + nodeLow + "-" + nodeHigh + ")" : a;
    }
}
