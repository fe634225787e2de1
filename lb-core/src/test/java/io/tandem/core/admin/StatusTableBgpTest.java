package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.ha.announce.Announcer;
import io.tandem.ha.announce.BirdStatus;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code tandem status} of a node in {@code ha.announce: {mode: bgp}}: what it announces and each session. */
class StatusTableBgpTest {

    @Test
    void aBgpNodeShowsItsAnnouncedAddressesAndEachNeighborsBgpAndBfdState() {
        Announcer.AnnounceView a = new Announcer.AnnounceView("bgp", false, true, 4120, 1, null,
                List.of("198.19.200.10"),
                List.of(new BirdStatus.Session("tandem_peer1", "198.19.1.1", "up", "Established", "",
                                Set.of("198.19.200.10/32")),
                        new BirdStatus.Session("tandem_peer2", "198.19.2.1", "start", "Active",
                                "Socket: Connection refused", Set.of())),
                List.of(new BirdStatus.BfdSession("198.19.1.1", "eth1", "Up")));
        String table = StatusTable.render(FakeNode.sampleView(), Optional.empty(), Optional.of(a));
        assertThat(table).startsWith(StatusTable.render(FakeNode.sampleView(), Optional.empty()))
                .contains("announce bgp single-owner  bird up (pid 4120, 1 start)  announced 198.19.200.10\n")
                .contains("  neighbor 198.19.1.1  bgp Established  bfd Up\n")
                .contains("  neighbor 198.19.2.1  bgp Active (Socket: Connection refused)  bfd -\n");
    }

    @Test
    void anAnycastNodeSaysWhetherItsAddressesAreUpHere() {
        Announcer.AnnounceView a = new Announcer.AnnounceView("bgp", true, false, -1, 3, false, List.of(), List.of(),
                List.of());
        assertThat(StatusTable.render(FakeNode.sampleView(), Optional.empty(), Optional.of(a)))
                .contains("announce bgp anycast (WITHDRAWN here)  bird DOWN  announced nothing\n");
    }

    @Test
    void anAddressHeldBackForItsBackendsSaysWhy() {
        Announcer.AnnounceView a = new Announcer.AnnounceView("bgp", true, true, 4120, 1, true, List.of(), List.of(),
                List.of(), true, java.util.Map.of("198.19.200.10", "no eligible backend"));
        assertThat(StatusTable.render(FakeNode.sampleView(), Optional.empty(), Optional.of(a)))
                .contains("  withheld 198.19.200.10: no eligible backend\n");
    }

    @Test
    void theAnnounceViewSurvivesTheJsonRoundTripTandemStatusMakes() throws Exception {
        Announcer.AnnounceView a = new Announcer.AnnounceView("bgp", true, true, 4120, 1, true, List.of(), List.of(),
                List.of(), true, java.util.Map.of("198.19.200.10", "hold-down: a backend eligible for 500 ms of 2000 ms"));
        String json = AdminJson.MAPPER.writeValueAsString(a);
        assertThat(json).contains("\"withdrawWithoutBackends\":true")
                .contains("\"withheld\":{\"198.19.200.10\":\"hold-down: a backend eligible for 500 ms of 2000 ms\"}");
        assertThat(AdminJson.MAPPER.readValue(json, Announcer.AnnounceView.class)).isEqualTo(a);
        // a node without the new fields (older version) still reads
        Announcer.AnnounceView old = AdminJson.MAPPER.readValue("{\"mode\":\"bgp\",\"anycast\":false,"
                + "\"birdRunning\":true,\"birdPid\":1,\"birdStarts\":1,\"anycastUp\":null,\"announced\":[],"
                + "\"sessions\":[],\"bfd\":[]}", Announcer.AnnounceView.class);
        assertThat(old.withheld()).isEmpty();
        assertThat(old.withdrawWithoutBackends()).isFalse();
    }
}
