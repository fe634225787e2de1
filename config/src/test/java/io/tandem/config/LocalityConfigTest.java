package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Fault-domain keys: node, locality.cidrs/node_zones, backend region/zone/rack/priority, vips[].locality. */
class LocalityConfigTest {

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    private static ConfigResult withEnv(String yaml, Map<String, String> env) throws Exception {
        return ConfigReader.read(new ObjectMapper(new YAMLFactory()).readTree(yaml), "t.yaml", env);
    }

    private static final String NODE_A = """
            node: {region: eu-west-1, zone: eu-west-1a, rack: r1}
            vips: []
            """;

    @Test
    void backendLocalityAndPriorityLandInTheirRecord() {
        VipConfig v = valid("""
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    locality: {zone_aware: true, min_cluster_size: 2, overprovisioning_factor: 1.2}
                    backends:
                      - {address: 127.0.0.1:9001, region: eu-west-1, zone: eu-west-1a, rack: r7}
                      - {address: 127.0.0.1:9002, zone: eu-west-1b, priority: 1}
                      - 127.0.0.1:9003
                """).vips().getFirst();
        assertThat(v.backends()).extracting(BackendConfig::locality).containsExactly(
                Locality.of("eu-west-1", "eu-west-1a", "r7"), Locality.of(null, "eu-west-1b"), Locality.UNKNOWN);
        assertThat(v.backends()).extracting(BackendConfig::priority).containsExactly(0, 1, 0);
        assertThat(v.locality()).isEqualTo(new VipLocality(true, 2, 1.2));
    }

    @Test
    void withoutLocalityKeysNothingIsKnownAndZoneAwareRoutingIsOff() {
        TandemConfig c = valid("""
                vips:
                  - {name: web, listen: 127.0.0.1:8080, backends: [127.0.0.1:9001]}
                """);
        assertThat(c.locality()).isEqualTo(LocalitySettings.NONE);
        assertThat(c.vips().getFirst().locality()).isEqualTo(VipLocality.DEFAULTS);
        assertThat(VipLocality.DEFAULTS.overprovisioningFactor()).isEqualTo(1.4);
        assertThat(VipLocality.DEFAULTS.minClusterSize()).isEqualTo(6);
        assertThat(c.vips().getFirst().backends().getFirst().locality()).isEqualTo(Locality.UNKNOWN);
    }

    @Test
    void theNodeLocalityComesFromTheFileAndEachPartFromTheEnvironmentFirst() throws Exception {
        ConfigResult fileOnly = withEnv(NODE_A, Map.of());
        assertThat(((ConfigResult.Valid) fileOnly).config().locality().node())
                .isEqualTo(Locality.of("eu-west-1", "eu-west-1a", "r1"));
        ConfigResult env = withEnv(NODE_A, Map.of("TANDEM_NODE_ZONE", "eu-west-1b", "TANDEM_NODE_REGION", ""));
        assertThat(((ConfigResult.Valid) env).config().locality().node())
                .as("a non-empty variable wins; an empty one leaves the file's value")
                .isEqualTo(Locality.of("eu-west-1", "eu-west-1b", "r1"));
        ConfigResult envOnly = withEnv("vips: []\n", Map.of("TANDEM_NODE_REGION", "us-east-1",
                "TANDEM_NODE_ZONE", "us-east-1c"));
        assertThat(((ConfigResult.Valid) envOnly).config().locality().node())
                .isEqualTo(Locality.of("us-east-1", "us-east-1c"));
    }

    @Test
    void aBadNodeZoneInTheEnvironmentIsAnErrorNamingTheVariable() throws Exception {
        ConfigResult r = withEnv(NODE_A, Map.of("TANDEM_NODE_ZONE", "eu west"));
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        assertThat(((ConfigResult.Invalid) r).errors()).extracting(Object::toString).containsExactly(
                "env TANDEM_NODE_ZONE: \"eu west\" (expected a name matching " + Locality.NAME.pattern()
                        + ", e.g. eu-west-1 or eu-west-1a)");
    }

