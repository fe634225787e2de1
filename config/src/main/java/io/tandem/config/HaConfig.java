package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The HA pair (or group): this node's identity, its peers, the ZooKeeper that arbitrates VIP
 * ownership, and the VIP addresses the group moves between nodes. See {@code docs/ha.md}.
 */
public record HaConfig(String nodeId, String cluster, HostPort listen, List<Peer> peers, String zkConnect,
                       Duration zkSessionTimeout, Duration zkConnectionTimeout, String interfaceName,
                       Duration heartbeatInterval, Duration heartbeatTimeout, Duration probeTimeout,
                       Duration isolationGrace, Duration claimDelay, boolean preempt, Duration preemptDelay,
                       int garpCount, Duration garpSpacing, Duration garpRepeatAfter, Duration addressLifetime,
                       List<Address> addresses) {
    public HaConfig {
        requireNonNull(nodeId, "nodeId");
        requireNonNull(cluster, "cluster");
        requireNonNull(listen, "listen");
        peers = List.copyOf(requireNonNull(peers, "peers"));
        requireNonNull(zkConnect, "zkConnect");
        requireNonNull(zkSessionTimeout, "zkSessionTimeout");
        requireNonNull(zkConnectionTimeout, "zkConnectionTimeout");
        requireNonNull(interfaceName, "interfaceName");
        requireNonNull(heartbeatInterval, "heartbeatInterval");
        requireNonNull(heartbeatTimeout, "heartbeatTimeout");
        requireNonNull(probeTimeout, "probeTimeout");
        requireNonNull(isolationGrace, "isolationGrace");
        requireNonNull(claimDelay, "claimDelay");
        requireNonNull(preemptDelay, "preemptDelay");
        requireNonNull(garpSpacing, "garpSpacing");
        requireNonNull(garpRepeatAfter, "garpRepeatAfter");
        requireNonNull(addressLifetime, "addressLifetime");
        addresses = List.copyOf(requireNonNull(addresses, "addresses"));
    }

    /** Another node of the group and where its peer link listens. */
    public record Peer(String id, HostPort address) {
        public Peer {
            requireNonNull(id, "id");
            requireNonNull(address, "address");
        }
    }

    /** A VIP address the group moves between nodes, with its preferred owner (else spread evenly). */
    public record Address(String address, Optional<String> preferredOwner) {
        public Address {
            requireNonNull(address, "address");
            requireNonNull(preferredOwner, "preferredOwner");
        }
    }
}
