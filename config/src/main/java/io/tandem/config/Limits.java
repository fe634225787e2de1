package io.tandem.config;

import static java.util.Objects.requireNonNull;

/**
 * Connection limits of a VIP. {@code 0} means unlimited. When a limit is hit the new
 * connection is refused (closed at once) and counted, like HAProxy {@code maxconn}
 * without a queue.
 *
 * @param perClient limits per client address or prefix ({@link PerClient#NONE}: none)
 */
public record Limits(int maxConnections, int maxConnectionsPerBackend, PerClient perClient) {
    public static final Limits UNLIMITED = new Limits(0, 0);

    public Limits {
        requireNonNull(perClient, "perClient");
    }

    /** No per-client limit. */
    public Limits(int maxConnections, int maxConnectionsPerBackend) {
        this(maxConnections, maxConnectionsPerBackend, PerClient.NONE);
    }

    /**
     * Limits per client ({@code limits.per_client}), HAProxy's stick-table {@code src_conn_cur}
     * and {@code src_conn_rate}: concurrent connections (UDP: sessions) and new ones per second,
     * per client address — or per prefix, so one IPv6 host cannot dodge the limit by rotating
     * through its /64. {@code 0} = unlimited.
     *
     * @param maxConnections concurrent connections (UDP: sessions) per client
     * @param maxRate        new connections (UDP: sessions) per second per client, burst up to one second's worth
     * @param ipv4Prefix     clients are counted per this IPv4 prefix length (32: per address)
     * @param ipv6Prefix     ... and per this IPv6 prefix length (default 64)
     * @param maxClients     clients tracked at once (least recently seen forgotten first): the memory bound
     */
    public record PerClient(int maxConnections, int maxRate, int ipv4Prefix, int ipv6Prefix, int maxClients) {
        public static final PerClient NONE = new PerClient(0, 0, 32, 64, 100_000);

        /** True when any per-client limit is set. */
        public boolean enabled() {
            return maxConnections > 0 || maxRate > 0;
        }
    }
}