    @Test
    void badLocalityValuesNamePathValueAndExpectation() {
        String name = "a name matching " + Locality.NAME.pattern() + ", e.g. eu-west-1 or eu-west-1a";
        assertThat(errors("""
                node: {zone: "eu west", datacenter: x}
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    locality: {zone_aware: maybe, overprovisioning_factor: 0.5, min_cluster_size: 0}
                    backends:
                      - {address: 127.0.0.1:9001, zone: "", priority: 10}
                """)).contains(
                "node.zone: \"eu west\" (expected " + name + ")",
                "vips[0].backends[0].zone: \"\" (expected " + name + ")",
                "vips[0].backends[0].priority: 10 (expected an integer 0..9, 0 = primary)",
                "vips[0].locality.overprovisioning_factor: 0.5 (expected a number 1..10)")
                .anyMatch(e -> e.startsWith("node.datacenter:"))
                .anyMatch(e -> e.startsWith("vips[0].locality.zone_aware:"))
                .anyMatch(e -> e.startsWith("vips[0].locality.min_cluster_size: 0"));
    }

    @Test
    void cidrEntriesAreCheckedAndTheLongestPrefixWins() throws Exception {
        TandemConfig c = valid("""
                locality:
                  cidrs:
                    - {cidr: 10.0.0.0/8, region: eu-west-1}
                    - {cidr: 10.2.0.0/16, region: eu-west-1, zone: eu-west-1b}
                    - {cidr: 10.2.7.0/24, zone: eu-west-1b, rack: r7}
                    - {cidr: "fd00::/8", region: eu-west-1, zone: eu-west-1c}
                  node_zones: {eu-west-1a: 2, eu-west-1b: 1}
                vips: []
                """);
        LocalitySettings l = c.locality();
        assertThat(l.nodeZones()).isEqualTo(Map.of("eu-west-1a", 2, "eu-west-1b", 1));
        assertThat(l.lookup(InetAddress.ofLiteral("10.2.7.9"))).isEqualTo(Locality.of(null, "eu-west-1b", "r7"));
        assertThat(l.lookup(InetAddress.ofLiteral("10.2.8.9"))).isEqualTo(Locality.of("eu-west-1", "eu-west-1b"));
        assertThat(l.lookup(InetAddress.ofLiteral("10.9.0.1"))).isEqualTo(Locality.of("eu-west-1", null));
        assertThat(l.lookup(InetAddress.ofLiteral("fd12::1"))).isEqualTo(Locality.of("eu-west-1", "eu-west-1c"));
        assertThat(l.lookup(InetAddress.ofLiteral("192.168.0.1"))).isEqualTo(Locality.UNKNOWN);
        assertThat(l.lookup(null)).isEqualTo(Locality.UNKNOWN);
        // A part the backend has wins; the map fills in the rest.
        assertThat(Locality.of(null, null, "r9").orElse(l.lookup(InetAddress.ofLiteral("10.2.7.1"))))
                .isEqualTo(Locality.of(null, "eu-west-1b", "r9"));
    }

    @Test
    void badCidrEntriesAreAllReported() {
        String cidr = "an address block address/prefix with zero host bits, e.g. 10.1.0.0/16 or fd00::/8";
        assertThat(errors("""
                locality:
                  cidrs:
                    - {cidr: 10.2.0.1/16, zone: b}
                    - {cidr: 10.3.0.0/33, zone: b}
                    - {cidr: 10.4.0.0/16}
                    - {cidr: 10.5.0.0/16, zone: b}
                    - {cidr: 10.5.0.0/16, zone: c}
                    - {zone: d}
                  node_zones: {a: -1}
                vips: []
                """)).containsExactly(
                "locality.cidrs[0].cidr: \"10.2.0.1/16\" (expected " + cidr + ")",
                "locality.cidrs[1].cidr: \"10.3.0.0/33\" (expected " + cidr + ")",
                "locality.cidrs[2].zone: missing (expected a region, zone or rack for 10.4.0.0/16)",
                "locality.cidrs[4].cidr: \"10.5.0.0/16\" (expected a unique block; locality.cidrs[3] has the same)",
                "locality.cidrs[5].cidr: missing (expected " + cidr + ")",
                "locality.node_zones.a: -1 (expected a node count 0..1000)");
    }

    @Test
    void localityGivesUnknownPartsFromItsFallbackAndComparesZonesWithinTheRegion() {
        Locality a = Locality.of("eu", "eu-a");
        assertThat(Locality.of(null, "eu-a").sameZone(a)).as("unknown region counts as the same").isTrue();
        assertThat(Locality.of("us", "eu-a").sameZone(a)).isFalse();
        assertThat(Locality.of("eu", "eu-b").sameRegion(a)).isTrue();
        assertThat(Locality.UNKNOWN.sameZone(a)).isFalse();
        assertThat(a.toString()).isEqualTo("eu/eu-a");
        assertThat(Locality.of(null, "z", "r").toString()).isEqualTo("-/z/r");
        assertThat(Locality.UNKNOWN.toString()).isEqualTo("-");
    }
}
