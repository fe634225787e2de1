package io.tandem.ha.announce;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** birdc output as BIRD 2.0.12 prints it (copied from a run), and lines it does not know skipped. */
class BirdStatusTest {
    private static final String PROTOCOLS = """
            BIRD 2.0.12 ready.
            Name       Proto      Table      State  Since         Info
            device1    Device     ---        up     19:40:08
            tandem_vips Direct    ---        up     19:40:08
            tandem_peer1 BGP      ---        up     19:40:12      Established
            tandem_peer2 BGP      ---        start  19:40:13      Active        Socket: Connection closed
            something unexpected
            """;

    @Test
    void bgpRowsGiveStateBgpStateAndTheLastError() {
        var rows = BirdStatus.parseProtocols(PROTOCOLS);
        assertThat(rows).containsOnlyKeys("tandem_peer1", "tandem_peer2");
        assertThat(rows.get("tandem_peer1")).containsExactly("up", "Established", "");
        assertThat(rows.get("tandem_peer2")).containsExactly("start", "Active", "Socket: Connection closed");
    }

    @Test
    void bfdSessionsAreTheRowsThatStartWithAnAddress() {
        List<BirdStatus.BfdSession> s = BirdStatus.parseBfd("""
                BIRD 2.0.12 ready.
                tandem_bfd:
                IP address                Interface  State      Since         Interval  Timeout
                198.19.1.1                eth1       Up         19:40:09    0.050    0.150
                2001:db8::1               eth1       Down       19:40:09    1.000    0.000
                """);
        assertThat(s).containsExactly(new BirdStatus.BfdSession("198.19.1.1", "eth1", "Up"),
                new BirdStatus.BfdSession("2001:db8::1", "eth1", "Down"));
        assertThat(s.get(0).up()).isTrue();
        assertThat(s.get(1).up()).isFalse();
    }

    @Test
    void exportedRoutesAreTheUnindentedPrefixLines() {
        Set<String> routes = BirdStatus.parseRoutes("""
                BIRD 2.0.12 ready.
                Table master4:
                198.19.200.10/32     unicast [tandem_vips 19:40:11] * (240)
                \tdev lo
                198.19.200.11/32     unicast [tandem_vips 19:40:11] * (240)
                \tdev lo
                """);
        assertThat(routes).containsExactly("198.19.200.10/32", "198.19.200.11/32");
    }

    @Test
    void announcedIsWhatEstablishedSessionsExport() {
        BirdStatus s = new BirdStatus(true, List.of(
                new BirdStatus.Session("tandem_peer1", "198.19.1.1", "up", "Established", "", Set.of("198.19.200.10/32")),
                new BirdStatus.Session("tandem_peer2", "198.19.2.1", "start", "Active", "", Set.of("198.19.200.11/32"))),
                List.of());
        assertThat(s.announced()).containsExactly("198.19.200.10/32");
    }
}
