package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code runtime.dns}: name servers and TTL bounds of backend host names — values, defaults, errors. */
class RuntimeDnsConfigTest {

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    @Test
    void dnsKeysLandInTheirRecord() {
        RuntimeSettings.Dns dns = valid("""
                runtime:
                  dns:
                    servers: [127.0.0.53:53, "[::1]:5353"]
                    min_ttl: 500ms
                    max_ttl: 2m
                    timeout: 1s
                vips: []
                """).runtime().dns();
        assertThat(dns).isEqualTo(new RuntimeSettings.Dns(List.of(HostPort.of("127.0.0.53", 53),
                HostPort.of("::1", 5353)), Duration.ofMillis(500), Duration.ofMinutes(2), Duration.ofSeconds(1)));
    }

    @Test
    void withoutDnsKeysTheSystemResolverAndDefaultBoundsApply() {
        assertThat(valid("vips: []\n").runtime().dns()).isEqualTo(RuntimeSettings.Dns.DEFAULTS);
        assertThat(RuntimeSettings.Dns.DEFAULTS.servers()).isEmpty();
        assertThat(RuntimeSettings.Dns.DEFAULTS.minTtl()).isEqualTo(Duration.ofSeconds(1));
        assertThat(RuntimeSettings.Dns.DEFAULTS.maxTtl()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void aMinTtlAboveTheDefaultCeilingRaisesTheCeilingWithIt() {
        RuntimeSettings.Dns dns = valid("runtime: {dns: {min_ttl: 2m}}\nvips: []\n").runtime().dns();
        assertThat(dns.minTtl()).isEqualTo(Duration.ofMinutes(2));
        assertThat(dns.maxTtl()).isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void badDnsValuesAreAllReportedWithTheirPath() {
        assertThat(errors("""
                runtime:
                  dns:
                    servers: [dns.internal:53, 127.0.0.1, 5]
                    min_ttl: 10ms
                    max_ttl: 2d
                    timeout: 0
                    refresh: 5s
                vips: []
                """)).containsExactly(
                "runtime.dns.servers[0]: \"dns.internal:53\" (expected an IP address and port, e.g. 127.0.0.53:53 (a name server cannot be a name))",
                "runtime.dns.servers[1]: \"127.0.0.1\" (expected host:port, e.g. 127.0.0.1:8080)",
                "runtime.dns.servers[2]: 5 (expected ip:port, e.g. 127.0.0.53:53)",
                "runtime.dns.min_ttl: \"10ms\" (expected a duration 100ms..1h)",
                "runtime.dns.max_ttl: \"2d\" (expected a duration 1s..1d)",
                "runtime.dns.timeout: 0 (expected a duration 100ms..30s)",
                "runtime.dns.refresh: unknown key (expected one of servers, min_ttl, max_ttl, timeout)");
        assertThat(errors("runtime: {dns: {servers: 127.0.0.1:53}}\nvips: []\n")).containsExactly(
                "runtime.dns.servers: \"127.0.0.1:53\" (expected a list of name server addresses ip:port, e.g. "
                        + "[127.0.0.53:53])");
    }

    @Test
    void aCeilingBelowTheFloorIsAnError() {
        assertThat(errors("runtime: {dns: {min_ttl: 10s, max_ttl: 5s}}\nvips: []\n")).containsExactly(
                "runtime.dns.max_ttl: \"5s\" (expected a duration >= min_ttl (10s))");
    }
}
