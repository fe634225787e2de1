package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * The admin HTTP API. Loopback by default; binding elsewhere requires a bearer {@code token}
 * (validation enforces it).
 */
public record AdminSettings(boolean enabled, HostPort listen, Optional<String> token) {
    public static final AdminSettings DEFAULTS =
            new AdminSettings(true, new HostPort("127.0.0.1", 9090), Optional.empty());

    public AdminSettings {
        requireNonNull(listen, "listen");
        requireNonNull(token, "token");
    }
}
