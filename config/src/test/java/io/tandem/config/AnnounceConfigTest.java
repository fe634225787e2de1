package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code ha.announce}: ARP by default, BGP with its neighbors, BFD and anycast; mistakes named with their paths. */
class AnnounceConfigTest {
    private static final String HA = """
            ha:
              node_id: lb1
              listen: 198.18.0.1:7946
              peers: [{id: lb2, address: 198.18.0.2:7946}]
              zookeeper: {connect: "198.18.0.9:2181"}
              addresses: [198.19.200.10]
            %s
            vips:
              - name: web
                listen: 198.19.200.10:80
                backends: [198.18.0.20:8080]
            %s""";

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    @Test
    void withoutAnnounceTheGroupUsesArpAsBefore() {
        AnnounceSettings a = valid(HA.formatted("", "")).ha().orElseThrow().announce();
        assertThat(a).isEqualTo(AnnounceSettings.ARP);
        assertThat(a.bgp()).isFalse();
    }

    @Test
    void bgpModeReadsNeighborsBfdAndTheBirdPaths() {
        AnnounceSettings a = valid(HA.formatted("""
                  announce:
                    mode: bgp
                    local_as: 4200000001
                    router_id: 198.18.0.1
                    neighbors: [{address: 198.19.1.1, as: 65000}, {address: "2001:db8::1", as: 65000}]
                    bfd: {interval: 100ms, multiplier: 5}
                    hold_time: 6s
                    run_dir: /run/tandem/x
                """, "")).ha().orElseThrow().announce();
        assertThat(a.mode()).isEqualTo(AnnounceSettings.Mode.BGP);
        assertThat(a.localAs()).as("4-byte AS numbers").isEqualTo(4_200_000_001L);
        assertThat(a.routerId()).contains("198.18.0.1");
        assertThat(a.neighbors()).containsExactly(new AnnounceSettings.Neighbor("198.19.1.1", 65000),
                new AnnounceSettings.Neighbor("2001:db8::1", 65000));
        assertThat(a.bfd()).contains(new AnnounceSettings.Bfd(Duration.ofMillis(100), 5));
        assertThat(a.holdTime()).isEqualTo(Duration.ofSeconds(6));
        assertThat(a.runDir()).contains(Path.of("/run/tandem/x"));
        assertThat(a.anycast()).isFalse();
    }

    @Test
    void bfdIsOnAt50msTimes3ByDefaultAndCanBeTurnedOff() {
        String base = """
                  announce:
                    mode: bgp
                    local_as: 65001
                    neighbors: [{address: 198.19.1.1, as: 65000}]
                %s""";
        assertThat(valid(HA.formatted(base.formatted(""), "")).ha().orElseThrow().announce().bfd())
                .contains(new AnnounceSettings.Bfd(Duration.ofMillis(50), 3));
        assertThat(valid(HA.formatted(base.formatted("    bfd: false\n"), "")).ha().orElseThrow().announce().bfd())
                .isEmpty();
    }

    @Test
    void announceMistakesAreAllReportedWithTheirPaths() {
        assertThat(errors(HA.formatted("""
                  announce:
                    mode: ospf
                    local_as: 0
                    router_id: "2001:db8::1"
                    neighbors: [{address: nope, as: 4294967296}, {as: 65000}]
                    hold_time: 1s
                    run_dir: relative/dir
                    colour: blue
                """, ""))).containsExactly(
                "ha.announce.mode: \"ospf\" (expected arp or bgp)",
                "ha.announce.local_as: 0 (expected an AS number 1..4294967295)",
                "ha.announce.router_id: \"2001:db8::1\" (expected an IPv4 literal (BGP router id))",
                "ha.announce.neighbors[0].address: \"nope\" (expected an IP literal)",
                "ha.announce.neighbors[0].as: 4294967296 (expected an AS number 1..4294967295)",
                "ha.announce.neighbors[1].address: missing (expected the neighbor's IP literal)",
                "ha.announce.hold_time: \"1s\" (expected a duration 3s..65535s)",
                "ha.announce.run_dir: \"relative/dir\" (expected an absolute path of at most 80 characters (the"
                        + " control socket's path must fit 108 bytes))",
                "ha.announce.colour: unknown key (expected one of mode, anycast, local_as, router_id, neighbors, bfd,"
                        + " hold_time, bird, birdc, run_dir, withdraw_without_backends, backend_hold_down)");
    }

