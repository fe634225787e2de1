package io.tandem.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Reads {@code ha.announce} ({@link AnnounceSettings}); errors name path, value and what was expected. */
final class AnnounceReader {
    static final List<String> KEYS = List.of("mode", "anycast", "local_as", "router_id", "neighbors", "bfd",
            "hold_time", "bird", "birdc", "run_dir", "withdraw_without_backends", "backend_hold_down");
    static final List<String> NEIGHBOR_KEYS = List.of("address", "as");
    static final List<String> BFD_KEYS = List.of("interval", "multiplier");
    private static final long MAX_AS = 4_294_967_295L;

    private AnnounceReader() {
    }

    static AnnounceSettings read(Section s) {
        s.allowKeys(KEYS);
        AnnounceSettings d = AnnounceSettings.ARP;
        AnnounceSettings.Mode mode = AnnounceSettings.Mode.ARP;
        JsonNode m = s.get("mode");
        if (m != null) {
            if (m.isTextual() && (m.textValue().equals("arp") || m.textValue().equals("bgp"))) {
                mode = AnnounceSettings.Mode.valueOf(m.textValue().toUpperCase(Locale.ROOT));
            } else {
                s.errorAt("mode", m, "arp or bgp");
            }
        }
        boolean anycast = s.bool("anycast", false);
        Optional<Long> localAs = asNumber(s, "local_as");
        Optional<String> routerId = s.nonEmptyText("router_id", "an IPv4 literal (BGP router id)");
        routerId.filter(r -> !Addresses.isIpLiteral(r) || r.contains(":"))
                .ifPresent(r -> s.error("router_id", Render.quote(r), "an IPv4 literal (BGP router id)"));
        List<AnnounceSettings.Neighbor> neighbors = new ArrayList<>();
        String nExpected = "a list of BGP neighbors, each {address: IP, as: 1..4294967295}";
        JsonNode list = s.get("neighbors");
        if (list != null) {
            if (!list.isArray() || list.isEmpty()) {
                s.errorAt("neighbors", list, nExpected);
            } else {
                Map<String, String> seen = new HashMap<>();
                for (int i = 0; i < list.size(); i++) {
                    String path = s.pathOf("neighbors") + "[" + i + "]";
                    Optional<Section> ns = Section.of(list.get(i), path, Problems.child(s.positionOf("neighbors"), i),
                            s.problems(), nExpected);
                    if (ns.isEmpty()) {
                        continue;
                    }
                    Section n = ns.get();
                    n.allowKeys(NEIGHBOR_KEYS);
                    Optional<String> addr = n.nonEmptyText("address", "an IP literal");
                    if (!n.has("address")) {
                        n.missing("address", "the neighbor's IP literal");
                    }
                    addr.filter(a -> !Addresses.isIpLiteral(a))
                            .ifPresent(a -> n.error("address", Render.quote(a), "an IP literal"));
                    String first = addr.map(a -> seen.putIfAbsent(a, path)).orElse(null);
                    if (first != null) {
                        n.error("address", Render.quote(addr.get()), "a unique neighbor; " + first + " has the same");
                    }
                    Optional<Long> as = asNumber(n, "as");
                    if (!n.has("as")) {
                        n.missing("as", "the neighbor's AS number 1..4294967295");
                    }
                    if (addr.filter(Addresses::isIpLiteral).isPresent() && as.isPresent() && first == null) {
                        neighbors.add(new AnnounceSettings.Neighbor(addr.get(), as.get()));
                    }
                }
            }
        }
        Optional<AnnounceSettings.Bfd> bfd = Optional.of(new AnnounceSettings.Bfd(Duration.ofMillis(50), 3));
        JsonNode b = s.get("bfd");
        if (b != null && b.isBoolean()) {
            bfd = b.booleanValue() ? bfd : Optional.empty();
        } else if (b != null) {
            Optional<Section> bs = s.child("bfd");
            if (bs.isPresent()) {
                bs.get().allowKeys(BFD_KEYS);
                Duration interval = bs.get().duration("interval", Duration.ofMillis(10), Duration.ofSeconds(10), "",
                        Duration.ofMillis(50));
                int mult = bs.get().integer("multiplier", 1, 255, 3);
                bfd = Optional.of(new AnnounceSettings.Bfd(interval, mult));
            }
        }
        Duration hold = s.duration("hold_time", Duration.ofSeconds(3), Duration.ofSeconds(65535), "", d.holdTime());
        if (hold.toMillis() % 1000 != 0) {
            s.errorAt("hold_time", s.get("hold_time"), "whole seconds of at least 3s (BGP counts the hold time in seconds)");
        }
        Path bird = s.nonEmptyText("bird", "the path of the bird binary").map(Path::of).orElse(d.bird());
        Path birdc = s.nonEmptyText("birdc", "the path of the birdc binary").map(Path::of).orElse(d.birdc());
        Optional<Path> runDir = s.nonEmptyText("run_dir", "a directory for bird.conf and the control socket")
                .map(Path::of);
        runDir.filter(p -> !p.isAbsolute() || p.toString().length() > 80)
                .ifPresent(p -> s.error("run_dir", Render.quote(p.toString()),
                        "an absolute path of at most 80 characters (the control socket's path must fit 108 bytes)"));
        if (mode == AnnounceSettings.Mode.BGP) {
            if (!s.has("local_as")) {
                s.missing("local_as", "this node's AS number 1..4294967295 (mode: bgp)");
            }
            if (list == null) {
                s.missing("neighbors", nExpected + " (mode: bgp)");
            }
        } else if (anycast) {
            s.error("anycast", "true", "false unless mode: bgp (anycast needs routing: ARP gives one owner per address)");
        }
        // On by default with anycast: the other nodes announce the address too, so a node with nothing
        // to send its share to should let the router give that share to them. Off by default for a
        // single owner: nobody else announces the address, so a withdrawal turns refused connections
        // into an unreachable address unless something else (another site) announces it.
        boolean withdraw = s.bool("withdraw_without_backends", anycast);
        Duration holdDown = s.duration("backend_hold_down", Duration.ZERO, Duration.ofMinutes(10), "",
                AnnounceSettings.BACKEND_HOLD_DOWN);
        if (withdraw && mode != AnnounceSettings.Mode.BGP && s.has("withdraw_without_backends")) {
            s.error("withdraw_without_backends", "true", "false unless mode: bgp (ARP has no route to withdraw)");
        }
        return new AnnounceSettings(mode, anycast, localAs.orElse(0L), routerId, neighbors, bfd, hold, bird, birdc,
                runDir, withdraw && mode == AnnounceSettings.Mode.BGP, holdDown);
    }

