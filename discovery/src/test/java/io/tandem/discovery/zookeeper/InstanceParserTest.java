package io.tandem.discovery.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HostPort;
import io.tandem.discovery.Endpoint;
import io.tandem.discovery.zookeeper.InstanceParser.Parsed;
import io.tandem.discovery.zookeeper.ZooKeeperSettings.Layout;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class InstanceParserTest {

    // What Curator's JsonInstanceSerializer writes for a ServiceInstance with a POJO payload (captured).
    private static final String CURATOR_WITH_POJO_PAYLOAD = """
            {"name":"orders","id":"5f0c6a4e-8a3b-4c1e-9a57-2f3c1d2e4b6a","address":"10.0.1.17","port":8080,\
            "sslPort":null,"payload":{"@class":"Demo$InstanceDetails","description":"orders v2"},\
            "registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme",\
            "variable":true},{"value":"://","variable":false},{"value":"address","variable":true},\
            {"value":":","variable":false},{"value":"port","variable":true}]}}""";
    private static final String CURATOR_WITH_SSL_PORT = """
            {"name":"orders","id":"id2","address":"10.0.1.18","port":8080,"sslPort":8443,"payload":null,\
            "registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":null}""";

    private static Parsed curator(String json, boolean useSsl) {
        return InstanceParser.parse(Layout.CURATOR, useSsl, "/services/orders/x", "x",
                json.getBytes(StandardCharsets.UTF_8));
    }

    private static Endpoint ok(Parsed p) {
        assertThat(p).isInstanceOf(Parsed.Ok.class);
        return ((Parsed.Ok) p).endpoint();
    }

    @Test
    void curatorJsonWithUnknownPayloadClassYieldsAddressAndPortWithOrigin() {
        Endpoint e = ok(curator(CURATOR_WITH_POJO_PAYLOAD, false));
        assertThat(e.address()).isEqualTo(HostPort.of("10.0.1.17", 8080));
        assertThat(e.weight()).isEqualTo(1);
        assertThat(e.draining()).isFalse();
        assertThat(e.healthyInSource()).isTrue();
        assertThat(e.origin()).isEqualTo("zookeeper:/services/orders/x");
    }

    @Test
    void sslPortIsUsedOnlyWhenConfigured() {
        assertThat(ok(curator(CURATOR_WITH_SSL_PORT, false)).address().port()).isEqualTo(8080);
        assertThat(ok(curator(CURATOR_WITH_SSL_PORT, true)).address().port()).isEqualTo(8443);
        assertThat(curator(CURATOR_WITH_POJO_PAYLOAD, true)).isInstanceOf(Parsed.Bad.class);
    }

    @Test
    void enabledFalseMeansDrainingAndAbsentEnabledMeansInRotation() {
        String disabled = CURATOR_WITH_SSL_PORT.replace("}", ",\"enabled\":false}");
        String enabled = CURATOR_WITH_SSL_PORT.replace("}", ",\"enabled\":true}");
        assertThat(ok(curator(disabled, false)).draining()).isTrue();
        assertThat(ok(curator(enabled, false)).draining()).isFalse();
    }

    @Test
    void malformedOrIncompleteCuratorEntriesAreRejectedWithAReason() {
        assertThat(curator("{not json", false)).isInstanceOf(Parsed.Bad.class);
        assertThat(curator("[1,2]", false)).isInstanceOf(Parsed.Bad.class);
        assertThat(curator("{\"port\":80}", false)).isInstanceOf(Parsed.Bad.class);
        assertThat(curator("{\"address\":\"a\",\"port\":0}", false)).isInstanceOf(Parsed.Bad.class);
        assertThat(curator("{\"address\":\"a\",\"port\":70000}", false)).isInstanceOf(Parsed.Bad.class);
        assertThat(curator("{\"address\":\"a\",\"port\":\"80\"}", false)).isInstanceOf(Parsed.Bad.class);
        assertThat(curator("{\"address\":\"  \",\"port\":80}", false)).isInstanceOf(Parsed.Bad.class);
        Parsed empty = InstanceParser.parse(Layout.CURATOR, false, "/s/o/x", "x", new byte[0]);
        assertThat(empty).isInstanceOfSatisfying(Parsed.Bad.class, b -> assertThat(b.reason()).contains("empty"));
        assertThat(curator("{\"address\":\"a\",\"port\":70000}", false))
                .isInstanceOfSatisfying(Parsed.Bad.class, b -> assertThat(b.reason()).isEqualTo("port: 70000 (expected 1..65535)"));
    }

    @Test
    void localityComesFromThePayloadsRegionZoneAndRackFields() {
        Endpoint e = ok(curator("{\"address\":\"10.0.1.17\",\"port\":8080,\"payload\":{\"@class\":\"Demo$D\","
                + "\"region\":\"eu-west-1\",\"zone\":\"eu-west-1b\",\"rack\":\"r7\"}}", false));
        assertThat(e.locality()).isEqualTo(io.tandem.config.Locality.of("eu-west-1", "eu-west-1b", "r7"));
        assertThat(ok(curator("{\"address\":\"a\",\"port\":80,\"payload\":\"zone=x\"}", false)).locality())
                .as("a string payload carries none").isEqualTo(io.tandem.config.Locality.UNKNOWN);
        assertThat(ok(curator("{\"address\":\"a\",\"port\":80,\"payload\":{\"zone\":\"bad zone\",\"region\":7}}",
                false)).locality()).as("malformed parts are unknown, the instance is kept")
                .isEqualTo(io.tandem.config.Locality.UNKNOWN);
        assertThat(ok(curator("{\"address\":\"a\",\"port\":80,\"payload\":null}", false)).locality())
                .isEqualTo(io.tandem.config.Locality.UNKNOWN);
    }

    @Test
    void plainLayoutReadsNodeNameOrDataAndDataWinsWhenValid() {
        assertThat(ok(InstanceParser.parse(Layout.PLAIN, false, "/p/s/10.0.0.1:80", "10.0.0.1:80", null)).address())
                .isEqualTo(HostPort.of("10.0.0.1", 80));
        assertThat(ok(InstanceParser.parse(Layout.PLAIN, false, "/p/s/n1", "n1", bytes("10.0.0.2:81\n"))).address())
                .isEqualTo(HostPort.of("10.0.0.2", 81));
        assertThat(ok(InstanceParser.parse(Layout.PLAIN, false, "/p/s/10.0.0.1:80", "10.0.0.1:80", bytes("10.0.0.3:82")))
                .address()).isEqualTo(HostPort.of("10.0.0.3", 82));
        assertThat(ok(InstanceParser.parse(Layout.PLAIN, false, "/p/s/10.0.0.1:80", "10.0.0.1:80", bytes("junk")))
                .address()).isEqualTo(HostPort.of("10.0.0.1", 80));
        assertThat(ok(InstanceParser.parse(Layout.PLAIN, false, "/p/s/[::1]:443", "[::1]:443", null)).address())
                .isEqualTo(HostPort.of("::1", 443));
        assertThat(InstanceParser.parse(Layout.PLAIN, false, "/p/s/n1", "n1", bytes("junk"))).isInstanceOf(Parsed.Bad.class);
        assertThat(InstanceParser.parse(Layout.PLAIN, false, "/p/s/n1", "n1", null)).isInstanceOf(Parsed.Bad.class);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
