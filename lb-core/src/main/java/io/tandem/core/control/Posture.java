package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.core.control.PostureReport.Finding;
import io.tandem.core.control.PostureReport.Severity;
import io.tandem.core.control.PostureReport.VipSpread;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Finds the single points of failure of a node's setup (issue 17 "Single points of failure,
 * reported", the guide's "distribute HA applications across fault domains"): a pure function from
 * what the control loop knows — each VIP's eligible backends with host and zone, its active check,
 * the placement constraints of its Marathon apps; the HA group's nodes and zones; the ZooKeeper
 * connect strings — to {@link PostureReport.Finding}s, each with what to do. No I/O, no clock
 * (the time is an input), so tests call {@link #evaluate} directly, as with {@code ha/Arbiter}.
 */
final class Posture {
    /** Every code a VIP can have, in the order reported; the metric shows each, at 0 when absent. */
    static final List<String> VIP_CODES = List.of("no-eligible-backend", "one-backend", "one-zone", "one-host",
            "zones-unknown", "app-not-spread", "no-active-check");
    /** Every node-wide code, in the order reported. */
    static final List<String> NODE_CODES = List.of("node-not-ha", "ha-one-zone", "ha-zones-unknown",
            "zookeeper-one-server", "zookeeper-one-zone");
    /**
     * Marathon constraint fields that spread an app over zones with {@code GROUP_BY}: the Mesos
     * fault-domain field {@code @zone} (Marathon >= 1.6) and the agent attribute most setups use.
     */
    static final Set<String> ZONE_FIELDS = Set.of("@zone", "zone");

    private Posture() {
    }

    /** One backend of a VIP: its host (address, no port), its zone when known, whether it is eligible. */
    record BackendInput(String host, Optional<String> zone, boolean eligible) {
        BackendInput {
            requireNonNull(host, "host");
            requireNonNull(zone, "zone");
        }
    }

    /** A Marathon app feeding a VIP, with its constraints as {@code field:OPERATOR[:value]}. */
    record AppInput(String app, List<String> constraints) {
        AppInput {
            requireNonNull(app, "app");
            constraints = List.copyOf(constraints);
        }
    }

    record VipInput(String name, List<BackendInput> backends, boolean activeCheck, List<AppInput> apps) {
        VipInput {
            requireNonNull(name, "name");
            backends = List.copyOf(backends);
            apps = List.copyOf(apps);
        }
    }

    /** The HA group: every node id (this one included) and the zones declared for them. */
    record HaInput(List<String> nodeIds, Map<String, String> zones) {
        HaInput {
            nodeIds = List.copyOf(nodeIds);
            zones = Map.copyOf(zones);
        }
    }

    /** A ZooKeeper ensemble the node depends on: where its connect string is configured, and the string. */
    record ZooKeeperInput(String subject, String connect) {
        ZooKeeperInput {
            requireNonNull(subject, "subject");
            requireNonNull(connect, "connect");
        }
    }

    /**
     * @param ha          empty when the node has no {@code ha} section
     * @param zoneOfHost  the zone of a host written in a connect string, when known ({@code locality.cidrs})
     */
    record Input(List<VipInput> vips, Optional<HaInput> ha, List<ZooKeeperInput> zookeepers,
                 Function<String, Optional<String>> zoneOfHost) {
        Input {
            vips = List.copyOf(vips);
            requireNonNull(ha, "ha");
            zookeepers = List.copyOf(zookeepers);
            requireNonNull(zoneOfHost, "zoneOfHost");
        }
    }

    static PostureReport evaluate(Input in, Instant at) {
        requireNonNull(in, "in");
        List<Finding> out = new ArrayList<>();
        node(in, out);
        List<VipSpread> spreads = new ArrayList<>();
        List<VipInput> vips = new ArrayList<>(in.vips());
        vips.sort(Comparator.comparing(VipInput::name));
        for (VipInput v : vips) {
            spreads.add(vip(v, out));
        }
        return new PostureReport(at, out, spreads);
    }

    private static void node(Input in, List<Finding> out) {
        if (in.ha().isEmpty()) {
            out.add(new Finding("node-not-ha", Severity.WARN, "node", null,
                    "this node has no ha section: its VIP addresses live and die with it",
                    "run two or more nodes as an HA group (ha section, docs/ha.md), in different zones"));
        } else {
            HaInput ha = in.ha().get();
            Set<String> zones = new TreeSet<>(ha.zones().values());
            List<String> unknown = ha.nodeIds().stream().filter(id -> !ha.zones().containsKey(id)).toList();
            if (unknown.isEmpty() && zones.size() == 1) {
                out.add(new Finding("ha-one-zone", Severity.WARN, "ha group", null,
                        "all " + ha.nodeIds().size() + " nodes (" + String.join(", ", ha.nodeIds()) + ") are in zone "
                                + zones.iterator().next() + ": losing it loses every VIP address",
                        "run at least one node of the group in another zone (node.zone, ha.peers[].zone)"));
            } else if (!unknown.isEmpty() && zones.size() <= 1) {
                out.add(new Finding("ha-zones-unknown", Severity.INFO, "ha group", null,
                        "no zone declared for " + String.join(", ", unknown) + (zones.isEmpty() ? ""
                                : "; the others are in " + zones.iterator().next())
                                + ": the group cannot tell whether one zone loss takes every node",
                        "declare each node's zone (node.zone here, ha.peers[].zone for the peers)"));
            }
        }
        for (ZooKeeperInput zk : in.zookeepers()) {
            List<String> hosts = hosts(zk.connect());
            if (hosts.size() == 1) {
                out.add(new Finding("zookeeper-one-server", Severity.WARN, zk.subject(), null,
                        "the ensemble is one server (" + hosts.getFirst() + "): when it is down, nothing changes"
                                + " ownership or membership",
                        "run an ensemble of 3 or 5 servers in different zones and list them all in " + zk.subject()));
                continue;
            }
            Set<String> zones = new TreeSet<>();
            boolean allKnown = true;
            for (String h : hosts) {
                Optional<String> z = in.zoneOfHost().apply(h);
                z.ifPresent(zones::add);
                allKnown &= z.isPresent();
            }
            if (allKnown && zones.size() == 1 && hosts.size() > 1) {
                out.add(new Finding("zookeeper-one-zone", Severity.WARN, zk.subject(), null,
                        "all " + hosts.size() + " servers are in zone " + zones.iterator().next()
                                + " (by locality.cidrs): losing it loses the ensemble's quorum",
                        "spread the ensemble's servers over three zones"));
            }
        }
    }

    private static VipSpread vip(VipInput v, List<Finding> out) {
        String subject = "vip " + v.name();
        List<BackendInput> eligible = v.backends().stream().filter(BackendInput::eligible).toList();
        Set<String> zones = new TreeSet<>();
        Set<String> hosts = new LinkedHashSet<>();
        int unknownZone = 0;
        for (BackendInput b : eligible) {
            hosts.add(b.host());
            if (b.zone().isPresent()) {
                zones.add(b.zone().get());
            } else {
                unknownZone++;
            }
        }
        int n = eligible.size();
        if (n == 0) {
            out.add(new Finding("no-eligible-backend", Severity.WARN, subject, v.name(),
                    v.backends().isEmpty() ? "no backend at all" : "none of its " + v.backends().size()
                            + " backends is eligible",
                    "bring backends up (tandem status shows why each is out)"));
        } else if (n == 1) {
            out.add(new Finding("one-backend", Severity.WARN, subject, v.name(),
                    "one eligible backend (" + eligible.getFirst().host() + ")",
                    "run at least two instances, on different hosts in different zones"));
        } else {
            if (hosts.size() == 1) {
                out.add(new Finding("one-host", Severity.WARN, subject, v.name(),
                        "all " + n + " eligible backends are on one host (" + hosts.iterator().next() + ")",
                        "spread the instances over hosts (Marathon: constraint [\"hostname\", \"UNIQUE\"])"));
            }
            if (unknownZone == 0 && zones.size() == 1) {
                out.add(new Finding("one-zone", Severity.WARN, subject, v.name(),
                        "all " + n + " eligible backends are in zone " + zones.iterator().next(),
                        "run instances in a second zone (Marathon: constraint [\"@zone\", \"GROUP_BY\", \"2\"])"));
            } else if (unknownZone > 0 && zones.size() <= 1) {
                out.add(new Finding("zones-unknown", Severity.INFO, subject, v.name(),
                        unknownZone + " of " + n + " eligible backends have no known zone"
                                + (zones.isEmpty() ? "" : "; the others are in " + zones.iterator().next()),
                        "give backends a zone (backends[].zone, the source's fault domain, or locality.cidrs)"));
            }
        }
        Map<String, AppInput> apps = new TreeMap<>();
        v.apps().forEach(a -> apps.putIfAbsent(a.app(), a));
        for (AppInput a : apps.values()) {
            if (!spread(a.constraints())) {
                out.add(new Finding("app-not-spread", Severity.WARN, "marathon app " + a.app(), v.name(),
                        a.constraints().isEmpty() ? "the app has no constraints: Marathon may place every instance"
                                + " on one host" : "no constraint spreads it over hosts or zones ("
                                + String.join(", ", a.constraints()) + ")",
                        "add [\"hostname\", \"UNIQUE\"] (or GROUP_BY on hostname) and [\"@zone\", \"GROUP_BY\"] to"
                                + " the app's constraints"));
            }
        }
        if (!v.activeCheck()) {
            out.add(new Finding("no-active-check", Severity.WARN, subject, v.name(),
                    "no active health check: a dead backend is found only by failed client connections",
                    "add a health_check to the VIP (docs/configuration.md#health_check)"));
        }
        return new VipSpread(v.name(), n, zones.size(), hosts.size(), unknownZone, List.copyOf(zones),
                v.activeCheck());
    }

    /**
     * Whether the constraints spread the app: {@code hostname:UNIQUE}, {@code hostname:GROUP_BY},
     * or {@code GROUP_BY} on a zone field ({@link #ZONE_FIELDS}). Marathon's operators are upper
     * case; field names are matched as written, except {@code hostname}.
     */
    static boolean spread(List<String> constraints) {
        for (String c : constraints) {
            String[] p = c.split(":", 3);
            if (p.length < 2) {
                continue;
            }
            String field = p[0];
            String op = p[1].toUpperCase(Locale.ROOT);
            if (field.equalsIgnoreCase("hostname") && (op.equals("UNIQUE") || op.equals("GROUP_BY"))) {
                return true;
            }
            if (ZONE_FIELDS.contains(field) && op.equals("GROUP_BY")) {
                return true;
            }
        }
        return false;
    }

    /** The hosts of a ZooKeeper connect string ({@code zk1:2181,zk2:2181/chroot}). */
    static List<String> hosts(String connect) {
        String s = connect;
        int slash = s.indexOf('/');
        if (slash >= 0) {
            s = s.substring(0, slash);
        }
        List<String> out = new ArrayList<>();
        for (String part : s.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                continue;
            }
            if (p.startsWith("[")) {
                int end = p.indexOf(']');
                out.add(end > 0 ? p.substring(1, end) : p);
            } else {
                int colon = p.lastIndexOf(':');
                out.add(colon > 0 && p.indexOf(':') == colon ? p.substring(0, colon) : p);
            }
        }
        return List.copyOf(new LinkedHashSet<>(out));
    }
}
