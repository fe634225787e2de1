package io.tandem.core.control;

import static io.tandem.core.control.Rig.config;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * {@code vips[].sni}: every route's backends are members of the VIP (checked, listed, one member
 * for an address in several sets), and the published pool carries one pool per set, each built by
 * the VIP's rules on its own (a route's failure leaves the other sets alone).
 */
class SniSetsReachThePoolTest {
    private static final String CONFIG = """
            vips:
              - name: tls
                listen: 10.1.0.1:443
                health_check: {type: tcp, interval: 100ms, timeout: 200ms, rise: 1, fall: 1}
                backends: [10.0.0.1:443, 10.0.0.2:443]
                sni:
                  routes:
                    - name: api
                      server_names: [api.example.com]
                      backends: [10.0.1.1:443, 10.0.1.2:443, 10.0.0.2:443]
                    - name: org
                      server_names: ["*.example.org"]
                      backends: [10.0.2.1:443]
            """;
    private final Rig rig = new Rig();

    private static List<String> addresses(BackendPool p) {
        return p.backends().stream().map(b -> b.address().toString()).toList();
    }

    private BackendPool published() {
        return rig.vip("tls").published;
    }

    private void verdict(String address, boolean up) {
        long id = rig.backend("tls", address).checkId;
        rig.run(r -> r.verdict(id, rig.transition(up), rig.now));
    }

    @Test
    void everyRoutesBackendsAreCheckedMembersAndEachSetGetsItsOwnPool() {
        rig.propose(config(CONFIG));
        assertThat(rig.vip("tls").backends.keySet().stream().map(Object::toString))
                .containsExactlyInAnyOrder("10.0.0.1:443", "10.0.0.2:443", "10.0.1.1:443", "10.0.1.2:443",
                        "10.0.2.1:443");
        assertThat(rig.checks("tls").values()).as("each member has its check").allMatch(id -> id != null && id > 0);
        for (String b : List.of("10.0.0.1:443", "10.0.0.2:443", "10.0.1.1:443", "10.0.1.2:443", "10.0.2.1:443")) {
            verdict(b, true);
        }
        BackendPool pool = published();
        assertThat(pool.sni().pools()).hasSize(3);
        assertThat(pool.sni().hasDefault()).isTrue();
        assertThat(addresses(pool.sniSet(0))).containsExactlyInAnyOrder("10.0.0.1:443", "10.0.0.2:443");
        assertThat(addresses(pool.sniSet(1))).containsExactlyInAnyOrder("10.0.1.1:443", "10.0.1.2:443", "10.0.0.2:443");
        assertThat(addresses(pool.sniSet(2))).containsExactly("10.0.2.1:443");
        assertThat(pool.sni().names().set("API.example.com.")).isEqualTo(1);
        assertThat(pool.sni().names().set("www.example.org")).isEqualTo(2);
        Backend shared = pool.backends().stream().filter(b -> b.address().toString().equals("10.0.0.2:443"))
                .findFirst().orElseThrow();
        assertThat(shared.sniSets()).isEqualTo(0b011);
        // The shared member is one backend: the same counters in both sets.
        assertThat(pool.sniSet(1).backends()).anySatisfy(b -> assertThat(b.stats()).isSameAs(shared.stats()));
    }

    @Test
    void aRouteWhoseBackendsFailPanicsAloneAndTheOtherSetsKeepTheirHealthyOnes() {
        rig.propose(config(CONFIG));
        for (String b : List.of("10.0.0.1:443", "10.0.0.2:443", "10.0.1.1:443", "10.0.1.2:443")) {
            verdict(b, true);
        }
        List<Action> down = rig.run(r -> r.verdict(rig.backend("tls", "10.0.2.1:443").checkId,
                rig.transition(false), rig.now));
        assertThat(Rig.lines(down, Level.WARN)).singleElement().asString()
                .startsWith("sni route panic vip=tls route=org routing_to=1 ");
        verdict("10.0.0.1:443", false);
        BackendPool pool = published();
        assertThat(pool.sniSet(2).panic()).as("route org: its only backend failed").isTrue();
        assertThat(addresses(pool.sniSet(2))).containsExactly("10.0.2.1:443");
        assertThat(pool.sniSet(0).panic()).isFalse();
        assertThat(addresses(pool.sniSet(0))).containsExactly("10.0.0.2:443");
        assertThat(pool.sniSet(1).panic()).isFalse();
        assertThat(addresses(pool.sniSet(1))).containsExactlyInAnyOrder("10.0.1.1:443", "10.0.1.2:443", "10.0.0.2:443");
        List<Action> up = rig.run(r -> r.verdict(rig.backend("tls", "10.0.2.1:443").checkId, rig.transition(true),
                rig.now));
        assertThat(Rig.lines(up, Level.INFO)).contains("sni route panic over vip=tls route=org");
    }

