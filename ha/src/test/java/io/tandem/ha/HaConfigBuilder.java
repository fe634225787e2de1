package io.tandem.ha;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HaConfig;
import io.tandem.config.HostPort;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Builds the {@link HaConfig} a test starts a node with. It has no defaults of its own: the
 * operators' defaults live in the config reader, and a test says every value it runs with
 * ({@link HaFixture#config} sets them all), so no second set of defaults can drift.
 */
final class HaConfigBuilder {
    private final String nodeId;
    private final String cluster;
    private final HostPort listen;
    private final String zkConnect;
    private final List<HaConfig.Peer> peers = new ArrayList<>();
    private Optional<String> zone = Optional.empty();
    private final List<HaConfig.Address> addresses = new ArrayList<>();
    private Duration zkSessionTimeout;
    private Duration zkConnectionTimeout;
    private Duration heartbeatInterval;
    private Duration heartbeatTimeout;
    private Duration probeTimeout;
    private Duration isolationGrace;
    private Duration claimDelay;
    private Boolean preempt;
    private Duration preemptDelay;
    private String interfaceName;
    private Integer garpCount;
    private Duration garpSpacing;
    private Duration garpRepeatAfter;
    private Duration addressLifetime;

    HaConfigBuilder(String nodeId, String cluster, HostPort listen, String zkConnect) {
        this.nodeId = nodeId;
        this.cluster = cluster;
        this.listen = listen;
        this.zkConnect = zkConnect;
    }

    HaConfigBuilder peer(String id, HostPort address) {
        peers.add(new HaConfig.Peer(id, address));
        return this;
    }

    HaConfigBuilder peer(String id, HostPort address, String zone) {
        peers.add(new HaConfig.Peer(id, address, Optional.of(zone)));
        return this;
    }

    /** Every node's zone by node id: this node's ({@code node.zone}) and each peer's ({@code ha.peers[].zone}). */
    HaConfigBuilder zones(java.util.Map<String, String> byNode) {
        peers.replaceAll(p -> byNode.containsKey(p.id())
                ? new HaConfig.Peer(p.id(), p.address(), Optional.of(byNode.get(p.id()))) : p);
        if (byNode.containsKey(nodeId)) {
            zone = Optional.of(byNode.get(nodeId));
        }
        return this;
    }

    /** This node's zone ({@code node.zone}). */
    HaConfigBuilder zone(String value) {
        this.zone = Optional.of(value);
        return this;
    }

    HaConfigBuilder vipAddress(String address) {
        addresses.add(new HaConfig.Address(address, Optional.empty()));
        return this;
    }

    HaConfigBuilder vipAddress(String address, String preferredOwner) {
        addresses.add(new HaConfig.Address(address, Optional.of(preferredOwner)));
        return this;
    }

    HaConfigBuilder zkSession(Duration sessionTimeout, Duration connectionTimeout) {
        this.zkSessionTimeout = sessionTimeout;
        this.zkConnectionTimeout = connectionTimeout;
        return this;
    }

    HaConfigBuilder heartbeat(Duration interval, Duration timeout) {
        this.heartbeatInterval = interval;
        this.heartbeatTimeout = timeout;
        return this;
    }

    HaConfigBuilder probeTimeout(Duration value) {
        this.probeTimeout = value;
        return this;
    }

    HaConfigBuilder isolationGrace(Duration value) {
        this.isolationGrace = value;
        return this;
    }

    HaConfigBuilder claimDelay(Duration value) {
        this.claimDelay = value;
        return this;
    }

    HaConfigBuilder preempt(boolean enabled, Duration delay) {
        this.preempt = enabled;
        this.preemptDelay = delay;
        return this;
    }

    HaConfigBuilder interfaceName(String value) {
        this.interfaceName = value;
        return this;
    }

    HaConfigBuilder garp(int count, Duration spacing, Duration repeatAfter) {
        this.garpCount = count;
        this.garpSpacing = spacing;
        this.garpRepeatAfter = repeatAfter;
        return this;
    }

    HaConfigBuilder addressLifetime(Duration value) {
        this.addressLifetime = value;
        return this;
    }

    /** @throws NullPointerException naming the first value the test did not set */
    HaConfig build() {
        return new HaConfig(nodeId, cluster, listen, peers, zkConnect, zkSessionTimeout, zkConnectionTimeout,
                interfaceName, heartbeatInterval, heartbeatTimeout, probeTimeout, isolationGrace, claimDelay,
                requireNonNull(preempt, "preempt"), preemptDelay, requireNonNull(garpCount, "garpCount"), garpSpacing,
                garpRepeatAfter, addressLifetime, addresses).withZone(zone);
    }
}