    @Test
    void bgpNeedsALocalAsAndNeighborsAndAnycastNeedsBgp() {
        assertThat(errors(HA.formatted("""
                  announce: {mode: bgp}
                """, ""))).containsExactly(
                "ha.announce.local_as: missing (expected this node's AS number 1..4294967295 (mode: bgp))",
                "ha.announce.neighbors: missing (expected a list of BGP neighbors, each {address: IP, as:"
                        + " 1..4294967295} (mode: bgp))");
        assertThat(errors(HA.formatted("""
                  announce: {anycast: true}
                """, ""))).containsExactly("ha.announce.anycast: true (expected false unless mode: bgp (anycast"
                + " needs routing: ARP gives one owner per address))");
    }

    @Test
    void aVipOnAnAnycastAddressMustUseMaglev() {
        String anycast = """
                  announce:
                    mode: bgp
                    anycast: true
                    local_as: 65001
                    neighbors: [{address: 198.19.1.1, as: 65000}]
                """;
        assertThat(errors(HA.formatted(anycast, ""))).containsExactly(
                "vips[0].policy: round-robin (the default) (expected maglev: 198.19.200.10 is an anycast address"
                        + " (ha.announce.anycast), so any node may get a client's next connection and must pick the"
                        + " same backend)");
        TandemConfig ok = valid(HA.formatted(anycast, "    policy: maglev\n"));
        assertThat(ok.ha().orElseThrow().announce().anycast()).isTrue();
        assertThat(ok.vips().get(0).policy()).isEqualTo(PolicyKind.MAGLEV);
        assertThat(Optional.of(ok.ha().orElseThrow().addresses().get(0).address())).contains("198.19.200.10");
    }

    @Test
    void withdrawWithoutBackendsIsOnWithAnycastOffForASingleOwnerAndNeedsBgp() {
        String bgp = """
                  announce:
                    mode: bgp
                    anycast: %s
                    local_as: 65001
                    neighbors: [{address: 198.19.1.1, as: 65000}]
                %s""";
        AnnounceSettings single = valid(HA.formatted(bgp.formatted("false", ""), "")).ha().orElseThrow().announce();
        assertThat(single.withdrawWithoutBackends()).isFalse();
        assertThat(single.backendHoldDown()).isEqualTo(Duration.ofSeconds(2));
        AnnounceSettings any = valid(HA.formatted(bgp.formatted("true", ""), "    policy: maglev\n")).ha()
                .orElseThrow().announce();
        assertThat(any.withdrawWithoutBackends()).isTrue();
        AnnounceSettings set = valid(HA.formatted(bgp.formatted("false",
                "    withdraw_without_backends: true\n    backend_hold_down: 500ms\n"), "")).ha().orElseThrow()
                .announce();
        assertThat(set.withdrawWithoutBackends()).isTrue();
        assertThat(set.backendHoldDown()).isEqualTo(Duration.ofMillis(500));
        assertThat(errors(HA.formatted(bgp.formatted("false",
                "    withdraw_without_backends: 1\n    backend_hold_down: forever\n"), ""))).hasSize(2)
                .anyMatch(e -> e.startsWith("ha.announce.withdraw_without_backends: 1 (expected"))
                .anyMatch(e -> e.startsWith("ha.announce.backend_hold_down: \"forever\" (expected"));
        assertThat(errors(HA.formatted("""
                  announce: {withdraw_without_backends: true}
                """, ""))).containsExactly("ha.announce.withdraw_without_backends: true (expected false unless mode:"
                + " bgp (ARP has no route to withdraw))");
    }
}
