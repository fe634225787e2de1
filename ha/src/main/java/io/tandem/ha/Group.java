package io.tandem.ha;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HaConfig;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What the HA module derives from the config's {@code ha} section ({@link HaConfig}, validated by
 * the config reader with its defaults: the only settings of the module), computed once when a
 * node starts: every node id of the group, each node's zone where declared, and the preferred
 * owner of each VIP address.
 *
 * @param nodeIds every node of the group, this one included, sorted
 * @param zones each node id whose zone is declared ({@code node.zone} for this node,
 *        {@code ha.peers[].zone} for the others) and that zone
 * @param spreadOrder the node ids in the order addresses are dealt to them: round-robin over the
 *        zones first ({@link #spreadOrder(List, Map)}), so consecutive addresses land in different zones
 * @param preferredOwners each VIP address and the node that claims it when it is free, in the
 *        order of the spread (numeric address order)
 */
record Group(List<String> nodeIds, Map<String, String> zones, List<String> spreadOrder,
             Map<String, String> preferredOwners) {
    Group {
        nodeIds = List.copyOf(nodeIds);
        zones = Map.copyOf(zones);
        spreadOrder = List.copyOf(spreadOrder);
        preferredOwners = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(preferredOwners));
    }

    /**
     * The preferred owner of every address: the configured one, otherwise dealt round-robin over
     * {@link #spreadOrder} in numeric address order, so every node computes the same spread from the
     * same config, and with nodes in several zones no zone prefers more than its share: losing one
     * zone moves only the addresses its nodes preferred, each taken over by a live node — of
     * another zone, as none is left in the lost one (any live node claims a dead owner's address,
     * docs/ha.md "Zones").
     */
    static Group of(HaConfig c) {
        requireNonNull(c, "c");
        TreeSet<String> sorted = new TreeSet<>();
        sorted.add(c.nodeId());
        c.peers().forEach(p -> sorted.add(p.id()));
        List<String> ids = List.copyOf(sorted);
        Map<String, String> zones = c.zones();
        List<String> order = spreadOrder(ids, zones);
        List<HaConfig.Address> addresses = new ArrayList<>(c.addresses());
        addresses.sort(Comparator.comparing(a -> sortKey(a.address())));
        Map<String, String> owners = new LinkedHashMap<>();
        int next = 0;
        for (HaConfig.Address a : addresses) {
            if (a.preferredOwner().isPresent()) {
                owners.put(a.address(), a.preferredOwner().get());
            } else {
                owners.put(a.address(), order.get(next++ % order.size()));
            }
        }
        return new Group(ids, zones, order, owners);
    }

    /**
     * The sorted node ids dealt zone by zone: the first node of every zone, then the second of
     * every zone, and so on; zones in the order of their smallest node id. A node without a
     * declared zone is a zone of its own (nothing says it shares a fault domain), so a group with
     * no zones at all keeps the plain sorted order.
     */
    static List<String> spreadOrder(List<String> sortedIds, Map<String, String> zones) {
        Map<String, List<String>> buckets = new LinkedHashMap<>();
        for (String id : sortedIds) {
            String zone = zones.get(id);
            buckets.computeIfAbsent(zone == null ? "\u0000" + id : "zone:" + zone, k -> new ArrayList<>()).add(id);
        }
        List<String> order = new ArrayList<>(sortedIds.size());
        for (int round = 0; order.size() < sortedIds.size(); round++) {
            for (List<String> bucket : buckets.values()) {
                if (round < bucket.size()) {
                    order.add(bucket.get(round));
                }
            }
        }
        return order;
    }

    private static String sortKey(String address) {
        try {
            byte[] b = InetAddress.ofLiteral(address).getAddress();
            StringBuilder sb = new StringBuilder(b.length == 4 ? "4" : "6");
            for (byte x : b) {
                sb.append(String.format("%02x", x & 0xff));
            }
            return sb.toString();
        } catch (IllegalArgumentException e) {
            return "z" + address;
        }
    }
}
