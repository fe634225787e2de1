package io.tandem.core.policy;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import io.tandem.core.pool.Backend;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * Maglev consistent hashing on the client address (Eisenbud et al., "Maglev: A Fast and
 * Reliable Software Network Load Balancer", NSDI 2016, §3.4). A client keeps its backend
 * while membership is stable, and a membership change moves only about the share of clients
 * that the change has to move; both nodes of an HA pair map a client to the same backend, so
 * a failover or a client spread over both nodes keeps its affinity.
 *
 * <p><b>Table.</b> A lookup table of prime size M (default {@value #DEFAULT_TABLE_SIZE}) maps
 * {@code hash(client) mod M} to a backend. Each backend has a preference permutation of the
 * slots, {@code (offset + j * skip) mod M} with {@code offset = h1 mod M} and
 * {@code skip = h2 mod (M - 1) + 1}, h1 and h2 being two independently seeded 64-bit hashes of
 * {@code backend.address().toString()}. Backends then take turns claiming their next free
 * preferred slot until the table is full.
 *
 * <p><b>Weights.</b> Turns are weighted the way Envoy's Maglev does it: in every round a
 * backend earns {@code weight / maxWeight} of a turn and takes a turn whenever it has earned a
 * whole one, so the heaviest backend claims one slot per round and a backend of half its
 * weight one every other round. Slot counts are proportional to weight to within a slot or
 * two, and the turns stay interleaved (no backend grabs a long run of its preferences, which
 * would make the table less stable under change).
 *
 * <p><b>Determinism.</b> The table depends only on the set of (address, weight) pairs:
 * backends are sorted by address string (then weight) before population, never taken in
 * input order. The hashes are defined in {@link Hashing}, not by the JDK.
 *
 * <p><b>Retries.</b> With {@code tried} non-empty, the pick walks forward through the table
 * from the client's slot to the first backend not tried: deterministic, so both nodes send a
 * retried client to the same second choice.
 *
 * <p><b>Bounded loads.</b> With a balance factor c (percent), a backend whose open connections
 * reach {@code ceil(c/100 × (total + 1) × weight / totalWeight)} is passed over and the walk goes
 * on to the next backend in table order that is under its bound (Mirrokni, Thorup, Zadimoghaddam,
 * "Consistent Hashing with Bounded Loads", SODA 2018; HAProxy {@code hash-balance-factor}, Envoy
 * {@code hash_balance_factor}). A client keeps its backend unless that backend is overloaded, and
 * an overflow goes to the same next backend on both nodes. The bounds sum to more than the total,
 * so some backend is always under its bound; a pick costs one pass over the backends' counters.
 */
final class MaglevPolicy implements Policy {
    static final int DEFAULT_TABLE_SIZE = 65537;
    static final int MAX_TABLE_SIZE = 1 << 24;

    private static final long OFFSET_SEED = 0x6d61676c65763031L;   // "maglev01"
    private static final long SKIP_SEED = 0x736b69702d736b69L;     // "skip-ski"
    private static final long CLIENT_SEED = 0x636c69656e742d31L;   // "client-1"

    private static final Comparator<Backend> BY_ADDRESS_THEN_WEIGHT =
            Comparator.comparing((Backend b) -> b.address().toString()).thenComparingInt(Backend::weight);


    private final Backend[] backends;   // sorted
    private final Backend[] table;
    /** Bounded loads: percent of the weighted average a backend may carry; 0 = off. */
    private final int balanceFactor;
    private final long totalWeight;

    /**
     * @param routable  backends of positive weight, any order
     * @param tableSize a prime, at least the number of backends (well above it for balance:
     *                  the paper recommends M &gt; 100 × backends)
     */
    MaglevPolicy(Backend[] routable, int tableSize) {
        this(routable, tableSize, 0);
    }

    /** @param balanceFactor bounded loads in percent (at least 100), or 0 for plain hashing */
    MaglevPolicy(Backend[] routable, int tableSize, int balanceFactor) {
        requireNonNull(routable, "routable");
        if (balanceFactor != 0 && balanceFactor < 100) {
            throw new IllegalArgumentException("balanceFactor: " + balanceFactor + " (expected 0 or at least 100)");
        }
        this.balanceFactor = balanceFactor;
        if (routable.length == 0) {
            throw new IllegalArgumentException("routable: [] (expected at least one backend)");
        }
        if (tableSize < routable.length || tableSize > MAX_TABLE_SIZE || !isPrime(tableSize)) {
            throw new IllegalArgumentException("tableSize: " + tableSize + " (expected a prime in "
                    + Math.max(2, routable.length) + ".." + MAX_TABLE_SIZE + ")");
        }
        for (Backend b : routable) {
            if (b.weight() <= 0) {
                throw new IllegalArgumentException("weight: " + b.weight() + " of " + b + " (expected > 0)");
            }
        }
        this.backends = routable.clone();
        Arrays.sort(this.backends, BY_ADDRESS_THEN_WEIGHT);
        this.table = populate(this.backends, tableSize);
        long w = 0;
        for (Backend b : this.backends) {
            w += b.weight();
        }
        this.totalWeight = w;
    }

    /** A Maglev policy with bounded loads (tests). */
    static MaglevPolicy of(List<Backend> backends, int tableSize, int balanceFactor) {
        return new MaglevPolicy(Policies.routable(backends), tableSize, balanceFactor);
    }

    /** A Maglev policy with a table of {@code tableSize} slots (tests use small primes). */
    static MaglevPolicy of(List<Backend> backends, int tableSize) {
        return new MaglevPolicy(Policies.routable(backends), tableSize);
    }

    @Override
    public Backend pick(InetAddress client, Collection<Backend> tried) {
        int m = table.length;
        int slot = (int) Long.remainderUnsigned(clientHash(client), m);
        if (balanceFactor != 0) {
            return pickBounded(slot, tried);
        }
        if (tried.isEmpty()) {
            return table[slot];
        }
        if (!anyUntried(tried)) {
            return null;   // spare the M-step walk when nothing is left
        }
        for (int i = 0; i < m; i++) {
            Backend b = table[slot];
            if (!tried.contains(b)) {
                return b;
            }
            if (++slot == m) {
                slot = 0;
            }
        }
        return null;
    }

    /** The first backend from {@code slot} on, in table order, not tried and under its load bound. */
    private Backend pickBounded(int slot, Collection<Backend> tried) {
        long total = 0;
        for (Backend b : backends) {
            total += Math.max(0, b.active());
        }
        double perWeight = balanceFactor / 100.0 * (total + 1) / totalWeight;
        int m = table.length;
        Backend firstUntried = null;
        Backend last = null;
        for (int i = 0; i < m; i++) {
            Backend b = table[slot];
            if (b != last) { // runs of one backend's slots are judged once
                last = b;
                if (tried.isEmpty() || !tried.contains(b)) {
                    if (b.active() < (long) Math.ceil(perWeight * b.weight())) {
                        return b;
                    }
                    if (firstUntried == null) {
                        firstUntried = b;
                    }
                }
            }
            if (++slot == m) {
                slot = 0;
            }
        }
        return firstUntried; // only when every untried backend is at its bound (tried ones took the slack)
    }

    @Override
    public boolean usesClientAddress() {
        return true;
    }

    /**
     * The client's 64-bit hash, of its address only (no port, so all of a client's connections
     * land together). IPv4 hashes the 32-bit address without allocating; IPv6 hashes a copy of
     * its 16 bytes (one small, short-lived array per pick).
     */
    static long clientHash(InetAddress client) {
        requireNonNull(client, "client");
        if (client instanceof Inet4Address v4) {
            return Hashing.fmix64(CLIENT_SEED ^ (ipv4(v4) & 0xffffffffL));
        }
        return Hashing.hash64(client.getAddress(), CLIENT_SEED);
    }

    private static int ipv4(Inet4Address address) {
        return io.tandem.config.Ipv4.bits(address); // no byte[] copy per pick (JMH: 24 B/op with getAddress())
    }

    /** A copy of the lookup table; for tests. */
    Backend[] table() {
        return table.clone();
    }

    private boolean anyUntried(Collection<Backend> tried) {
        for (Backend b : backends) {
            if (!tried.contains(b)) {
                return true;
            }
        }
        return false;
    }

    private static Backend[] populate(Backend[] sorted, int m) {
        int n = sorted.length;
        int[] position = new int[n];   // where each backend's permutation continues
        int[] skip = new int[n];
        long[] credit = new long[n];
        long maxWeight = 0;
        for (int i = 0; i < n; i++) {
            byte[] key = sorted[i].address().toString().getBytes(UTF_8);
            position[i] = (int) Long.remainderUnsigned(Hashing.hash64(key, OFFSET_SEED), m);
            skip[i] = (int) Long.remainderUnsigned(Hashing.hash64(key, SKIP_SEED), m - 1) + 1;
            maxWeight = Math.max(maxWeight, sorted[i].weight());
        }
        int[] entry = new int[m];
        Arrays.fill(entry, -1);
        int filled = 0;
        // m is prime and 1 <= skip < m, so each permutation visits every slot: a backend with
        // a turn always finds a free one, and the loop ends after exactly m claims.
        while (true) {
            for (int i = 0; i < n; i++) {
                credit[i] += sorted[i].weight();
                if (credit[i] < maxWeight) {
                    continue;
                }
                credit[i] -= maxWeight;
                int c = position[i];
                while (entry[c] >= 0) {
                    c += skip[i];
                    if (c >= m) {
                        c -= m;
                    }
                }
                entry[c] = i;
                c += skip[i];
                position[i] = c >= m ? c - m : c;
                if (++filled == m) {
                    Backend[] table = new Backend[m];
                    for (int s = 0; s < m; s++) {
                        table[s] = sorted[entry[s]];
                    }
                    return table;
                }
            }
        }
    }

    static boolean isPrime(int x) {
        if (x < 2) {
            return false;
        }
        if (x % 2 == 0) {
            return x == 2;
        }
        for (int d = 3; (long) d * d <= x; d += 2) {
            if (x % d == 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "MaglevPolicy[backends=" + backends.length + ", tableSize=" + table.length + "]";
    }
}
