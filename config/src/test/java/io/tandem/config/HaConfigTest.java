package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The {@code ha} section: a node of an HA group, its peers, ZooKeeper and the moving addresses. */
class HaConfigTest {

    @Test
    void haSectionParsesWithDefaults() {
        HaConfig ha = valid("""
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  interface: eth0
                  addresses: [198.18.1.10, {address: 198.18.1.11, preferred_owner: lb2}]
                vips: []
                """).ha().orElseThrow();
        assertThat(ha.nodeId()).isEqualTo("lb1");
        assertThat(ha.cluster()).isEqualTo("default");
        assertThat(ha.peers()).containsExactly(new HaConfig.Peer("lb2", HostPort.of("198.18.0.2", 7946)));
        assertThat(ha.heartbeatInterval()).isEqualTo(Duration.ofMillis(25));
        assertThat(ha.heartbeatTimeout()).isEqualTo(Duration.ofMillis(150));
        assertThat(ha.probeTimeout()).isEqualTo(Duration.ofMillis(100));
        assertThat(ha.preempt()).as("on by default, as in keepalived").isTrue();
        assertThat(ha.preemptDelay()).isEqualTo(Duration.ofSeconds(10));
        assertThat(ha.addressLifetime()).as("off unless asked for").isZero();
        assertThat(ha.addresses()).containsExactly(new HaConfig.Address("198.18.1.10", Optional.empty()),
                new HaConfig.Address("198.18.1.11", Optional.of("lb2")));
    }

    @Test
    void haMistakesAreAllReportedWithTheirPaths() {
        ConfigResult r = ConfigLoader.parse("""
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb1, address: 198.18.0.2:7946}]
                  heartbeat: {interval: 50ms, timeout: 60ms}
                  addresses: [not-an-ip, {address: 198.18.1.11, preferred_owner: lb9}]
                vips: []
                """, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        List<String> errors = ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
        assertThat(errors).containsExactly(
                "ha.peers[0].id: \"lb1\" (expected another node's id, not this node's node_id)",
                "ha.heartbeat.timeout: 60ms (expected at least 2 x heartbeat.interval (100ms))",
                "ha.addresses[0]: \"not-an-ip\" (expected an IP literal)",
                "ha.addresses[1].preferred_owner: \"lb9\" (expected one of lb1)",
                "ha.zookeeper: missing (expected a mapping with connect: the ZooKeeper that arbitrates VIP ownership)");
    }

    @Test
    void addressLifetimeIsWholeSecondsOfAtLeastTwoOrZero() {
        String base = """
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  address_lifetime: %s
                  addresses: [198.18.1.10]
                vips: []
                """;
        assertThat(valid(base.formatted("3s")).ha().orElseThrow().addressLifetime()).isEqualTo(Duration.ofSeconds(3));
        ConfigResult r = ConfigLoader.parse(base.formatted("1500ms"), "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        assertThat(((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList()).containsExactly(
                "ha.address_lifetime: \"1500ms\" (expected 0 or whole seconds of at least 2s (the kernel counts address"
                        + " lifetimes in seconds))");
    }

    @Test
    void selfFenceIsAutoByDefaultAndTakesItsThreeSpellingsOnly() {
        String base = """
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  %s
                  addresses: [198.18.1.10]
                vips: []
                """;
        assertThat(valid(base.formatted("")).ha().orElseThrow().selfFence()).isEqualTo(HaConfig.SelfFence.AUTO);
        assertThat(valid(base.formatted("self_fence: nftables")).ha().orElseThrow().selfFence())
                .isEqualTo(HaConfig.SelfFence.NFTABLES);
        assertThat(valid(base.formatted("self_fence: off")).ha().orElseThrow().selfFence())
                .isEqualTo(HaConfig.SelfFence.OFF);
        ConfigResult r = ConfigLoader.parse(base.formatted("self_fence: iptables"), "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        assertThat(((ConfigResult.Invalid) r).errors().toString()).contains("ha.self_fence", "iptables", "auto",
                "nftables", "off");
    }

    @Test
    void preemptionCanBeTurnedOffOrGivenAnotherHoldDown() {
        String base = """
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  preempt: %s
                  addresses: [198.18.1.10]
                vips: []
                """;
        assertThat(valid(base.formatted("{enabled: false}")).ha().orElseThrow().preempt()).isFalse();
        HaConfig delayed = valid(base.formatted("{delay: 5s}")).ha().orElseThrow();
        assertThat(delayed.preempt()).isTrue();
        assertThat(delayed.preemptDelay()).isEqualTo(Duration.ofSeconds(5));
    }
}
