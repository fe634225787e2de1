package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A backend that is one of this node's own listeners is refused: {@code --listen 127.0.0.1:P
 * --backend 127.0.0.1:P} used all 1024 descriptors in under a second from one client connection.
 * Only what is provably this node is refused; a host name is left to DNS and the run-time check.
 */
class SelfLoopsTest {

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        return r instanceof ConfigResult.Invalid invalid
                ? invalid.errors().stream().map(ConfigError::toString).toList() : List.of();
    }

    private static String oneVip(String listen, String protocol, String backend) {
        return """
                admin: {enabled: false}
                vips:
                  - name: web
                    listen: "%s"
                    protocol: %s
                    backends: [127.0.0.1:9001, "%s"]
                """.formatted(listen, protocol, backend);
    }

    @Test
    void aVipProxyingToItsOwnListenerIsRefused() {
        assertThat(errors(oneVip("127.0.0.1:8080", "tcp", "127.0.0.1:8080"))).containsExactly(
                "vips[0].backends[1]: \"127.0.0.1:8080\" (expected an address other than this node's own listener"
                        + " vips[0].listen 127.0.0.1:8080: a VIP proxying to itself loops)");
    }

    @Test
    void aVipProxyingToAnotherVipsListenerIsRefusedAlsoInMappingForm() {
        assertThat(errors("""
                admin: {enabled: false}
                vips:
                  - {name: a, listen: 127.0.0.1:8080, backends: [127.0.0.1:9001]}
                  - name: b
                    listen: 127.0.0.1:8081
                    backends:
                      - {weight: 2, address: 127.0.0.1:8080}
                """)).containsExactly(
                "vips[1].backends[0].address: \"127.0.0.1:8080\" (expected an address other than this node's own"
                        + " listener vips[0].listen 127.0.0.1:8080: a VIP proxying to itself loops)");
    }

    @ParameterizedTest(name = "listen {0}/{1}, backend {2}: refused {3}")
    @CsvSource({
            // a wildcard listener takes every local address
            "0.0.0.0:8080, tcp, 127.0.0.1:8080, true",
            "0.0.0.0:8080, tcp, 127.0.0.2:8080, true",
            "0.0.0.0:8080, tcp, 0.0.0.0:8080, true",
            "0.0.0.0:8080, tcp, localhost:8080, true",
            "0.0.0.0:8080, tcp, [::1]:8080, false",
            "0.0.0.0:8080, udp, 127.0.0.1:8080, true",
            "0.0.0.0:8080, tcp, 127.0.0.1:8081, false",
            "0.0.0.0:8080, tcp, 10.0.0.5:8080, false",
            "0.0.0.0:8080, tcp, backend.internal:8080, false",
            // [::] is dual-stack (Tandem does not set IPV6_V6ONLY)
            "[::]:8080, tcp, [::1]:8080, true",
            "[::]:8080, tcp, 127.0.0.1:8080, true",
            "[::]:8080, tcp, [::]:8080, true",
            "[::]:8080, tcp, [fd00::5]:8080, false",
            // a specific listener is reached by its own address only (and 0.0.0.0 / :: / localhost, which are loopback)
            "127.0.0.1:8080, tcp, 127.0.0.2:8080, false",
            "127.0.0.1:8080, tcp, 0.0.0.0:8080, true",
            "127.0.0.1:8080, tcp, localhost:8080, true",
            "127.0.0.1:8080, tcp, [::ffff:127.0.0.1]:8080, true",
            "127.0.0.2:8080, tcp, localhost:8080, false",
            "[::1]:8080, tcp, [0:0:0:0:0:0:0:1]:8080, true",
            "[::1]:8080, tcp, [::]:8080, true",
            "10.1.0.10:5432, tcp, 10.1.0.10:5432, true",
            "10.1.0.10:5432, udp, 10.1.0.10:5432, true"})
    void onlyWhatIsProvablyThisNodeIsRefused(String listen, String protocol, String backend, boolean refused) {
        List<String> errors = errors(oneVip(listen, protocol, backend));
        if (refused) {
            assertThat(errors).singleElement().asString()
                    .startsWith("vips[0].backends[1]: \"" + backend + "\" (expected an address other than this"
                            + " node's own listener vips[0].listen ");
        } else {
            assertThat(errors).isEmpty();
        }
    }

    @Test
    void aWildcardListenerSaysItAcceptsOnEveryLocalAddress() {
        assertThat(errors(oneVip("0.0.0.0:8080", "tcp", "127.0.0.5:8080"))).containsExactly(
                "vips[0].backends[1]: \"127.0.0.5:8080\" (expected an address other than this node's own listener"
                        + " vips[0].listen 0.0.0.0:8080, which accepts on every local address: a VIP proxying to"
                        + " itself loops)");
    }

    @Test
    void theSamePortOfAnotherProtocolIsNotALoop() {
        assertThat(errors("""
                admin: {enabled: false}
                vips:
                  - {name: dns, listen: 127.0.0.1:5353, protocol: udp, backends: [127.0.0.1:9053]}
                  - {name: web, listen: 127.0.0.1:8080, backends: [127.0.0.1:5353]}
                """)).isEmpty();
    }

    @Test
    void theAdminApiIsNotABackendByDefaultOrWhenConfigured() {
        assertThat(errors("""
                vips:
                  - {name: web, listen: 127.0.0.1:8080, backends: [127.0.0.1:9090]}
                """)).containsExactly("vips[0].backends[0]: \"127.0.0.1:9090\" (expected an address other than"
                + " this node's own listener admin.listen 127.0.0.1:9090: the admin API is not a backend)");
        assertThat(errors("""
                admin: {listen: "localhost:9191"}
                vips:
                  - {name: web, listen: 127.0.0.1:8080, backends: ["127.0.0.1:9191"]}
                """)).singleElement().asString().contains("admin.listen localhost:9191");
        assertThat(errors("""
                admin: {enabled: false}
                vips:
                  - {name: web, listen: 127.0.0.1:8080, backends: [127.0.0.1:9090]}
                """)).isEmpty();
    }

    @Test
    void theHaPeerLinkAndTheGroupsAddressesAreThisNode() {
        assertThat(errors("""
                admin: {enabled: false}
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  addresses: [198.18.1.10]
                vips:
                  - {name: web, listen: 0.0.0.0:80, backends: [198.18.0.1:7946, 198.18.1.10:80, 198.18.1.11:80]}
                """)).containsExactly(
                "vips[0].backends[0]: \"198.18.0.1:7946\" (expected an address other than this node's own listener"
                        + " ha.listen 198.18.0.1:7946: the HA peer link is not a backend)",
                "vips[0].backends[1]: \"198.18.1.10:80\" (expected an address other than this node's own listener"
                        + " vips[0].listen 0.0.0.0:80, which accepts on every local address: a VIP proxying to"
                        + " itself loops)");
    }

    @Test
    void aVipOnTheAdminApisAddressIsRefused() {
        assertThat(errors("""
                vips:
                  - {name: web, listen: 127.0.0.1:9090, backends: [127.0.0.1:9001]}
                """)).containsExactly("vips[0].listen: \"127.0.0.1:9090\" (expected an address other than the"
                + " admin API's admin.listen 127.0.0.1:9090, its default; one of the two could not bind)");
    }
}
