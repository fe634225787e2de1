package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The keys that let a node replace Marathon-LB and the DC/OS named-VIP DNS: groups, label
 * selector, bind address, strict mode, checks from Marathon, the state directory and the DNS
 * responder — parsed values, defaults, and every error at once.
 */
class DiscoveryMarathonLbConfigTest {

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    @Test
    void everyKeyLandsInItsRecord(@TempDir Path dir) {
        TandemConfig c = valid("""
                vips: []
                discovery:
                  state_dir: %s
                  dns: {listen: 127.0.0.1:8053, suffix: Marathon.L4LB.thisdcos.directory., ttl: 10s}
                  marathon:
                    urls: [http://m1:8080]
                    groups: [external, "*"]
                    label_selector: "HAPROXY_GROUP in (external, internal)"
                    bind_address: 10.0.0.5
                    strict_mode: true
                    health_checks: "off"
                """.formatted(dir));
        DiscoverySettings d = c.discovery();
        assertThat(d.stateDir()).contains(dir);
        assertThat(d.dns()).contains(new DiscoverySettings.NamedVipDns(HostPort.of("127.0.0.1", 8053),
                "marathon.l4lb.thisdcos.directory", Duration.ofSeconds(10)));
        DiscoverySettings.Marathon m = d.marathon().orElseThrow();
        assertThat(m.groups()).containsExactly("external", "*");
        assertThat(m.labelSelector().orElseThrow().query()).isEqualTo("HAPROXY_GROUP in (external, internal)");
        assertThat(m.bindAddress()).isEqualTo("10.0.0.5");
        assertThat(m.strictMode()).isTrue();
        assertThat(m.marathonHealthChecks()).isFalse();
    }

    @Test
    void withoutTheNewKeysMarathonLbIsOffAndChecksComeFromMarathon() {
        TandemConfig c = valid("""
                vips: []
                discovery:
                  marathon: {urls: [http://m1:8080]}
                  dns: {listen: 127.0.0.1:8053}
                """);
        DiscoverySettings.Marathon m = c.discovery().marathon().orElseThrow();
        assertThat(m.groups()).isEmpty();
        assertThat(m.labelSelector()).isEmpty();
        assertThat(m.bindAddress()).isEqualTo("0.0.0.0");
        assertThat(m.strictMode()).isFalse();
        assertThat(m.marathonHealthChecks()).isTrue();
        assertThat(c.discovery().stateDir()).isEmpty();
        assertThat(c.discovery().dns().orElseThrow().suffix()).isEqualTo("marathon.l4lb.thisdcos.directory");
        assertThat(c.discovery().dns().orElseThrow().ttl()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void badValuesAreAllReportedWithPathValueAndExpectation(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
        assertThat(errors("""
                vips: []
                discovery:
                  state_dir: %s
                  dns: {listen: "dns.local:53", suffix: "bad..zone", ttl: 2h, port: 5}
                  marathon:
                    urls: [http://m1:8080]
                    groups: ["a,b", 7]
                    label_selector: "tier !="
                    bind_address: lb.example.com
                    health_checks: sometimes
                """.formatted(file))).containsExactly(
                "discovery.state_dir: \"" + file + "\" (expected a directory (this path is a file))",
                "discovery.dns.listen: \"dns.local:53\" (expected an IP address to listen on, such as 127.0.0.1, "
                        + "0.0.0.0, [::1] or [::])",
                "discovery.dns.suffix: \"bad..zone\" (expected a DNS zone such as marathon.l4lb.thisdcos.directory "
                        + "(labels of letters, digits and '-', at most 63 characters each, 253 in all))",
                "discovery.dns.ttl: \"2h\" (expected a duration 0..1h)",
                "discovery.dns.port: unknown key (expected one of listen, suffix, ttl)",
                "discovery.marathon.groups[0]: \"a,b\" (expected a list of HAPROXY_GROUP names (no commas or spaces), "
                        + "or [\"*\"] for every app)",
                "discovery.marathon.groups[1]: 7 (expected a list of HAPROXY_GROUP names (no commas or spaces), "
                        + "or [\"*\"] for every app)",
                "discovery.marathon.label_selector: \"tier !=\" (expected a Marathon label selector such as "
                        + "HAPROXY_GROUP==external or tier in (a, b): \"tier !=\" (expected a label name or value "
                        + "([-A-Za-z0-9_.], other characters escaped with \\) at position 7; selectors such as key, "
                        + "key==value, key!=value, key in (a, b), key notin (a, b)))",
                "discovery.marathon.bind_address: \"lb.example.com\" (expected an IP address service ports listen on, "
                        + "e.g. 0.0.0.0 or 10.0.0.5)",
                "discovery.marathon.health_checks: \"sometimes\" (expected one of marathon, off)");
    }

    @Test
    void theDnsResponderNeedsMarathon() {
        assertThat(errors("""
                vips: []
                discovery:
                  dns: {listen: 127.0.0.1:8053}
                """)).singleElement().asString().startsWith("discovery.dns: ")
                .contains("expected discovery.marathon as well");
    }

    @Test
    void recordsKeepTheirOldConstructorsWithTheNewKeysOff() {
        var m = new DiscoverySettings.Marathon(List.of("http://m1:8080"), Optional.empty(), Optional.empty(),
                Duration.ofSeconds(30), Duration.ofMinutes(5), "198.18.128.0/17", true);
        assertThat(m.groups()).isEmpty();
        assertThat(m.marathonHealthChecks()).isTrue();
        assertThat(new DiscoverySettings(Optional.empty(), Optional.of(m)).dns()).isEmpty();
    }
}
