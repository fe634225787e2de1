package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the node knows about each backend host name: its last good addresses, why it has none,
 * and when to ask again. Pure — answers come in, decisions go out; no I/O, no clock (the shape
 * of {@code ha/Arbiter}) — so every rule is a unit test ({@code NameTableTest}).
 *
 * <p>The rules, and who they come from:
 * <ul>
 *   <li><b>Found</b>: the name's addresses are exactly the answer's (Envoy {@code STRICT_DNS}:
 *       every address is a backend). Ask again when the answer's TTL runs out, the TTL held
 *       within {@code [minTtl, maxTtl]} (Envoy {@code respect_dns_ttl} with
 *       {@code dns_min_refresh_rate}; HAProxy asks on a fixed {@code timeout resolve}).</li>
 *   <li><b>NotFound</b> (NXDOMAIN, or the name has no address record): the server says the name
 *       has no address, so it has none — its backends leave the pool (their open connections
 *       finish) and the name is shown {@code UNRESOLVED} with the reason.</li>
 *   <li><b>Failed</b> (timeout, SERVFAIL, REFUSED, no server reachable): says nothing about the
 *       name. A name with good addresses keeps them for as long as the failures last — a DNS
 *       outage must not empty a pool, as a ZooKeeper outage must not (DESIGN §6); Envoy keeps its
 *       hosts the same way, HAProxy for {@code hold timeout}. A name never resolved stays
 *       {@code UNRESOLVED} with the failure as its reason (HAProxy {@code init-addr none}).</li>
 *   <li>After NotFound or Failed, ask again after {@code minTtl}, doubling on each further
 *       failure up to {@code maxTtl} (Envoy's {@code dns_failure_refresh_rate} back-off).</li>
 * </ul>
 *
 * <p>A table with a schedule rather than an expiring cache (Caffeine): here the TTL says when to
 * ask again, not when to forget — during a DNS outage the last good answer must outlive its TTL.
 */
final class NameTable {

    /** What one lookup of a name said. */
    sealed interface Answer permits Found, NotFound, Failed {
    }

    /** The name's addresses now, and how long the server says they hold. */
    record Found(List<InetAddress> addresses, Duration ttl) implements Answer {
        Found {
            addresses = List.copyOf(requireNonNull(addresses, "addresses"));
            requireNonNull(ttl, "ttl");
            if (addresses.isEmpty()) {
                throw new IllegalArgumentException("addresses: [] (expected at least one; no address is NotFound)");
            }
        }
    }

    /** The server says the name has no address (NXDOMAIN, or no A/AAAA record). */
    record NotFound(String reason) implements Answer {
        NotFound {
            requireNonNull(reason, "reason");
        }
    }

    /** No usable answer (timeout, SERVFAIL, REFUSED, network error): nothing learnt about the name. */
    record Failed(String reason) implements Answer {
        Failed {
            requireNonNull(reason, "reason");
        }
    }

    /**
     * What to do after an answer.
     *
     * @param changed    the name's addresses (or its reason for having none) changed: re-sync its VIPs
     * @param held       a failure left the last good addresses in place
     * @param askAgainIn when to look the name up again
     */
    record Decision(boolean changed, boolean held, Duration askAgainIn) {
    }

    /** One name's state: addresses (empty when unresolved), why it has none, failures in a row. */
    private record Entry(List<InetAddress> addresses, String unresolvedReason, int failures) {
    }

    private static final Comparator<InetAddress> BY_BYTES = Comparator.comparing(InetAddress::getAddress,
            java.util.Arrays::compareUnsigned);

    private final Map<String, Entry> names = new HashMap<>();
    private Duration minTtl;
    private Duration maxTtl;

    NameTable(Duration minTtl, Duration maxTtl) {
        bounds(minTtl, maxTtl);
    }

    /** New TTL bounds; they apply from the next answer. */
    void bounds(Duration min, Duration max) {
        requireNonNull(min, "min");
        requireNonNull(max, "max");
        if (min.isNegative() || max.compareTo(min) < 0) {
            throw new IllegalArgumentException("ttl bounds: " + min + ".." + max + " (expected 0 <= min <= max)");
        }
        this.minTtl = min;
        this.maxTtl = max;
    }

    Decision onAnswer(String name, Answer answer) {
        requireNonNull(name, "name");
        requireNonNull(answer, "answer");
        Entry before = names.get(name);
        Entry after = switch (answer) {
            case Found f -> new Entry(f.addresses().stream().distinct().sorted(BY_BYTES).toList(), null, 0);
            case NotFound nf -> new Entry(List.of(), nf.reason(), failures(before) + 1);
            case Failed fl -> before != null && !before.addresses().isEmpty()
                    ? new Entry(before.addresses(), null, before.failures() + 1)
                    : new Entry(List.of(), "lookup failed: " + fl.reason(), failures(before) + 1);
        };
        names.put(name, after);
        boolean changed = before == null || !before.addresses().equals(after.addresses())
                || !java.util.Objects.equals(before.unresolvedReason(), after.unresolvedReason());
        boolean held = answer instanceof Failed && !after.addresses().isEmpty();
        Duration next = answer instanceof Found f ? clamp(f.ttl()) : backoff(after.failures());
        return new Decision(changed, held, next);
    }

    /** The name's current addresses, sorted; empty when it has none (or was never looked up). */
    List<InetAddress> addresses(String name) {
        Entry e = names.get(name);
        return e == null ? List.of() : e.addresses();
    }

    /** Why the name has no address; empty when it has some or was never looked up. */
    Optional<String> unresolvedReason(String name) {
        Entry e = names.get(name);
        return e == null ? Optional.empty() : Optional.ofNullable(e.unresolvedReason());
    }

    boolean knows(String name) {
        return names.containsKey(name);
    }

    /** Forgets every name not in {@code keep} (no longer in the config). */
    void retain(Collection<String> keep) {
        names.keySet().retainAll(keep);
    }

    private static int failures(Entry e) {
        return e == null ? 0 : e.failures();
    }

    private Duration clamp(Duration ttl) {
        return ttl.compareTo(minTtl) < 0 ? minTtl : ttl.compareTo(maxTtl) > 0 ? maxTtl : ttl;
    }

    /** minTtl, 2×, 4×, … up to maxTtl, for the {@code failures}-th failure in a row (1-based). */
    private Duration backoff(int failures) {
        int doublings = Math.min(Math.max(failures - 1, 0), 30);
        long ms = Math.max(1, minTtl.toMillis());
        long wait = ms << doublings;
        return wait <= 0 || wait > maxTtl.toMillis() ? maxTtl : Duration.ofMillis(wait);
    }
}
