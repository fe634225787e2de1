package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;

/**
 * Node-wide settings. {@code eventLoops} and {@code transport} need a restart to change;
 * {@code drainTimeout}, {@code dns} and {@code logging} apply on reload.
 *
 * @param eventLoops   event-loop threads; 0 = one per core
 * @param transport    epoll / NIO / auto
 * @param drainTimeout how long graceful shutdown (SIGTERM) and an operator drain let connections finish
 * @param dns          how backend host names are resolved and how often they are asked again
 * @param logging      the top-level {@code logging} section (the log line format)
 */
public record RuntimeSettings(int eventLoops, TransportKind transport, Duration drainTimeout, Dns dns,
                              LoggingSettings logging) {
    public static final RuntimeSettings DEFAULTS =
            new RuntimeSettings(0, TransportKind.AUTO, Duration.ofSeconds(30), Dns.DEFAULTS, LoggingSettings.DEFAULTS);

    public RuntimeSettings {
        requireNonNull(transport, "transport");
        requireNonNull(drainTimeout, "drainTimeout");
        requireNonNull(dns, "dns");
        requireNonNull(logging, "logging");
    }

    /** Settings with the default log format. */
    public RuntimeSettings(int eventLoops, TransportKind transport, Duration drainTimeout, Dns dns) {
        this(eventLoops, transport, drainTimeout, dns, LoggingSettings.DEFAULTS);
    }

    /** The same settings with another {@code logging} section. */
    public RuntimeSettings withLogging(LoggingSettings logging) {
        return new RuntimeSettings(eventLoops, transport, drainTimeout, dns, logging);
    }

    /** Settings with the default DNS behaviour. */
    public RuntimeSettings(int eventLoops, TransportKind transport, Duration drainTimeout) {
        this(eventLoops, transport, drainTimeout, Dns.DEFAULTS);
    }

    /**
     * Resolution of backend host names (static {@code backends} written as names). A name is asked
     * again when its answer's TTL runs out, the TTL held within {@code [minTtl, maxTtl]}; a failed
     * lookup is retried from {@code minTtl}, doubling up to {@code maxTtl}.
     *
     * @param servers name servers to ask ({@code ip:port}); empty = the system's ({@code /etc/resolv.conf})
     * @param minTtl  floor of the TTL: a name is never asked more often than this
     * @param maxTtl  ceiling of the TTL: a name is asked at least this often (and {@code /etc/hosts}
     *                entries, which have no TTL, are re-read this often)
     * @param timeout how long one query waits for an answer from one server
     */
    public record Dns(List<HostPort> servers, Duration minTtl, Duration maxTtl, Duration timeout) {
        public static final Dns DEFAULTS =
                new Dns(List.of(), Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofSeconds(2));

        public Dns {
            servers = List.copyOf(requireNonNull(servers, "servers"));
            requireNonNull(minTtl, "minTtl");
            requireNonNull(maxTtl, "maxTtl");
            requireNonNull(timeout, "timeout");
            if (maxTtl.compareTo(minTtl) < 0) {
                throw new IllegalArgumentException("maxTtl: " + Durations.format(maxTtl) + " (expected >= minTtl "
                        + Durations.format(minTtl) + ")");
            }
        }
    }
}
