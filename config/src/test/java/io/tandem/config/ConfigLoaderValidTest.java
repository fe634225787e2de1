package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Valid files become exactly the records they describe, with the documented defaults. */
class ConfigLoaderValidTest {

    static TandemConfig valid(String yaml) {
        ConfigResult result = ConfigLoader.parse(yaml, "test.yaml");
        assertThat(result).as("errors: %s", result).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) result).config();
    }

    @Test
    void everyKeySetExplicitlyLandsInItsRecordField() {
        TandemConfig c = valid("""
                runtime:
                  event_loops: 4
                  transport: EPOLL
                  drain_timeout: 1m
                admin:
                  enabled: true
                  listen: 0.0.0.0:9191
                  token: "s3cret-s3cret-s3cret"
                vips:
                  - name: web.front-1
                    listen: 0.0.0.0:8080
                    protocol: tcp
                    policy: Weighted-Round-Robin
                    retries: 0
                    proxy_protocol: v2
                    relay: splice
                    backends:
                      - 127.0.0.1:9001
                      - address: backend.local:9002
                        weight: 1000
                      - "[::1]:9003"
                    limits:
                      max_connections: 10000000
                      max_connections_per_backend: 500
                    timeouts:
                      connect: 250ms
                      idle: 0
                      user_timeout: 1.5s
                    health_check:
                      type: http
                      port: 8081
                      interval: 2s
                      timeout: 1s
                      rise: 3
                      fall: 5
                      jitter: 0
                      fast_interval: 100ms
                      down_interval: 5s
                      tls: true
                      method: head
                      path: /healthz?full=1
                      host: web.internal
                      expect_status: 204
                      body_contains: ok
                """);

        assertThat(c.runtime()).isEqualTo(new RuntimeSettings(4, TransportKind.EPOLL, Duration.ofMinutes(1)));
        assertThat(c.admin()).isEqualTo(new AdminSettings(true, new HostPort("0.0.0.0", 9191), Optional.of("s3cret-s3cret-s3cret")));
        assertThat(c.vips()).hasSize(1);
        VipConfig v = c.vips().getFirst();
        assertThat(v.name()).isEqualTo("web.front-1");
        assertThat(v.listen()).isEqualTo(new HostPort("0.0.0.0", 8080));
        assertThat(v.protocol()).isEqualTo(Protocol.TCP);
        assertThat(v.policy()).isEqualTo(PolicyKind.WEIGHTED_ROUND_ROBIN);
        assertThat(v.retries()).isZero();
        assertThat(v.proxyProtocol()).isEqualTo(ProxyProtocolVersion.V2);
        assertThat(v.relay()).isEqualTo(RelayMode.SPLICE);
        assertThat(v.backends()).containsExactly(
                new BackendConfig(new HostPort("127.0.0.1", 9001), 1),
                new BackendConfig(new HostPort("backend.local", 9002), 1000),
                new BackendConfig(new HostPort("::1", 9003), 1));
        assertThat(v.limits()).isEqualTo(new Limits(10_000_000, 500));
        assertThat(v.timeouts()).isEqualTo(new Timeouts(Duration.ofMillis(250), Duration.ZERO, Duration.ofMillis(1500)));
        CheckTiming timing = new CheckTiming(Duration.ofSeconds(2), Duration.ofSeconds(1), 3, 5, 0.0,
                Duration.ofMillis(100), Duration.ofSeconds(5));
        assertThat(v.healthCheck()).contains(new HealthCheckSpec.Http(timing, OptionalInt.of(8081), true, "HEAD",
                "/healthz?full=1", Optional.of("web.internal"), 204, 204, Optional.of("ok")));
    }

    @Test
    void omittedKeysTakeTheDocumentedDefaults() {
        TandemConfig c = valid("""
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001]
                """);

        assertThat(c.runtime()).isEqualTo(new RuntimeSettings(0, TransportKind.AUTO, Duration.ofSeconds(30)));
        assertThat(c.admin()).isEqualTo(new AdminSettings(true, new HostPort("127.0.0.1", 9090), Optional.empty()));
        VipConfig v = c.vip("web").orElseThrow();
        assertThat(v.protocol()).isEqualTo(Protocol.TCP);
        assertThat(v.policy()).isEqualTo(PolicyKind.ROUND_ROBIN);
        assertThat(v.retries()).isEqualTo(3);
        assertThat(v.proxyProtocol()).isEqualTo(ProxyProtocolVersion.NONE);
        assertThat(v.relay()).isEqualTo(RelayMode.AUTO);
        assertThat(v.backends()).containsExactly(new BackendConfig(new HostPort("127.0.0.1", 9001), 1));
        assertThat(v.limits()).isEqualTo(Limits.UNLIMITED);
        assertThat(v.timeouts()).isEqualTo(Timeouts.DEFAULTS);
        assertThat(v.timeouts()).isEqualTo(new Timeouts(Duration.ofSeconds(1), Duration.ofMinutes(10),
                Duration.ofSeconds(10)));
        assertThat(v.healthCheck()).isEmpty();
    }

    @Test
    void healthCheckOmittedKeysTakeCheckTimingDefaultsAndHttpDefaults() {
        TandemConfig c = valid("""
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001]
                    health_check: {type: http}
                """);

        assertThat(c.vips().getFirst().healthCheck()).contains(new HealthCheckSpec.Http(CheckTiming.DEFAULTS,
                OptionalInt.empty(), false, "GET", "/", Optional.empty(), 200, 399, Optional.empty()));
    }

    @Test
    void sendExpectDecodesEscapesIntoBytesAndKeepsRegexBackslashes() {
        TandemConfig c = valid("""
                vips:
                  - name: redis
                    listen: 127.0.0.1:6379
                    backends: [127.0.0.1:6380]
                    health_check: {type: send-expect, send: 'PING\\r\\n\\x00\\xff', expect: '+PONG\\r\\n'}
                  - name: smtp
                    listen: 127.0.0.1:2525
                    backends: [127.0.0.1:2526]
                    health_check: {type: send-expect, regex: true, expect: '^220 \\S+ ESMTP'}
                """);

        var ping = (HealthCheckSpec.SendExpect) c.vips().get(0).healthCheck().orElseThrow();
        assertThat(ping.send().map(CheckPayloads::bytes)).hasValueSatisfying(bytes ->
                assertThat(bytes).containsExactly('P', 'I', 'N', 'G', '\r', '\n', 0x00, 0xff));
        assertThat(CheckPayloads.bytes(ping.expect())).containsExactly('+', 'P', 'O', 'N', 'G', '\r', '\n');
        assertThat(ping.regex()).isFalse();

        var smtp = (HealthCheckSpec.SendExpect) c.vips().get(1).healthCheck().orElseThrow();
        assertThat(smtp.send()).isEmpty();
        assertThat(smtp.expect()).isEqualTo("^220 \\S+ ESMTP");
        assertThat(smtp.regex()).isTrue();
    }

    @Test
    void nonAsciiTextInAPayloadIsSentAsUtf8Bytes() {
        TandemConfig c = valid("""
                vips:
                  - name: dns
                    listen: 127.0.0.1:5353
                    protocol: udp
                    backends: [127.0.0.1:5354]
                    health_check: {type: udp, send: "é"}
                """);

        var udp = (HealthCheckSpec.Udp) c.vips().getFirst().healthCheck().orElseThrow();
        assertThat(CheckPayloads.bytes(udp.send())).containsExactly(0xc3, 0xa9);
        assertThat(udp.expect()).isEmpty();
    }

    @Test
    void checkTypeIsIndependentOfVipProtocol() {
        TandemConfig c = valid("""
                vips:
                  - name: dns-tcp
                    listen: 127.0.0.1:5353
                    backends: [127.0.0.1:5354]
                    health_check: {type: udp, send: ping, expect: pong}
                  - name: dns-udp
                    listen: 127.0.0.1:5353
                    protocol: UDP
                    relay: copy
                    backends: [127.0.0.1:5354]
                    health_check: {type: tcp}
                """);

        assertThat(c.vips()).extracting(VipConfig::protocol).containsExactly(Protocol.TCP, Protocol.UDP);
        assertThat(c.vips().get(0).healthCheck()).containsInstanceOf(HealthCheckSpec.Udp.class);
        assertThat(c.vips().get(1).healthCheck()).containsInstanceOf(HealthCheckSpec.Tcp.class);
    }

    @Test
    void emptyVipListIsValid() {
        assertThat(valid("vips: []\n").vips()).isEmpty();
    }

    @Test
    void emptiedOutOptionalSectionsMeanDefaults() {
        TandemConfig c = valid("runtime:\nadmin:\nvips: []\n");

        assertThat(c.runtime()).isEqualTo(RuntimeSettings.DEFAULTS);
        assertThat(c.admin()).isEqualTo(AdminSettings.DEFAULTS);
    }

    @Test
    void loopbackAdminNeedsNoTokenAndDisabledAdminNeedsNone() {
        for (String listen : List.of("127.0.0.2:9090", "\"[::1]:9090\"", "localhost:9090")) {
            assertThat(valid("admin: {listen: " + listen + "}\nvips: []\n").admin().token()).isEmpty();
        }
        assertThat(valid("admin: {enabled: false, listen: 0.0.0.0:9090}\nvips: []\n").admin().enabled()).isFalse();
    }

    @Test
    void sameListenAddressWithDifferentProtocolsIsAllowed() {
        TandemConfig c = valid("""
                vips:
                  - {name: a, listen: 127.0.0.1:53, protocol: tcp, backends: [127.0.0.1:5301]}
                  - {name: b, listen: 127.0.0.1:53, protocol: udp, backends: [127.0.0.1:5301]}
                """);

        assertThat(c.vips()).hasSize(2);
    }
}
