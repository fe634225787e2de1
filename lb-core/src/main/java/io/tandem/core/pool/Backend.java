package io.tandem.core.pool;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import io.tandem.config.Locality;
import java.net.InetSocketAddress;

/**
 * A backend as the data path sees it: where to connect, its weight in this snapshot, its fault
 * domain and priority level, and its live counters. Immutable except for {@link #stats()}, which
 * is shared by every snapshot that contains the same backend so counters survive membership,
 * weight and placement changes ({@link #withWeight(int)}, {@link #withPlacement}).
 */
public final class Backend {
    private final HostPort address;
    private final InetSocketAddress socketAddress;
    private final int weight;
    private final BackendStats stats;
    private final Locality locality;
    private final int priority;
    /** Which SNI backend sets it serves ({@link io.tandem.config.BackendConfig#sniSets}); 1 without sni. */
    private final long sniSets;

    private Backend(HostPort address, InetSocketAddress socketAddress, int weight, BackendStats stats,
                    Locality locality, int priority, long sniSets) {
        this.address = requireNonNull(address, "address");
        this.socketAddress = requireNonNull(socketAddress, "socketAddress");
        if (weight < 0) {
            throw new IllegalArgumentException("weight: " + weight + " (expected >= 0)");
        }
        this.weight = weight;
        this.stats = requireNonNull(stats, "stats");
        this.locality = requireNonNull(locality, "locality");
        if (priority < 0) {
            throw new IllegalArgumentException("priority: " + priority + " (expected >= 0)");
        }
        this.priority = priority;
        this.sniSets = sniSets;
    }

    /** A new backend with fresh counters. {@code socketAddress} should be resolved already. */
    public static Backend of(HostPort address, InetSocketAddress socketAddress, int weight) {
        return of(address, socketAddress, weight, Locality.UNKNOWN, 0);
    }

    /** A new backend with fresh counters, in {@code locality} at priority level {@code priority}. */
    public static Backend of(HostPort address, InetSocketAddress socketAddress, int weight, Locality locality,
                             int priority) {
        return of(address, socketAddress, weight, locality, priority, 1L);
    }

    /** A new backend with fresh counters, serving the SNI backend sets {@code sniSets} (a bitmask). */
    public static Backend of(HostPort address, InetSocketAddress socketAddress, int weight, Locality locality,
                             int priority, long sniSets) {
        return new Backend(address, socketAddress, weight, new BackendStats(), locality, priority, sniSets);
    }

    /** Convenience for tests and quick mode: resolves {@code address} now (may block on DNS). */
    public static Backend of(HostPort address, int weight) {
        return of(address, new InetSocketAddress(address.host(), address.port()), weight);
    }

    /** The same backend (same counters) with another weight, for a new snapshot. */
    public Backend withWeight(int newWeight) {
        return newWeight == weight ? this
                : new Backend(address, socketAddress, newWeight, stats, locality, priority, sniSets);
    }

    /** The same backend (same counters) in another locality or priority level, for a new snapshot. */
    public Backend withPlacement(Locality newLocality, int newPriority) {
        return newLocality.equals(locality) && newPriority == priority ? this
                : new Backend(address, socketAddress, weight, stats, newLocality, newPriority, sniSets);
    }

    /** The same backend (same counters) in other SNI backend sets, for a new snapshot. */
    public Backend withSniSets(long newSets) {
        return newSets == sniSets ? this : new Backend(address, socketAddress, weight, stats, locality, priority, newSets);
    }

    /** Whether it serves SNI backend set {@code set} (0: the VIP's own backends, the default). */
    public boolean inSniSet(int set) {
        return (sniSets & (1L << set)) != 0;
    }

    public long sniSets() {
        return sniSets;
    }

    /** Its fault domain (region, zone, rack), as far as known. */
    public Locality locality() {
        return locality;
    }

    /** Its priority level: 0 = primary, higher = used only while lower levels lack healthy capacity. */
    public int priority() {
        return priority;
    }

    public HostPort address() {
        return address;
    }

    public InetSocketAddress socketAddress() {
        return socketAddress;
    }

    public int weight() {
        return weight;
    }

    public BackendStats stats() {
        return stats;
    }

    /** Connections currently proxied to this backend. */
    public int active() {
        return stats.active.get();
    }

    /**
     * Same backend = same address and same counters, whatever the weight: a snapshot that only
     * re-weights a backend (slow start) still contains "the same" backend for retries and UDP
     * sessions.
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof Backend b && b.stats == stats && b.address.equals(address);
    }

    @Override
    public int hashCode() {
        return address.hashCode();
    }

    @Override
    public String toString() {
        return address.toString();
    }
}
