package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Optional;

/**
 * A virtual service: where clients connect ({@code listen}, {@code protocol}) and how their
 * connections are spread over {@code backends}. A TCP connection keeps the VipConfig it was
 * accepted with, so a reload never changes a live connection's behaviour.
 *
 * @param retries    extra backends tried after a failed connect (HAProxy {@code retries} +
 *                   {@code redispatch}: each retry goes to a different backend, without delay)
 * @param health     passive detection, panic threshold, slow start, closing connections on failure
 * @param service    a discovered service whose endpoints join {@code backends} (ZooKeeper or Marathon)
 * @param udp        session settings (udp VIPs only)
 * @param locality   zone-aware routing and priority levels ({@link VipLocality})
 * @param acl        which clients may connect ({@link AccessControl}; {@link AccessControl#OPEN}: all)
 * @param hashBalanceFactor bounded-load hashing for {@code maglev}, in percent of the average load a
 *                   backend may carry (HAProxy {@code hash-balance-factor}); 0 = off
 * @param proxyProtocolIn a PROXY protocol header expected from each client ({@link ProxyProtocolIn})
 * @param sni        routing by the TLS server name to backend sets ({@link SniRouting}); its
 *                   routes' backends are in {@code backends} too, marked by {@link BackendConfig#sniSets}
 */
