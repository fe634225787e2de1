package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code vips[].sni}: parsing, the backend sets it adds to the VIP, every error, and name matching. */
class SniConfigTest {
    private static final String VIP = """
            vips:
              - name: tls
                listen: 127.0.0.1:443
            """;

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    private static BackendConfig backend(VipConfig v, String address) {
        return v.backends().stream().filter(b -> b.address().toString().equals(address)).findFirst().orElseThrow();
    }

    @Test
    void routesTheirSetsAndTheDefaultsParse() {
        VipConfig v = valid(VIP + """
                    backends: [127.0.0.1:9000, 127.0.0.1:9001]
                    sni:
                      routes:
                        - name: api
                          server_names: [API.example.com., "*.api.example.com"]
                          backends: [127.0.0.1:9101, {address: 127.0.0.1:9001}]
                        - server_names: ["*.example.org"]
                          backends: [{address: 127.0.0.1:9201, weight: 3}]
                      on_malformed: reject
                      timeout: 1500ms
                      max_length: 32768
                """).vips().getFirst();
        SniRouting sni = v.sni();
        assertThat(sni.enabled()).isTrue();
        assertThat(sni.routes()).containsExactly(
                new SniRouting.Route("api", List.of("api.example.com", "*.api.example.com")),
                new SniRouting.Route("*.example.org", List.of("*.example.org")));
        assertThat(sni.onMalformed()).isEqualTo(SniRouting.OnMalformed.REJECT);
        assertThat(sni.timeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(sni.maxLength()).isEqualTo(32768);
        assertThat(v.backends()).hasSize(4);
        assertThat(backend(v, "127.0.0.1:9000").sniSets()).isEqualTo(0b001);
        assertThat(backend(v, "127.0.0.1:9001").sniSets()).as("in the default and route api: one member")
                .isEqualTo(0b011);
        assertThat(backend(v, "127.0.0.1:9101").sniSets()).isEqualTo(0b010);
        assertThat(backend(v, "127.0.0.1:9201").sniSets()).isEqualTo(0b100);
        assertThat(backend(v, "127.0.0.1:9201").weight()).isEqualTo(3);

        SniRouting defaults = valid(VIP + """
                    sni: {routes: [{server_names: [a.example], backends: [127.0.0.1:9101]}]}
                """).vips().getFirst().sni();
        assertThat(defaults.onMalformed()).isEqualTo(SniRouting.OnMalformed.DEFAULT);
        assertThat(defaults.timeout()).isEqualTo(SniRouting.DEFAULT_TIMEOUT);
        assertThat(defaults.maxLength()).isEqualTo(SniRouting.DEFAULT_MAX_LENGTH);
        assertThat(valid(VIP + "    backends: [127.0.0.1:9000]\n").vips().getFirst().sni()).isEqualTo(SniRouting.OFF);
        assertThat(valid(VIP + "    backends: [127.0.0.1:9000]\n").vips().getFirst().backends().getFirst().sniSets())
                .isEqualTo(1);
    }

    @Test
    @SuppressWarnings("unchecked")
    void theEffectiveConfigShowsSniInItsOwnSpellingAndEachBackendsSets() {
        TandemConfig c = valid(VIP + """
                    backends: [127.0.0.1:9000]
                    sni:
                      on_malformed: reject
                      routes: [{name: api, server_names: [Api.Example.com], backends: [127.0.0.1:9101]}]
                """);
        Map<String, Object> vip = ((List<Map<String, Object>>) ConfigDump.of(c).get("vips")).getFirst();
        Map<String, Object> sni = (Map<String, Object>) vip.get("sni");
        assertThat(sni).containsEntry("on_malformed", "reject").containsEntry("timeout", "3s")
                .containsEntry("max_length", 16389);
        assertThat((List<Map<String, Object>>) sni.get("routes")).singleElement()
                .satisfies(r -> assertThat(r).containsEntry("name", "api")
                        .containsEntry("server_names", List.of("api.example.com")));
        assertThat((List<Map<String, Object>>) vip.get("backends")).extracting(b -> b.get("sni_sets"))
                .containsExactly(1L, 2L);
    }

    @Test
    void aRouteMayTakeItsBackendsFromADiscoveredService() {
        VipConfig v = valid("""
                discovery: {zookeeper: {connect: "zk1:2181"}}
                vips:
                  - name: tls
                    listen: 127.0.0.1:443
                    sni: {routes: [{server_names: [a.example], service: api}]}
                """).vips().getFirst();
        assertThat(v.sni().routes().getFirst().service()).contains("api");
        assertThat(v.sni().anyService()).isTrue();
        assertThat(v.backends()).isEmpty();
        assertThat(errors(VIP + "    sni: {routes: [{server_names: [a.example], service: api}]}\n"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[0].service: \"api\"",
                        "configure discovery.zookeeper or discovery.marathon first"));
    }

    @Test
    void aVipWithSniNeedsNoBackendsOfItsOwn() {
        VipConfig v = valid(VIP + """
                    sni: {routes: [{server_names: [a.example], backends: [127.0.0.1:9101]}]}
                """).vips().getFirst();
        assertThat(v.backends()).singleElement().satisfies(b -> assertThat(b.sniSets()).isEqualTo(0b10));
    }

    @Test
    void everyMistakeNamesItsPathValueAndWhatWasExpected() {
        List<String> e = errors("""
                vips:
                  - name: tls
                    listen: 127.0.0.1:443
                    backends: [127.0.0.1:9000]
                    sni:
                      routes:
                        - name: api
                          server_names: [api.example.com, "*.example.org", "a.*.example", "*", "exa mple", 7]
                          backends: [{address: 127.0.0.1:9000, weight: 2}]
                        - name: api
                          server_names: [API.EXAMPLE.COM.]
                          backends: [127.0.0.1:9301]
                        - name: default
                          server_names: [c.example]
                          backends: []
                        - server_names: []
                          backends: [127.0.0.1:9302]
                        - name: nobackends
                          server_names: [d.example]
                      on_malformed: drop
                      max_length: 10
                      inspect_delay: 5s
                  - name: dns
                    listen: 127.0.0.1:53
                    protocol: udp
                    backends: [127.0.0.1:9053]
                    sni: {routes: [{server_names: [a.example], backends: [127.0.0.1:9101]}]}
                """);
        assertThat(e).anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[0].server_names[2]: \"a.*.example\"",
                        "wildcard is one leading \"*.\" label"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[0].server_names[3]: \"*\""))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[0].server_names[4]: \"exa mple\""))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[0].server_names[5]: 7"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[1].server_names[0]: \"API.EXAMPLE.COM.\"",
                        "one route only", "vips[0].sni.routes[0].server_names[0] has the same"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[1].name: \"api\"", "unique route name"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[2].name: \"default\""))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[2].backends", "at least one backend"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[3].server_names: []",
                        "at least one server name"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[4].backends: missing"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes[0].backends[0]: 127.0.0.1:9000",
                        "vips[0].backends[0]"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.on_malformed: \"drop\"", "default, reject"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.max_length: 10"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.inspect_delay: unknown key"))
                .anySatisfy(x -> assertThat(x).contains("vips[1].sni", "udp VIP"));
        assertThat(errors(VIP + "    backends: [127.0.0.1:9000]\n    sni: {}\n"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni.routes: missing"));
        assertThat(errors(VIP + "    sni:\n")).as("an empty sni must not leave a VIP without backends")
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni: empty", "a mapping with routes"));
        assertThat(errors(VIP + "    sni: [a.example]\n"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].sni: a list", "a mapping with routes"));
    }

    @Test
    void namesMatchExactFirstThenTheLongestWildcardIgnoringCaseAndTheTrailingDot() {
        SniRouting sni = new SniRouting(List.of(
                new SniRouting.Route("api", List.of("api.example.com")),
                new SniRouting.Route("com", List.of("*.example.com")),
                new SniRouting.Route("deep", List.of("*.eu.example.com", "example.com"))), SniRouting.OnMalformed.DEFAULT,
                SniRouting.DEFAULT_TIMEOUT, SniRouting.DEFAULT_MAX_LENGTH);
        SniNames n = SniNames.of(sni);
        assertThat(n.set("api.example.com")).isEqualTo(1);
        assertThat(n.set("API.Example.COM.")).isEqualTo(1);
        assertThat(n.set("www.example.com")).isEqualTo(2);
        assertThat(n.set("a.b.example.com")).as("a wildcard covers any depth").isEqualTo(2);
        assertThat(n.set("shop.eu.example.com")).as("the longest wildcard wins").isEqualTo(3);
        assertThat(n.set("eu.example.com")).isEqualTo(2);
        assertThat(n.set("example.com")).as("exact, not *.example.com").isEqualTo(3);
        assertThat(n.set("example.org")).isZero();
        assertThat(n.set(".example.com")).isZero();
        assertThat(n.set("")).isZero();
        assertThat(n.set("xexample.com")).isZero();
        assertThat(SniNames.NONE.set("api.example.com")).isZero();
    }
}
