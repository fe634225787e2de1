package io.tandem.discovery.zookeeper;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import io.tandem.discovery.Endpoint;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The published membership of a ZooKeeper source: the live instances plus those that vanished
 * less than one debounce window ago.
 *
 * <p>Why debounce here: Curator registrants delete and recreate their node on every reconnect
 * "so that watchers fire", so a watcher sees remove-then-add for an instance that never went
 * away. Keeping a vanished instance for the window hides that; a real removal is published one
 * window late, which is harmless because passive and active checks eject a dead backend long
 * before. Additions and changes of a still-present znode are published at once.
 *
 * <p>Not thread-safe: owned by the source's single executor thread. Time is passed in (nanos)
 * so the logic is tested without sleeping.
 */
final class Membership {

    /** One live instance: which service it belongs to and what it resolves to. */
    record Entry(String service, Endpoint endpoint) {
        Entry {
            requireNonNull(service, "service");
            requireNonNull(endpoint, "endpoint");
        }
    }

    private record Pending(Entry entry, long deadlineNanos) {
    }

    private final long debounceNanos;
    private final Set<String> watchedServices;
    private Map<String, Entry> live = Map.of();
    private final Map<String, Pending> pending = new HashMap<>();

    /**
     * @param watchedServices services always present in the published map (possibly empty);
     *                        empty means "only services that have instances"
     */
    Membership(long debounceNanos, Set<String> watchedServices) {
        if (debounceNanos < 0) {
            throw new IllegalArgumentException("debounceNanos: " + debounceNanos + " (expected >= 0)");
        }
        this.debounceNanos = debounceNanos;
        this.watchedServices = Set.copyOf(watchedServices);
    }

    /** Replaces the live view, keyed by znode path. Paths that vanished start their window. */
    void update(Map<String, Entry> newLive, long nowNanos) {
        requireNonNull(newLive, "newLive");
        if (debounceNanos > 0) {
            for (Map.Entry<String, Entry> old : live.entrySet()) {
                if (!newLive.containsKey(old.getKey())) {
                    pending.put(old.getKey(), new Pending(old.getValue(), nowNanos + debounceNanos));
                }
            }
        }
        pending.keySet().removeAll(newLive.keySet());
        live = Map.copyOf(newLive);
    }

    /** Drops pending removals whose window ended; true when something was dropped. */
    boolean expire(long nowNanos) {
        return pending.values().removeIf(p -> p.deadlineNanos - nowNanos <= 0);
    }

    /** The earliest end of a pending window, if any. */
    OptionalLong nextDeadline() {
        OptionalLong min = OptionalLong.empty();
        for (Pending p : pending.values()) {
            if (min.isEmpty() || p.deadlineNanos - min.getAsLong() < 0) {
                min = OptionalLong.of(p.deadlineNanos);
            }
        }
        return min;
    }

    int pendingRemovals() {
        return pending.size();
    }

    /**
     * {@code service -> endpoints}. One endpoint per address and service: a live entry beats a
     * pending one (a DYNAMIC_SEQUENTIAL re-registration gets a new znode for the same address);
     * among equals the smallest origin wins, so the choice is stable.
     */
    Map<String, Set<Endpoint>> published() {
        Map<String, Map<HostPort, Endpoint>> live = new HashMap<>();
        Map<String, Map<HostPort, Endpoint>> leaving = new HashMap<>();
        for (String s : watchedServices) {
            live.put(s, new HashMap<>());
        }
        for (Entry e : this.live.values()) {
            add(live, e);
        }
        for (Pending p : pending.values()) {
            add(leaving, p.entry);
        }
        leaving.forEach((service, endpoints) -> {
            Map<HostPort, Endpoint> target = live.computeIfAbsent(service, k -> new HashMap<>());
            endpoints.forEach(target::putIfAbsent);
        });
        Map<String, Set<Endpoint>> out = new HashMap<>();
        live.forEach((service, endpoints) -> out.put(service, Set.copyOf(endpoints.values())));
        return Map.copyOf(out);
    }

    private static void add(Map<String, Map<HostPort, Endpoint>> byService, Entry e) {
        byService.computeIfAbsent(e.service(), k -> new HashMap<>()).merge(e.endpoint().address(), e.endpoint(),
                (have, cand) -> have.origin().compareTo(cand.origin()) <= 0 ? have : cand);
    }
}
