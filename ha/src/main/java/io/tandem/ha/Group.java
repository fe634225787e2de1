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
 * node starts: every node id of the group, and the preferred owner of each VIP address.
 *
 * @param nodeIds every node of the group, this one included, sorted
 * @param preferredOwners each VIP address and the node that claims it when it is free, in the
 *        order of the spread (numeric address order)
 */
record Group(List<String> nodeIds, Map<String, String> preferredOwners) {
    Group {
        nodeIds = List.copyOf(nodeIds);
        preferredOwners = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(preferredOwners));
    }

    /**
     * The preferred owner of every address: the configured one, otherwise round-robin over the
     * sorted node ids in numeric address order, so every node computes the same spread from the
     * same config.
     */
    static Group of(HaConfig c) {
        requireNonNull(c, "c");
        TreeSet<String> sorted = new TreeSet<>();
        sorted.add(c.nodeId());
        c.peers().forEach(p -> sorted.add(p.id()));
        List<String> ids = List.copyOf(sorted);
        List<HaConfig.Address> addresses = new ArrayList<>(c.addresses());
        addresses.sort(Comparator.comparing(a -> sortKey(a.address())));
        Map<String, String> owners = new LinkedHashMap<>();
        int next = 0;
        for (HaConfig.Address a : addresses) {
            if (a.preferredOwner().isPresent()) {
                owners.put(a.address(), a.preferredOwner().get());
            } else {
                owners.put(a.address(), ids.get(next++ % ids.size()));
            }
        }
        return new Group(ids, owners);
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
