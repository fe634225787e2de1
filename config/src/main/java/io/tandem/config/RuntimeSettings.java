package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Node-wide settings that need a restart to change.
 *
 * @param eventLoops   event-loop threads; 0 = one per core
 * @param transport    epoll / NIO / auto
 * @param drainTimeout how long graceful shutdown (SIGTERM) lets connections finish
 */
public record RuntimeSettings(int eventLoops, TransportKind transport, Duration drainTimeout) {
    public static final RuntimeSettings DEFAULTS =
            new RuntimeSettings(0, TransportKind.AUTO, Duration.ofSeconds(30));

    public RuntimeSettings {
        requireNonNull(transport, "transport");
        requireNonNull(drainTimeout, "drainTimeout");
    }
}