    private static Optional<Long> asNumber(Section s, String key) {
        JsonNode n = s.get(key);
        if (n == null) {
            return Optional.empty();
        }
        if (n.isIntegralNumber() && n.canConvertToLong() && n.longValue() >= 1 && n.longValue() <= MAX_AS) {
            return Optional.of(n.longValue());
        }
        s.errorAt(key, n, "an AS number 1..4294967295");
        return Optional.empty();
    }

    /**
     * In anycast mode any node may receive any client's next connection (the router's ECMP hash
     * decides), so every VIP on an anycast address must pick backends by Maglev on the client
     * address: the same backend whichever node the connection lands on.
     */
    static void checkAnycastPolicies(List<SelfLoops.ReadVip> vips, Optional<HaConfig> ha) {
        if (ha.isEmpty() || !ha.get().announce().anycast()) {
            return;
        }
        java.util.Set<String> anycast = new java.util.HashSet<>();
        ha.get().addresses().forEach(a -> anycast.add(canonical(a.address())));
        for (SelfLoops.ReadVip v : vips) {
            String host = v.config().listen().host();
            if (!anycast.contains(canonical(host)) || v.config().policy() == PolicyKind.MAGLEV) {
                continue;
            }
            JsonNode given = v.section().get("policy");
            v.section().error("policy", given == null ? "round-robin (the default)" : Render.node(given),
                    "maglev: " + host + " is an anycast address (ha.announce.anycast), so any node may get a"
                            + " client's next connection and must pick the same backend");
        }
    }

    private static String canonical(String ip) {
        try {
            return java.net.InetAddress.ofLiteral(ip).getHostAddress();
        } catch (IllegalArgumentException e) {
            return ip;
        }
    }
}
