package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;

/**
 * SNI routing for TLS passthrough ({@code vips[].sni}): each connection's TLS ClientHello is
 * peeked, never terminated, and its server name picks a backend set of the VIP: the set of the
 * first route that names it (exact names first, then the longest {@code *.} wildcard), else the
 * VIP's own {@code backends}/{@code service} (the default). HAProxy {@code tcp-request
 * inspect-delay} + {@code use_backend ... if { req.ssl_sni -i ... }} + {@code default_backend};
 * Envoy's {@code tls_inspector} with {@code filter_chain_match.server_names}.
 *
 * <p>A route's backends are members of the VIP like its own (checked, discovered, listed and
 * counted the same way); {@link BackendConfig#sniSets} says which sets each one serves.
 *
 * @param routes        the named routes, in config order (set {@code i + 1} is {@code routes[i]}; set 0 is
 *                      the VIP's own backends); empty: off
 * @param onMalformed   what happens to a connection whose hello names no server (no SNI), is
 *                      malformed, is not TLS at all, or is not complete within {@code timeout}
 * @param timeout       how long a connection may take to send its whole ClientHello
 * @param maxLength     the most bytes peeked (TLS record headers included) before the hello is
 *                      judged malformed
 */
public record SniRouting(List<Route> routes, OnMalformed onMalformed, Duration timeout, int maxLength) {
    /** {@code on_malformed}: where a connection goes when its hello gives no name to route on. */
    public enum OnMalformed {
        /** To the default set (the VIP's own backends), its bytes relayed as they came. */
        DEFAULT,
        /** Reset, counted in {@code tandem_vip_refused_total{reason="sni_..."}}. */
        REJECT
    }

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(3);
    /** One full TLS record of handshake data plus its header: what every real ClientHello fits in. */
    public static final int DEFAULT_MAX_LENGTH = 16_384 + 5;
    /** Routes of one VIP: the sets are a bitmask in {@link BackendConfig#sniSets}, bit 0 the default. */
    public static final int MAX_ROUTES = 62;
    public static final SniRouting OFF = new SniRouting(List.of(), OnMalformed.DEFAULT, DEFAULT_TIMEOUT,
            DEFAULT_MAX_LENGTH);

    public SniRouting {
        routes = List.copyOf(requireNonNull(routes, "routes"));
        requireNonNull(onMalformed, "onMalformed");
        requireNonNull(timeout, "timeout");
        if (routes.size() > MAX_ROUTES) {
            throw new IllegalArgumentException("routes: " + routes.size() + " (expected at most " + MAX_ROUTES + ")");
        }
    }

    public boolean enabled() {
        return !routes.isEmpty();
    }

    /** {@code on_malformed: reject}. */
    public boolean rejectsUnnamed() {
        return onMalformed == OnMalformed.REJECT;
    }

    /**
     * One route: the server names it takes ({@code api.example.com}, or {@code *.example.org} for
     * any name below example.org, not example.org itself), lower case, without a trailing dot.
     *
     * @param name    what metrics and logs call it ({@code route} label)
     * @param service a discovered service whose endpoints join the route's backends (as a VIP's
     *                {@code service} joins its own)
     */
    public record Route(String name, List<String> serverNames, java.util.Optional<String> service) {
        public Route {
            requireNonNull(name, "name");
            serverNames = List.copyOf(requireNonNull(serverNames, "serverNames"));
            requireNonNull(service, "service");
        }

        /** A route of static backends only. */
        public Route(String name, List<String> serverNames) {
            this(name, serverNames, java.util.Optional.empty());
        }
    }

    /** Whether the VIP's own {@code service} or a route's names a discovered service. */
    public boolean anyService() {
        return routes.stream().anyMatch(r -> r.service().isPresent());
    }

    /** The name of the default set in metrics and logs. */
    public static final String DEFAULT_ROUTE = "default";

    /** The bit of set {@code set} in {@link BackendConfig#sniSets}: 0 the default, {@code i + 1} routes[i]. */
    public static long bit(int set) {
        return 1L << set;
    }
}
