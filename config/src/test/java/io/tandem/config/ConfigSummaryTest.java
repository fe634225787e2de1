package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** What {@code tandem validate} prints for a valid config. */
class ConfigSummaryTest {

    @Test
    void listsEachVipWithListenPolicyBackendCountAndCheckAndTheAdminAddress() {
        TandemConfig c = ConfigLoaderValidTest.valid("""
                admin: {listen: 0.0.0.0:9090, token: t0ken-t0ken-t0ken}
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001, 127.0.0.1:9002]
                    health_check: {type: http, path: /healthz}
                  - name: dns
                    listen: "[::1]:5353"
                    protocol: udp
                    policy: maglev
                    backends: [127.0.0.1:9053]
                    health_check: {type: udp, send: ping, interval: 1s, port: 5300}
                  - name: raw
                    listen: 127.0.0.1:7000
                    policy: least-connections
                    backends: [127.0.0.1:7001]
                """);

        assertThat(ConfigSummary.describe(c)).isEqualTo("""
                3 VIPs; admin API on 0.0.0.0:9090 (bearer token required)
                  web  tcp 127.0.0.1:8080  round-robin        2 backends  http check GET /healthz every 100ms
                  dns  udp [::1]:5353      maglev             1 backend   udp check port 5300 every 1s
                  raw  tcp 127.0.0.1:7000  least-connections  1 backend   no health check
                """);
    }

    @Test
    void saysZeroVipsAndDisabledAdmin() {
        TandemConfig c = ConfigLoaderValidTest.valid("admin: {enabled: false}\nvips: []\n");

        assertThat(ConfigSummary.describe(c)).isEqualTo("0 VIPs; admin API disabled\n");
    }

    private static final String HA = """
            ha:
              node_id: lb1
              listen: 198.18.0.1:7946
              peers: [{id: lb2, address: 198.18.0.2:7946}]
              zookeeper: {connect: "198.18.0.9:2181"}
              interface: eth0
              addresses: [198.18.1.10, {address: 198.18.1.11, preferred_owner: lb2}]
            """;

    @Test
    void summarisesTheHaGroupNodePeersAddressesAndPreemption() {
        TandemConfig c = ConfigLoaderValidTest.valid(HA + """
                admin: {enabled: false}
                vips:
                  - {name: a, listen: "198.18.1.10:80", backends: [127.0.0.1:9001]}
                  - {name: b, listen: "198.18.1.11:80", backends: [127.0.0.1:9001]}
                """);

        assertThat(ConfigSummary.describe(c)).endsWith("""
                HA group default: node lb1 (peer link 198.18.0.1:7946), peers lb2 at 198.18.0.2:7946; ZooKeeper 198.18.0.9:2181
                  2 addresses on eth0: 198.18.1.10, 198.18.1.11 (preferred lb2); preemption after 10s
                """);
        assertThat(ConfigSummary.warnings(c)).isEmpty();
    }

    @Test
    void warnsOfAnHaAddressNoVipListensOnAndOfAVipAddressNoHaEntryManages() {
        TandemConfig c = ConfigLoaderValidTest.valid(HA + """
                vips:
                  - {name: a, listen: "198.18.1.10:80", backends: [127.0.0.1:9001]}
                  - {name: typo, listen: "198.18.1.12:80", backends: [127.0.0.1:9001]}
                """);

        assertThat(ConfigSummary.warnings(c)).containsExactly(
                "vips[1].listen: 198.18.1.12:80 (expected an address of ha.addresses: VIP typo listens on"
                        + " 198.18.1.12, which the HA group does not manage, so no failover moves it)",
                "ha.addresses[1]: 198.18.1.11 (expected the listen address of a VIP: no vips[].listen uses it, so"
                        + " the group moves an address nothing here serves)");
    }

    @Test
    void comparesAddressesCanonicallyAndAcceptsAWildcardListener() {
        TandemConfig c = ConfigLoaderValidTest.valid("""
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  addresses: ["2001:db8::a"]
                vips:
                  - {name: a, listen: "[2001:db8:0::0:a]:80", backends: [127.0.0.1:9001]}
                """);
        assertThat(ConfigSummary.warnings(c)).isEmpty();
        TandemConfig wildcard = ConfigLoaderValidTest.valid(HA + """
                vips:
                  - {name: all, listen: "0.0.0.0:80", backends: [127.0.0.1:9001]}
                """);
        assertThat(ConfigSummary.warnings(wildcard)).isEmpty();
    }

    @Test
    void withoutHaThereIsNothingToCrossCheck() {
        TandemConfig c = ConfigLoaderValidTest.valid("vips:\n  - {name: a, listen: \"127.0.0.1:80\", backends: [127.0.0.1:9001]}\n");
        assertThat(ConfigSummary.warnings(c)).isEmpty();
        assertThat(ConfigSummary.describe(c)).doesNotContain("HA group");
    }
}