    @Test
    void aReloadThatMovesABackendToAnotherRouteKeepsItsCounters() {
        rig.propose(config(CONFIG));
        var before = rig.backend("tls", "10.0.2.1:443").backend().stats();
        rig.propose(config(CONFIG.replace("backends: [10.0.2.1:443]", "backends: [10.0.1.1:443]")
                .replace("backends: [10.0.1.1:443, 10.0.1.2:443, 10.0.0.2:443]",
                        "backends: [10.0.2.1:443, 10.0.1.2:443, 10.0.0.2:443]")));
        assertThat(rig.backend("tls", "10.0.2.1:443").backend().sniSets()).isEqualTo(0b010);
        assertThat(rig.backend("tls", "10.0.1.1:443").backend().sniSets()).isEqualTo(0b100);
        assertThat(rig.backend("tls", "10.0.2.1:443").backend().stats()).isSameAs(before);
        assertThat(published().sni().pools()).hasSize(3);
    }

    @Test
    void aRoutesDiscoveredServiceJoinsThatRouteOnly() {
        rig.propose(config("""
                discovery: {zookeeper: {connect: "zk1:2181"}}
                vips:
                  - name: tls
                    listen: 10.1.0.1:443
                    service: web
                    sni:
                      routes:
                        - {name: api, server_names: [api.example.com], service: api}
                        - {name: org, server_names: ["*.example.org"], service: org, backends: [10.0.2.1:443]}
                """));
        rig.run(r -> r.discovered("zookeeper", java.util.Map.of(
                "web", List.of(Rig.endpoint("10.0.0.1:443", false, true)),
                "api", List.of(Rig.endpoint("10.0.1.1:443", false, true), Rig.endpoint("10.0.0.1:443", false, true)),
                "org", List.of(Rig.endpoint("10.0.2.2:443", false, true))), java.util.Map.of(), rig.now));
        BackendPool pool = published();
        assertThat(addresses(pool.sniSet(0))).containsExactly("10.0.0.1:443");
        assertThat(addresses(pool.sniSet(1))).containsExactlyInAnyOrder("10.0.1.1:443", "10.0.0.1:443");
        assertThat(addresses(pool.sniSet(2))).containsExactlyInAnyOrder("10.0.2.1:443", "10.0.2.2:443");
        assertThat(rig.backend("tls", "10.0.0.1:443").backend().sniSets()).as("in web and api: one member")
                .isEqualTo(0b011);
        // The route's service loses an endpoint: it leaves the VIP; the shared one leaves the route only.
        rig.run(r -> r.discovered("zookeeper", java.util.Map.of(
                "web", List.of(Rig.endpoint("10.0.0.1:443", false, true)),
                "api", List.of(Rig.endpoint("10.0.1.1:443", false, true)),
                "org", List.of()), java.util.Map.of(), rig.now));
        assertThat(rig.vip("tls").backends.keySet().stream().map(Object::toString))
                .containsExactlyInAnyOrder("10.0.0.1:443", "10.0.1.1:443", "10.0.2.1:443");
        assertThat(rig.backend("tls", "10.0.0.1:443").backend().sniSets()).isEqualTo(0b001);
        assertThat(addresses(published().sniSet(1))).containsExactly("10.0.1.1:443");
    }

    @Test
    void withoutBackendsOfItsOwnTheVipHasNoDefaultSet() {
        rig.propose(config("""
                vips:
                  - name: tls
                    listen: 10.1.0.1:443
                    sni: {routes: [{server_names: [a.example], backends: [10.0.1.1:443]}]}
                """));
        assertThat(published().sni().hasDefault()).isFalse();
        assertThat(published().sniSet(0).backends()).isEmpty();
        assertThat(addresses(published().sniSet(1))).containsExactly("10.0.1.1:443");
    }
}
