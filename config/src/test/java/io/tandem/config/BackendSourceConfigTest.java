package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A VIP's {@code source} (where backend connections leave from): read, validated, and cut per HA node. */
class BackendSourceConfigTest {

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    private static final String HA = """
            ha:
              node_id: lb2
              listen: 198.18.0.2:7946
              peers: [{id: lb1, address: 198.18.0.1:7946}, {id: lb3, address: 198.18.0.3:7946}]
              zookeeper: {connect: "198.18.0.9:2181"}
              interface: eth0
              addresses: [198.18.1.10]
            """;

    @Test
    void anAddressOrTheVipsOwnWithAnOptionalRangeIsRead() {
        BackendSource a = valid("""
                vips:
                  - {name: w, listen: 198.18.1.10:80, backends: [10.0.0.5:8080], source: {address: 198.18.1.11, ports: "40000-49999"}}
                """).vips().getFirst().source();
        assertThat(a).isEqualTo(BackendSource.of(InetAddress.ofLiteral("198.18.1.11"), 40_000, 49_999));
        BackendSource v = valid("""
                vips:
                  - {name: w, listen: 198.18.1.10:80, backends: [10.0.0.5:8080], source: {address: vip}}
                """).vips().getFirst().source();
        assertThat(v.kind()).isEqualTo(BackendSource.Kind.VIP);
        assertThat(v.hasPorts()).isFalse();
        assertThat(v.resolve(HostPort.of("198.18.1.10", 80))).contains(InetAddress.ofLiteral("198.18.1.10"));
        assertThat(valid("vips: [{name: w, listen: 127.0.0.1:80, backends: [127.0.0.1:9001]}]").vips().getFirst()
                .source()).isEqualTo(BackendSource.NONE);
    }

    @Test
    void inAnHaGroupEachNodeTakesItsOwnSliceOfTheRange() {
        String vips = """
                vips:
                  - {name: w, listen: 198.18.1.10:80, backends: [10.0.0.5:8080], source: {address: vip, ports: "40000-40999"}}
                """;
        BackendSource lb2 = valid(HA + vips).vips().getFirst().source();
        // ids sorted lb1, lb2, lb3: lb2 is the second of three slices of 1,000 ports (333 each, the last 334)
        assertThat(lb2.nodeLow()).isEqualTo(40_333);
        assertThat(lb2.nodeHigh()).isEqualTo(40_665);
        BackendSource lb3 = valid(HA.replace("node_id: lb2", "node_id: lb3").replace("id: lb3,", "id: lb2,") + vips)
                .vips().getFirst().source();
        assertThat(lb3.nodeLow()).isEqualTo(40_666);
        assertThat(lb3.nodeHigh()).isEqualTo(40_999);
        assertThat(valid(vips).vips().getFirst().source().nodeLow()).as("no HA group: the whole range").isEqualTo(40_000);
        @SuppressWarnings("unchecked")
        Map<String, Object> vip = ((List<Map<String, Object>>) ConfigDump.of(valid(HA + vips)).get("vips")).getFirst();
        assertThat(vip.get("source")).isEqualTo(Map.of("address", "vip", "ports", "40000-40999", "node_ports", "40333-40665"));
        assertThat(errors(HA + vips.replace("40000-40999", "40000-40001")))
                .containsExactly("vips[0].source.ports: \"40000-40001\" (expected at least 3 ports: one slice per node of the HA group)");
    }

    @Test
    void eachBadValueIsReportedWithItsPathValueAndWhatWasExpected() {
        assertThat(errors("""
                vips:
                  - {name: a, listen: 198.18.1.10:80, backends: [10.0.0.5:8080], source: {address: "2001:db8::1"}}
                  - {name: b, listen: 0.0.0.0:81, backends: [10.0.0.5:8080], source: {address: vip}}
                  - {name: c, listen: 198.18.1.10:82, backends: [10.0.0.5:8080], source: {address: lb.example}}
                  - {name: d, listen: 198.18.1.10:83, backends: [10.0.0.5:8080], source: {address: vip, ports: "50000-40000"}}
                  - {name: e, listen: 198.18.1.10:84, backends: [10.0.0.5:8080], source: {address: vip, ports: "1-70000"}}
                  - {name: f, listen: 198.18.1.10:85, backends: [10.0.0.5:8080], source: {ports: "40000-40010", port: 1}}
                  - {name: g, listen: 198.18.1.10:86, protocol: udp, backends: [10.0.0.5:53], source: {address: vip}}
                """))
                .anySatisfy(x -> assertThat(x).contains("vips[0].source.address", "2001:db8::1", "backends' family",
                        "10.0.0.5:8080 is IPv4"))
                .anySatisfy(x -> assertThat(x).contains("vips[1].source.address", "vip", "listening on one address"))
                .anySatisfy(x -> assertThat(x).contains("vips[2].source.address", "lb.example", "an IP address"))
                .anySatisfy(x -> assertThat(x).contains("vips[3].source.ports", "50000-40000", "low-high within 1-65535"))
                .anySatisfy(x -> assertThat(x).contains("vips[4].source.ports", "1-70000"))
                .anySatisfy(x -> assertThat(x).contains("vips[5].source.address", "missing"))
                .anySatisfy(x -> assertThat(x).contains("vips[5].source.port"))
                .anySatisfy(x -> assertThat(x).contains("vips[6].source", "no source on a udp VIP"));
        assertThat(errors("""
                runtime: {transport: nio}
                vips:
                  - {name: w, listen: 198.18.1.10:80, backends: [10.0.0.5:8080], source: {address: vip, ports: "40000-40999"}}
                """)).containsExactly("vips[0].source.ports: \"40000-40999\" (expected no source ports with runtime.transport: "
                + "nio (only epoll sets a socket's port range))");
    }
}
