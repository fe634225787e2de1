package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The health-policy keys of a VIP and the discovery section: parsed values, defaults and errors. */
class HealthPolicyAndDiscoveryConfigTest {

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    @Test
    void healthPolicyKeysLandInTheirRecords() {
        VipConfig v = valid("""
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001, 127.0.0.1:9002]
                    health_check: {type: tcp, initial_state: trusted}
                    outlier_detection:
                      consecutive_failures: 3
                      base_ejection_time: 500ms
                      max_ejection_time: 30s
                      max_ejection_percent: 34
                      response_timeout: 2s
                      response_timeout_mode: every-request
                    panic_threshold: 25
                    slow_start: 10s
                    close_on_backend_down: true
                """).vips().getFirst();
        assertThat(v.health()).isEqualTo(new HealthPolicy(true, new OutlierDetection(3, Duration.ofMillis(500),
                Duration.ofSeconds(30), 34, Duration.ofSeconds(2), ResponseTimeoutMode.EVERY_REQUEST), 25,
                Duration.ofSeconds(10), true));
    }

    @Test
    void withoutHealthPolicyKeysTheDefaultsApply() {
        VipConfig v = valid("""
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001]
                """).vips().getFirst();
        assertThat(v.health()).isEqualTo(HealthPolicy.DEFAULTS);
        assertThat(v.health().outlierDetection().consecutiveFailures()).isEqualTo(1);
        assertThat(v.service()).isEmpty();
    }

    @Test
    void badHealthPolicyValuesAreAllReported() {
        assertThat(errors("""
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001]
                    health_check: {type: tcp, initial_state: maybe}
                    outlier_detection:
                      base_ejection_time: 10s
                      max_ejection_time: 1s
                      max_ejection_percent: 101
                      response_timeout_mode: always
                    panic_threshold: -1
                    slow_start: forever
                """)).containsExactly(
                "vips[0].health_check.initial_state: \"maybe\" (expected one of pending, trusted)",
                "vips[0].outlier_detection.max_ejection_time: 1s (expected a duration >= base_ejection_time (10s))",
                "vips[0].outlier_detection.max_ejection_percent: 101 (expected an integer 0..100)",
                "vips[0].outlier_detection.response_timeout_mode: \"always\" (expected one of first-response, "
                        + "every-request)",
                "vips[0].panic_threshold: -1 (expected an integer 0..100 (percent), 0 = only when none is eligible)",
                "vips[0].slow_start: \"forever\" (expected a duration such as 250ms, 2s, 1m)");
    }

    @Test
    void discoverySectionParsesZooKeeperAndMarathonAndAServiceNeedsNoStaticBackends() {
        TandemConfig c = valid("""
                discovery:
                  zookeeper:
                    connect: 127.0.0.1:2181
                    session_timeout: 10s
                    namespace: prod
                    auth: lb:secret
                    base_path: /services
                    layout: plain
                    removal_debounce: 2s
                    tls: {trust_store: /etc/zk/trust.p12, trust_store_password: pw}
                  marathon:
                    urls: [http://m1:8080/, "https://m2:8443"]
                    token: abc
                    silence_timeout: 20s
                    named_vip_block: 198.19.0.0/16
                    unreachable: remove
                vips:
                  - name: orders
                    listen: 127.0.0.1:8080
                    service: /orders
                """);
        var zk = c.discovery().zookeeper().orElseThrow();
        assertThat(zk.connect()).isEqualTo("127.0.0.1:2181");
        assertThat(zk.sessionTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(zk.connectionTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(zk.namespace()).contains("prod");
        assertThat(zk.digestAuth()).contains("lb:secret");
        assertThat(zk.layout()).isEqualTo(DiscoverySettings.Layout.PLAIN);
        assertThat(zk.removalDebounce()).isEqualTo(Duration.ofSeconds(2));
        assertThat(zk.tls()).contains(new DiscoverySettings.Tls(Path.of("/etc/zk/trust.p12"), "pw", Optional.empty(),
                Optional.empty()));
        assertThat(zk.toString()).doesNotContain("secret");
        var m = c.discovery().marathon().orElseThrow();
        assertThat(m.urls()).containsExactly("http://m1:8080", "https://m2:8443");
        assertThat(m.token()).contains("abc");
        assertThat(m.silenceTimeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(m.resyncInterval()).isEqualTo(Duration.ofMinutes(5));
        assertThat(m.namedVipBlock()).isEqualTo("198.19.0.0/16");
        assertThat(m.keepUnreachable()).isFalse();
        VipConfig v = c.vips().getFirst();
        assertThat(v.service()).contains("/orders");
        assertThat(v.backends()).isEmpty();
    }

    @Test
    void discoveryErrorsNameTheirPaths() {
        assertThat(errors("""
                discovery:
                  zookeeper:
                    base_path: services/
                    auth: nocolon
                  marathon:
                    urls: [ftp://m1]
                    basic_auth: a:b
                    token: t
                    named_vip_block: 198.18.0.0
                vips: []
                """)).containsExactly(
                "discovery.zookeeper.base_path: \"services/\" (expected an absolute znode path, e.g. /services)",
                "discovery.zookeeper.auth: \"***\" (expected digest credentials user:password)",
                "discovery.zookeeper.connect: missing (expected a ZooKeeper connect string host[:port][,host[:port]...]"
                        + "[/chroot], e.g. zk1:2181,zk2:2181)",
                "discovery.marathon.urls[0]: \"ftp://m1\" (expected an http:// or https:// base URL without query or"
                        + " fragment)",
                "discovery.marathon.token: \"***\" (expected either basic_auth or token, not both)",
                "discovery.marathon.named_vip_block: \"198.18.0.0\" (expected an IPv4 CIDR block /8../30 "
                        + "with zero host bits, e.g. 198.18.128.0/17)");
    }

    @Test
    void aServiceWithoutAnyDiscoverySourceIsAnError() {
        assertThat(errors("""
                vips:
                  - name: orders
                    listen: 127.0.0.1:8080
                    service: /orders
                """)).containsExactly("vips[0].service: \"/orders\" (expected a service of a discovery source; "
                + "configure discovery.zookeeper or discovery.marathon first)");
    }
}
