package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The zones of an HA group: {@code node.zone} for this node, {@code ha.peers[].zone} for the others. */
class HaZonesConfigTest {

    @Test
    void theGroupKnowsEveryDeclaredZoneThisNodesFromNodeZone() {
        HaConfig ha = valid("""
                node: {region: eu-west-1, zone: eu-west-1a}
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946, zone: eu-west-1b}, {id: lb3, address: 198.18.0.3:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  addresses: [198.18.1.10]
                vips: []
                """).ha().orElseThrow();
        assertThat(ha.zone()).contains("eu-west-1a");
        assertThat(ha.peers().getFirst().zone()).contains("eu-west-1b");
        assertThat(ha.peers().get(1).zone()).isEmpty();
        assertThat(ha.zones()).isEqualTo(Map.of("lb1", "eu-west-1a", "lb2", "eu-west-1b"));
    }

    @Test
    void withoutNodeZoneThisNodesZoneIsUnknown() {
        HaConfig ha = valid("""
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  addresses: [198.18.1.10]
                vips: []
                """).ha().orElseThrow();
        assertThat(ha.zone()).isEqualTo(Optional.empty());
        assertThat(ha.zones()).isEmpty();
    }

    @Test
    void aPeerZoneThatIsNoZoneNameIsReportedWithItsPath() {
        ConfigResult r = ConfigLoader.parse("""
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946, zone: "eu west/1b"}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  addresses: [198.18.1.10]
                vips: []
                """, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        assertThat(((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList()).containsExactly(
                "ha.peers[0].zone: \"eu west/1b\" (expected a name matching " + Locality.NAME.pattern()
                        + ", e.g. eu-west-1 or eu-west-1a)");
    }
}
