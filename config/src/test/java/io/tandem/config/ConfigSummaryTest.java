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
                  web  tcp 127.0.0.1:8080  round-robin        2 backends  http check GET /healthz every 500ms
                  dns  udp [::1]:5353      maglev             1 backend   udp check port 5300 every 1s
                  raw  tcp 127.0.0.1:7000  least-connections  1 backend   no health check
                """);
    }

    @Test
    void saysZeroVipsAndDisabledAdmin() {
        TandemConfig c = ConfigLoaderValidTest.valid("admin: {enabled: false}\nvips: []\n");

        assertThat(ConfigSummary.describe(c)).isEqualTo("0 VIPs; admin API disabled\n");
    }
}
