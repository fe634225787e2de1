package io.tandem.ha;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Who has which address on "their interface", across the nodes of one test, and every window
 * in which two nodes had the same address at once (the split-brain windows), measured as the
 * address operations happen rather than by sampling.
 */
final class Ledger {
    record Overlap(String vipAddress, Set<String> nodes, long startNanos, long endNanos) {
        double millis() {
            return (endNanos - startNanos) / 1e6;
        }

        @Override
        public String toString() {
            return vipAddress + " on " + new java.util.TreeSet<>(nodes) + " for " + String.format("%.1f", millis()) + "ms";
        }
    }

    private final Map<String, Set<String>> holders = new HashMap<>();
    private final Map<String, Long> overlapStart = new HashMap<>();
    private final Map<String, Set<String>> overlapNodes = new HashMap<>();
    private final List<Overlap> overlaps = new ArrayList<>();
    private final Set<String> dead = new HashSet<>();

    synchronized void add(String node, String vipAddress) {
        if (dead.contains(node)) {
            return;
        }
        Set<String> h = holders.computeIfAbsent(vipAddress, k -> new HashSet<>());
        h.add(node);
        if (h.size() > 1 && !overlapStart.containsKey(vipAddress)) {
            overlapStart.put(vipAddress, System.nanoTime());
            overlapNodes.put(vipAddress, new HashSet<>(h));
        }
    }

    synchronized void remove(String node, String vipAddress) {
        Set<String> h = holders.computeIfAbsent(vipAddress, k -> new HashSet<>());
        h.remove(node);
        closeOverlapIfOver(vipAddress, h);
    }

    /** The node's process is gone: it answers for nothing any more. */
    synchronized void forget(String node) {
        dead.add(node);
        holders.forEach((vipAddress, h) -> {
            h.remove(node);
            closeOverlapIfOver(vipAddress, h);
        });
    }

    synchronized void revive(String node) {
        dead.remove(node);
    }

    private void closeOverlapIfOver(String vipAddress, Set<String> h) {
        if (h.size() <= 1 && overlapStart.containsKey(vipAddress)) {
            overlaps.add(new Overlap(vipAddress, overlapNodes.remove(vipAddress), overlapStart.remove(vipAddress), System.nanoTime()));
        }
    }

    /** vipAddress → the node(s) that have it, sorted. */
    synchronized Map<String, Set<String>> holders() {
        Map<String, Set<String>> out = new TreeMap<>();
        holders.forEach((k, v) -> {
            if (!v.isEmpty()) {
                out.put(k, Set.copyOf(v));
            }
        });
        return out;
    }

    synchronized List<Overlap> overlaps() {
        List<Overlap> out = new ArrayList<>(overlaps);
        long now = System.nanoTime();
        overlapStart.forEach((vipAddress, start) -> out.add(new Overlap(vipAddress, overlapNodes.get(vipAddress), start, now)));
        return out;
    }

    synchronized boolean overlapOpen() {
        return !overlapStart.isEmpty();
    }

    /** An {@link AddressManager} for one node that writes into this ledger and counts calls. */
    AddressManager forNode(String node, AtomicInteger adds, AtomicInteger removes, AtomicInteger announces) {
        return new AddressManager() {
            @Override
            public void add(String address) {
                adds.incrementAndGet();
                Ledger.this.add(node, address);
            }

            @Override
            public void remove(String address) {
                removes.incrementAndGet();
                Ledger.this.remove(node, address);
            }

            @Override
            public void announce(String address) {
                announces.incrementAndGet();
            }
        };
    }
}
