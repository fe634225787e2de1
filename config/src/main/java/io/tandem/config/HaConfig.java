package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The HA pair (or group): this node's identity, its peers, the ZooKeeper that arbitrates VIP
 * ownership, and the VIP addresses the group moves between nodes. See {@code docs/ha.md}.
 * {@code zone} is this node's zone ({@code node.zone}); each peer's is {@link Peer#zone}.
 */
public record HaConfig(String nodeId, String cluster, HostPort listen, List<Peer> peers, String zkConnect,
                       Duration zkSessionTimeout, Duration zkConnectionTimeout, String interfaceName,
                       Duration heartbeatInterval, Duration heartbeatTimeout, Duration probeTimeout,
                       Duration isolationGrace, Duration claimDelay, boolean preempt, Duration preemptDelay,
                       int garpCount, Duration garpSpacing, Duration garpRepeatAfter, Duration addressLifetime,
                       List<Address> addresses, Optional<String> zone, SelfFence selfFence) {
    /**
     * {@code ha.self_fence}: the kernel dead-man's switch that stops a starved or frozen node from
     * accepting traffic for its VIP addresses before a peer can take them over (docs/ha.md
     * "Self-fencing"). {@code AUTO} uses nftables when it can be installed and says so when not.
     */
    public enum SelfFence { AUTO, NFTABLES, OFF }

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
        requireNonNull(zone, "zone");
        requireNonNull(selfFence, "selfFence");
    }

    /** A config with the default self-fencing ({@code auto}). */
    public HaConfig(String nodeId, String cluster, HostPort listen, List<Peer> peers, String zkConnect,
                    Duration zkSessionTimeout, Duration zkConnectionTimeout, String interfaceName,
                    Duration heartbeatInterval, Duration heartbeatTimeout, Duration probeTimeout,
                    Duration isolationGrace, Duration claimDelay, boolean preempt, Duration preemptDelay,
                    int garpCount, Duration garpSpacing, Duration garpRepeatAfter, Duration addressLifetime,
                    List<Address> addresses, Optional<String> zone) {
        this(nodeId, cluster, listen, peers, zkConnect, zkSessionTimeout, zkConnectionTimeout, interfaceName,
                heartbeatInterval, heartbeatTimeout, probeTimeout, isolationGrace, claimDelay, preempt, preemptDelay,
                garpCount, garpSpacing, garpRepeatAfter, addressLifetime, addresses, zone, SelfFence.AUTO);
    }

    /** A group whose nodes declare no zone (this node's {@code node.zone} unknown). */
    public HaConfig(String nodeId, String cluster, HostPort listen, List<Peer> peers, String zkConnect,
                    Duration zkSessionTimeout, Duration zkConnectionTimeout, String interfaceName,
                    Duration heartbeatInterval, Duration heartbeatTimeout, Duration probeTimeout,
                    Duration isolationGrace, Duration claimDelay, boolean preempt, Duration preemptDelay,
                    int garpCount, Duration garpSpacing, Duration garpRepeatAfter, Duration addressLifetime,
                    List<Address> addresses) {
        this(nodeId, cluster, listen, peers, zkConnect, zkSessionTimeout, zkConnectionTimeout, interfaceName,
                heartbeatInterval, heartbeatTimeout, probeTimeout, isolationGrace, claimDelay, preempt, preemptDelay,
                garpCount, garpSpacing, garpRepeatAfter, addressLifetime, addresses, Optional.empty());
    }

    /**
     * This config with this node's zone ({@code node.zone}, after {@code TANDEM_NODE_ZONE}): the
     * config reader reads {@code node} after {@code ha} and fills it in here.
     */
    public HaConfig withZone(Optional<String> nodeZone) {
        return new HaConfig(nodeId, cluster, listen, peers, zkConnect, zkSessionTimeout, zkConnectionTimeout,
                interfaceName, heartbeatInterval, heartbeatTimeout, probeTimeout, isolationGrace, claimDelay, preempt,
                preemptDelay, garpCount, garpSpacing, garpRepeatAfter, addressLifetime, addresses, nodeZone, selfFence);
    }

    /** This config with {@code ha.self_fence} set. */
    public HaConfig withSelfFence(SelfFence mode) {
        return new HaConfig(nodeId, cluster, listen, peers, zkConnect, zkSessionTimeout, zkConnectionTimeout,
                interfaceName, heartbeatInterval, heartbeatTimeout, probeTimeout, isolationGrace, claimDelay, preempt,
                preemptDelay, garpCount, garpSpacing, garpRepeatAfter, addressLifetime, addresses, zone, mode);
    }


    /** Each node id of the group (this one and every peer) and its zone, where declared. */
    public java.util.Map<String, String> zones() {
        java.util.Map<String, String> out = new java.util.TreeMap<>();
        zone.ifPresent(z -> out.put(nodeId, z));
        peers.forEach(p -> p.zone().ifPresent(z -> out.put(p.id(), z)));
        return java.util.Collections.unmodifiableMap(out);
    }

    /**
     * Another node of the group, where its peer link listens, and its zone ({@code ha.peers[].zone};
     * the group spreads preferred owners over zones, docs/ha.md "Zones").
     */
    public record Peer(String id, HostPort address, Optional<String> zone) {
        public Peer {
            requireNonNull(id, "id");
            requireNonNull(address, "address");
            requireNonNull(zone, "zone");
        }

        /** A peer whose zone is not declared. */
        public Peer(String id, HostPort address) {
            this(id, address, Optional.empty());
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
