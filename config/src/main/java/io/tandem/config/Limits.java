package io.tandem.config;

/**
 * Connection limits of a VIP. {@code 0} means unlimited. When a limit is hit the new
 * connection is refused (closed at once) and counted, like HAProxy {@code maxconn}
 * without a queue.
 */
public record Limits(int maxConnections, int maxConnectionsPerBackend) {
    public static final Limits UNLIMITED = new Limits(0, 0);
}
