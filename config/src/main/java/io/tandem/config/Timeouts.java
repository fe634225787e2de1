package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Per-VIP timeouts.
 *
 * @param connect     backend connect timeout (each attempt)
 * @param idle        close a connection after this long with no bytes in either direction
 * @param userTimeout {@code TCP_USER_TIMEOUT} toward backends: how long unacknowledged data may
 *                    sit before the kernel declares a hung peer dead ({@link Duration#ZERO} = kernel default)
 */
public record Timeouts(Duration connect, Duration idle, Duration userTimeout) {
    public static final Timeouts DEFAULTS =
            new Timeouts(Duration.ofSeconds(1), Duration.ofMinutes(10), Duration.ofSeconds(10));

    public Timeouts {
        requireNonNull(connect, "connect");
        requireNonNull(idle, "idle");
        requireNonNull(userTimeout, "userTimeout");
    }
}
