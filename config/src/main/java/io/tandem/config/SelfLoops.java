package io.tandem.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Refuses a static backend that is one of this node's own listeners: a VIP proxying to itself
 * accepts its own outbound connection, which connects again, until every descriptor is gone (one
 * client connection used all 1024 in under a second). Only what is provably this node is
 * refused, without DNS and without looking at the machine's interfaces (validation may run
 * elsewhere):
 * <ul>
 *   <li>the listener's own address, spelled any way ({@code [::1]} = {@code [0:0::1]});
 *       {@code 0.0.0.0} and {@code [::]} as a backend, which Linux connects to loopback; and
 *       {@code localhost}, which names loopback (RFC 6761);</li>
 *   <li>for a wildcard listener ({@code 0.0.0.0:P}, {@code [::]:P}, which also takes IPv4 since
 *       Tandem does not set {@code IPV6_V6ONLY}): any loopback address, and any address the
 *       config itself shows to be this node's (another listener's, or an {@code ha.addresses}
 *       entry, which this node holds when it owns it and its peer, with the same config, holds
 *       otherwise).</li>
 * </ul>
 * Another host name is left alone: only DNS knows where it points (the data path's own
 * detection covers it at run time). Protocols must match: a UDP VIP on port P and a TCP backend
 * on P are not a loop. The same list of own listeners also refuses a TCP VIP bound to the very
 * address of the admin API or the HA peer link ({@link #sharedListens}).
 */
final class SelfLoops {
    /** A VIP as read: its section (for paths and positions) and its config. */
    record ReadVip(Section section, VipConfig config) {
    }

    private record Listener(String path, Protocol protocol, HostPort address, String why) {
    }

    /** What {@code localhost} names. */
    private static final Set<InetAddress> LOCALHOST = Set.of(InetAddress.ofLiteral("127.0.0.1"),
            InetAddress.ofLiteral("::1"));

    private SelfLoops() {
    }

    static void check(List<ReadVip> vips, Optional<AdminSettings> admin, Optional<HaConfig> ha, Problems problems) {
        List<Listener> listeners = new ArrayList<>();
        for (ReadVip v : vips) {
            listeners.add(new Listener(v.section().path() + ".listen", v.config().protocol(), v.config().listen(),
                    "a VIP proxying to itself loops"));
        }
        admin.filter(AdminSettings::enabled).ifPresent(a -> listeners.add(new Listener("admin.listen", Protocol.TCP,
                a.listen(), "the admin API is not a backend")));
        ha.ifPresent(h -> listeners.add(new Listener("ha.listen", Protocol.TCP, h.listen(),
                "the HA peer link is not a backend")));
        Set<InetAddress> local = new HashSet<>();
        for (Listener l : listeners) {
            literal(l.address().host()).filter(a -> !a.isAnyLocalAddress()).ifPresent(local::add);
        }
        ha.ifPresent(h -> h.addresses().forEach(a -> literal(a.address()).ifPresent(local::add)));
        sharedListens(vips, listeners, admin.filter(a -> a == AdminSettings.DEFAULTS).isPresent(), problems);

        for (ReadVip v : vips) {
            List<BackendConfig> backends = v.config().backends();
            JsonNode items = v.section().get("backends");
            for (int i = 0; i < backends.size() && items != null && i < items.size(); i++) {
                HostPort b = backends.get(i).address();
                for (Listener l : listeners) {
                    if (l.protocol() == v.config().protocol() && l.address().port() == b.port()
                            && reaches(b.host(), l.address().host(), local)) {
                        report(v.section(), i, items.get(i), l, problems);
                        break;
                    }
                }
            }
        }
    }

    /**
     * A TCP VIP on the very address of the admin API or the HA peer link: one of the two binds
     * would fail at start (or, both with SO_REUSEPORT, share connections at random). Only exact
     * matches: whether a wildcard and a specific bind on one port conflict depends on socket options.
     */
    private static void sharedListens(List<ReadVip> vips, List<Listener> listeners, boolean adminByDefault,
                                      Problems problems) {
        for (ReadVip v : vips) {
            if (v.config().protocol() != Protocol.TCP) {
                continue;
            }
            Optional<InetAddress> vip = literal(v.config().listen().host());
            for (Listener l : listeners) {
                if (l.path().startsWith("vips[") || l.address().port() != v.config().listen().port()) {
                    continue;
                }
                boolean same = literal(l.address().host()).map(a -> a.equals(vip.orElse(null)))
                        .orElse(l.address().host().equalsIgnoreCase("localhost") && vip.isPresent()
                                && LOCALHOST.contains(vip.get()));
                if (same) {
                    String which = l.path().equals("admin.listen") ? "the admin API's" : "the HA peer link's";
                    String fallback = l.path().equals("admin.listen") && adminByDefault ? ", its default" : "";
                    v.section().error("listen", Render.node(v.section().get("listen")), "an address other than "
                            + which + " " + l.path() + " " + l.address() + fallback + "; one of the two could not bind");
                }
            }
        }
    }

    private static void report(Section vip, int index, JsonNode item, Listener l, Problems problems) {
        int[] position = Problems.child(vip.positionOf("backends"), index);
        String path = vip.pathOf("backends") + "[" + index + "]";
        JsonNode shown = item;
        if (item.isObject()) {
            int field = 0;
            for (Iterator<String> names = item.fieldNames(); names.hasNext() && !names.next().equals("address"); ) {
                field++;
            }
            position = Problems.child(position, field);
            path = path + ".address";
            shown = item.get("address");
        }
        boolean wildcard = literal(l.address().host()).map(InetAddress::isAnyLocalAddress).orElse(false);
        problems.add(position, path, Render.node(shown), "an address other than this node's own listener "
                + l.path() + " " + l.address() + (wildcard ? ", which accepts on every local address" : "")
                + ": " + l.why());
    }

    /** Whether connecting to {@code backend} from this node reaches a socket bound to {@code listen}. */
    static boolean reaches(String backend, String listen, Set<InetAddress> local) {
        Optional<InetAddress> target = literal(backend).map(SelfLoops::connectTarget);
        boolean localhost = backend.equalsIgnoreCase("localhost");
        if (target.isEmpty() && !localhost) {
            return false; // a host name: only DNS knows
        }
        InetAddress bound = literal(listen).orElse(null);
        if (bound == null) {
            // admin.listen may be a name; only localhost is known without DNS.
            return listen.equalsIgnoreCase("localhost") && (localhost || LOCALHOST.contains(target.get()));
        }
        if (bound.isAnyLocalAddress()) {
            boolean v6 = !(bound instanceof Inet4Address);
            if (localhost) {
                return true;
            }
            InetAddress t = target.get();
            // [::] also accepts IPv4 (dual-stack); 0.0.0.0 accepts IPv4 only.
            return (v6 || t instanceof Inet4Address) && (t.isLoopbackAddress() || local.contains(t));
        }
        if (localhost) {
            return LOCALHOST.contains(bound);
        }
        return bound.equals(target.get());
    }

    /** Linux connects to 0.0.0.0 as 127.0.0.1 and to [::] as [::1]. */
    private static InetAddress connectTarget(InetAddress a) {
        if (!a.isAnyLocalAddress()) {
            return a;
        }
        return a instanceof Inet4Address ? InetAddress.ofLiteral("127.0.0.1") : InetAddress.ofLiteral("::1");
    }

    /** An IP literal as an address (IPv4-mapped IPv6 becomes IPv4); empty for a host name. */
    static Optional<InetAddress> literal(String host) {
        if (!Addresses.isIpLiteral(host)) {
            return Optional.empty();
        }
        try {
            return Optional.of(InetAddress.ofLiteral(host));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
