package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

/**
 * A whole, validated node configuration. Immutable; a reload builds a new one.
 *
 * @param locality the node's fault domain and the CIDR fallback for backends ({@code node},
 *                 {@code locality})
 */
public record TandemConfig(RuntimeSettings runtime, AdminSettings admin, DiscoverySettings discovery,
                           List<VipConfig> vips, Optional<HaConfig> ha, LocalitySettings locality) {
    public TandemConfig {
        requireNonNull(runtime, "runtime");
        requireNonNull(admin, "admin");
        requireNonNull(discovery, "discovery");
        vips = List.copyOf(requireNonNull(vips, "vips"));
        requireNonNull(ha, "ha");
        requireNonNull(locality, "locality");
    }

    /** A config without fault-domain settings. */
    public TandemConfig(RuntimeSettings runtime, AdminSettings admin, DiscoverySettings discovery,
                        List<VipConfig> vips, Optional<HaConfig> ha) {
        this(runtime, admin, discovery, vips, ha, LocalitySettings.NONE);
    }

    /** A config of a single node (no HA group). */
    public TandemConfig(RuntimeSettings runtime, AdminSettings admin, DiscoverySettings discovery,
                        List<VipConfig> vips) {
        this(runtime, admin, discovery, vips, Optional.empty());
    }

    /** A config without discovery sources. */
    public TandemConfig(RuntimeSettings runtime, AdminSettings admin, List<VipConfig> vips) {
        this(runtime, admin, DiscoverySettings.NONE, vips);
    }

    public Optional<VipConfig> vip(String name) {
        return vips.stream().filter(v -> v.name().equals(name)).findFirst();
    }
}
