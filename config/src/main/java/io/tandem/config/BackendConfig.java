package io.tandem.config;

import static java.util.Objects.requireNonNull;

/**
 * A statically configured backend of a VIP. {@code weight} is 1..1000 (used by weighted policies).
 *
 * @param locality its fault domain ({@code region}, {@code zone}, {@code rack}); unknown parts may
 *                 come from {@code locality.cidrs}
 * @param priority its priority level: 0 = primary; a higher level takes traffic only while the lower
 *                 ones lack healthy capacity (Envoy priorities; HAProxy {@code backup} = 1)
 * @param sniSets  which backend sets of an {@link SniRouting} VIP it serves, as a bitmask: bit 0
 *                 the VIP's own {@code backends} (the default), bit {@code i + 1}
 *                 {@code sni.routes[i]}; 1 for every backend of a VIP without {@code sni}
 */
public record BackendConfig(HostPort address, int weight, Locality locality, int priority, long sniSets) {
    public static final int MAX_PRIORITY = 9;

    public BackendConfig {
        requireNonNull(address, "address");
        requireNonNull(locality, "locality");
        if (priority < 0 || priority > MAX_PRIORITY) {
            throw new IllegalArgumentException("priority: " + priority + " (expected 0.." + MAX_PRIORITY + ")");
        }
        if (sniSets == 0) {
            throw new IllegalArgumentException("sniSets: 0 (expected at least one set)");
        }
    }

    /** A backend of the VIP's own set (the only one without {@code sni}). */
    public BackendConfig(HostPort address, int weight, Locality locality, int priority) {
        this(address, weight, locality, priority, 1L);
    }

    /** A primary backend of unknown locality. */
    public BackendConfig(HostPort address, int weight) {
        this(address, weight, Locality.UNKNOWN, 0);
    }
}
