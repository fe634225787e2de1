package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import io.tandem.config.Protocol;
import java.util.Locale;
import java.util.Optional;

/**
 * A VIP declared by a Marathon port label ({@code VIP_0: /orders:8080} or
 * {@code VIP_0: 10.1.0.10:8080}). The node creates a listener for it; the admin API shows the
 * name to address map. Its backends are published under {@link #serviceName()}.
 *
 * @param name     the label's name for a named VIP ({@code /orders}); empty for an address VIP
 * @param address  the IP literal clients connect to: the label's address, or for a named VIP the
 *                 address allocated deterministically from the configured block
 * @param port     the VIP port (1..65535)
 * @param protocol the protocol from the port definition; {@code udp,tcp} yields two VIPs
 */
public record MarathonVip(Optional<String> name, String address, int port, Protocol protocol) {

    /** Prefix of every service key that carries a VIP's backends. */
    public static final String SERVICE_PREFIX = "vip:";

    public MarathonVip {
        requireNonNull(name, "name");
        requireNonNull(address, "address");
        requireNonNull(protocol, "protocol");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected 1..65535)");
        }
    }

    /**
     * The service key this VIP's backends are published under:
     * {@code vip:<tcp|udp>:<address>:<port>}, with IPv6 addresses in brackets
     * ({@code vip:tcp:[fd00::1]:80}). It depends only on protocol, address and port, so two apps
     * labelled with the same VIP pool their tasks, as DC/OS does.
     */
    public String serviceName() {
        return SERVICE_PREFIX + protocol.name().toLowerCase(Locale.ROOT) + ":" + listen();
    }

    /** Where clients connect. */
    public HostPort listen() {
        return HostPort.of(address, port);
    }
}
