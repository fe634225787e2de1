package io.tandem.ha;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;

/**
 * Another node of the HA group: its node id (as it names itself in its own settings) and the
 * host:port of its peer-link listener. Every node lists every other node.
 */
public record HaPeer(String nodeId, HostPort address) {
    public HaPeer {
        requireNonNull(nodeId, "nodeId");
        requireNonNull(address, "address");
        if (nodeId.isBlank()) {
            throw new IllegalArgumentException("nodeId: \"\" (expected a non-blank node id)");
        }
    }

    public static HaPeer of(String nodeId, HostPort address) {
        return new HaPeer(nodeId, address);
    }
}
