package io.tandem.config;

import static java.util.Objects.requireNonNull;

/** A statically configured backend of a VIP. {@code weight} is 1..1000 (used by weighted policies). */
public record BackendConfig(HostPort address, int weight) {
    public BackendConfig {
        requireNonNull(address, "address");
    }
}