public record VipConfig(String name, HostPort listen, Protocol protocol, PolicyKind policy,
                        List<BackendConfig> backends, Limits limits, Timeouts timeouts, int retries,
                        ProxyProtocolVersion proxyProtocol, RelayMode relay,
                        Optional<HealthCheckSpec> healthCheck, HealthPolicy health, Optional<String> service,
                        UdpOptions udp, VipLocality locality, AccessControl acl, int hashBalanceFactor,
                        ProxyProtocolIn proxyProtocolIn, SniRouting sni, BackendSource source) {
    public VipConfig {
        requireNonNull(name, "name");
        requireNonNull(listen, "listen");
        requireNonNull(protocol, "protocol");
        requireNonNull(policy, "policy");
        backends = List.copyOf(requireNonNull(backends, "backends"));
        requireNonNull(limits, "limits");
        requireNonNull(timeouts, "timeouts");
        requireNonNull(proxyProtocol, "proxyProtocol");
        requireNonNull(relay, "relay");
        requireNonNull(healthCheck, "healthCheck");
        requireNonNull(health, "health");
        requireNonNull(service, "service");
        requireNonNull(udp, "udp");
        requireNonNull(locality, "locality");
        requireNonNull(acl, "acl");
        requireNonNull(proxyProtocolIn, "proxyProtocolIn");
        requireNonNull(sni, "sni");
        requireNonNull(source, "source");
        if (hashBalanceFactor != 0 && (hashBalanceFactor < MIN_HASH_BALANCE_FACTOR || hashBalanceFactor > MAX_HASH_BALANCE_FACTOR)) {
            throw new IllegalArgumentException("hashBalanceFactor: " + hashBalanceFactor + " (expected 0 or "
                    + MIN_HASH_BALANCE_FACTOR + ".." + MAX_HASH_BALANCE_FACTOR + ")");
        }
    }

    public static final int MIN_HASH_BALANCE_FACTOR = 100;
    public static final int MAX_HASH_BALANCE_FACTOR = 10_000;

    /** A VIP whose backend connections leave from where the kernel chooses (no {@code source}). */
    public VipConfig(String name, HostPort listen, Protocol protocol, PolicyKind policy,
                     List<BackendConfig> backends, Limits limits, Timeouts timeouts, int retries,
                     ProxyProtocolVersion proxyProtocol, RelayMode relay,
                     Optional<HealthCheckSpec> healthCheck, HealthPolicy health, Optional<String> service,
                     UdpOptions udp, VipLocality locality, AccessControl acl, int hashBalanceFactor,
                     ProxyProtocolIn proxyProtocolIn, SniRouting sni) {
        this(name, listen, protocol, policy, backends, limits, timeouts, retries, proxyProtocol, relay, healthCheck,
                health, service, udp, locality, acl, hashBalanceFactor, proxyProtocolIn, sni, BackendSource.NONE);
    }

    /** This VIP with {@code source} as its backend source. */
    public VipConfig withSource(BackendSource source) {
        return new VipConfig(name, listen, protocol, policy, backends, limits, timeouts, retries, proxyProtocol, relay,
                healthCheck, health, service, udp, locality, acl, hashBalanceFactor, proxyProtocolIn, sni, source);
    }

    /** A VIP without SNI routing. */
    public VipConfig(String name, HostPort listen, Protocol protocol, PolicyKind policy,
                     List<BackendConfig> backends, Limits limits, Timeouts timeouts, int retries,
                     ProxyProtocolVersion proxyProtocol, RelayMode relay, Optional<HealthCheckSpec> healthCheck,
                     HealthPolicy health, Optional<String> service, UdpOptions udp, VipLocality locality,
                     AccessControl acl, int hashBalanceFactor, ProxyProtocolIn proxyProtocolIn) {
        this(name, listen, protocol, policy, backends, limits, timeouts, retries, proxyProtocol, relay, healthCheck,
                health, service, udp, locality, acl, hashBalanceFactor, proxyProtocolIn, SniRouting.OFF);
    }

    /** A VIP whose clients connect directly (no PROXY header expected). */
    public VipConfig(String name, HostPort listen, Protocol protocol, PolicyKind policy,
                     List<BackendConfig> backends, Limits limits, Timeouts timeouts, int retries,
                     ProxyProtocolVersion proxyProtocol, RelayMode relay, Optional<HealthCheckSpec> healthCheck,
                     HealthPolicy health, Optional<String> service, UdpOptions udp, VipLocality locality,
                     AccessControl acl, int hashBalanceFactor) {
        this(name, listen, protocol, policy, backends, limits, timeouts, retries, proxyProtocol, relay, healthCheck,
                health, service, udp, locality, acl, hashBalanceFactor, ProxyProtocolIn.OFF);
    }

    /** A VIP without bounded-load hashing. */
    public VipConfig(String name, HostPort listen, Protocol protocol, PolicyKind policy,
                     List<BackendConfig> backends, Limits limits, Timeouts timeouts, int retries,
                     ProxyProtocolVersion proxyProtocol, RelayMode relay, Optional<HealthCheckSpec> healthCheck,
                     HealthPolicy health, Optional<String> service, UdpOptions udp, VipLocality locality,
                     AccessControl acl) {
        this(name, listen, protocol, policy, backends, limits, timeouts, retries, proxyProtocol, relay, healthCheck,
                health, service, udp, locality, acl, 0);
    }

    /** A VIP open to every client (no {@code acl}). */
    public VipConfig(String name, HostPort listen, Protocol protocol, PolicyKind policy,
                     List<BackendConfig> backends, Limits limits, Timeouts timeouts, int retries,
                     ProxyProtocolVersion proxyProtocol, RelayMode relay, Optional<HealthCheckSpec> healthCheck,
                     HealthPolicy health, Optional<String> service, UdpOptions udp, VipLocality locality) {
        this(name, listen, protocol, policy, backends, limits, timeouts, retries, proxyProtocol, relay, healthCheck,
                health, service, udp, locality, AccessControl.OPEN);
    }

    /** A VIP with default locality routing (no zone preference). */
    public VipConfig(String name, HostPort listen, Protocol protocol, PolicyKind policy,
                     List<BackendConfig> backends, Limits limits, Timeouts timeouts, int retries,
                     ProxyProtocolVersion proxyProtocol, RelayMode relay, Optional<HealthCheckSpec> healthCheck,
                     HealthPolicy health, Optional<String> service, UdpOptions udp) {
        this(name, listen, protocol, policy, backends, limits, timeouts, retries, proxyProtocol, relay, healthCheck,
                health, service, udp, VipLocality.DEFAULTS);
    }

    /** A VIP with default UDP options (all TCP VIPs). */
    public VipConfig(String name, HostPort listen, Protocol protocol, PolicyKind policy,
                     List<BackendConfig> backends, Limits limits, Timeouts timeouts, int retries,
                     ProxyProtocolVersion proxyProtocol, RelayMode relay, Optional<HealthCheckSpec> healthCheck,
                     HealthPolicy health, Optional<String> service) {
        this(name, listen, protocol, policy, backends, limits, timeouts, retries, proxyProtocol, relay, healthCheck,
                health, service, UdpOptions.DEFAULTS, VipLocality.DEFAULTS);
    }

    /** A VIP with default health policy and static backends only. */
    public VipConfig(String name, HostPort listen, Protocol protocol, PolicyKind policy,
                     List<BackendConfig> backends, Limits limits, Timeouts timeouts, int retries,
                     ProxyProtocolVersion proxyProtocol, RelayMode relay, Optional<HealthCheckSpec> healthCheck) {
        this(name, listen, protocol, policy, backends, limits, timeouts, retries, proxyProtocol, relay, healthCheck,
                HealthPolicy.DEFAULTS, Optional.empty(), UdpOptions.DEFAULTS, VipLocality.DEFAULTS);
    }
}
