package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeView;
import io.tandem.ha.HaView;
import io.tandem.ha.OwnershipCause;
import io.tandem.ha.OwnershipEvent;
import io.tandem.ha.ZkState;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code tandem status} on a node of an HA group (issue 19: no HA section, and VIPs shown as
 * {@code ok} on a node that held none of their addresses).
 */
class StatusTableHaTest {
    private static final NodeView.BackendView UP = new NodeView.BackendView("10.0.0.1:80", 1, "static", "up", Set.of(),
            true, 0, 3, 0, 0, 0, List.of());

    private static NodeView.VipView vip(String name, String listen) {
        return new NodeView.VipView(name, listen, "tcp", "round-robin", "copy", "none", true, false, false, 1, 1, 0,
                3, 0, 0, 0, 0, 0, List.of(UP));
    }

    private static NodeView node(NodeView.VipView... vips) {
        NodeView v = FakeNode.sampleView();
        return new NodeView("lb2", v.startedAt(), v.transport(), v.configSource(), 1, v.configLoadedAt(), true, false,
                false, List.of(vips), List.of(), Map.of());
    }

    static HaView ha(boolean holdsEleven) {
        return new HaView("lb2", 7, ZkState.CONNECTED, 0x11,
                List.of(new HaView.PeerView("lb1", true, 12, "never connected", "IDLE", true,
                        Map.of("10.1.0.10", 3L))),
                List.of(new HaView.VipAddressView("10.1.0.10", "lb1", false, 3, "lb1", -1),
                        new HaView.VipAddressView("10.1.0.11", "lb2", holdsEleven, 1, holdsEleven ? "lb2" : null,
                                holdsEleven ? 1_700_000_000_000L : -1)),
                List.of(new OwnershipEvent("10.1.0.11", true, 1, OwnershipCause.PREFERRED, "", 1_700_000_000_000L, -1, -1,
                        2)));
    }

    @Test
    void anHaNodeShowsZooKeeperItsPeersAndWhoHoldsEachAddressAndItsStandbyVips() {
        String table = StatusTable.render(node(vip("web", "10.1.0.10:80"), vip("api", "10.1.0.11:443"),
                vip("local", "127.0.0.1:8080")), Optional.of(ha(true)));
        assertThat(table).isEqualTo("""
                node lb2  transport epoll  config #1 (/etc/tandem/tandem.yaml, loaded 2026-03-01T10:05:30.250Z)  ready yes
                ha node lb2  zookeeper CONNECTED  holds 1 of 2 addresses
                  peer lb1  link up  last heartbeat 12 ms ago  zookeeper yes
                  ADDRESS    OWNER  HERE  PREFERRED  EPOCH
                  10.1.0.10  lb1    no    lb1            3
                  10.1.0.11  lb2    yes   lb2            1

                VIP    LISTEN          PROTO  POLICY       ACTIVE  TOTAL  ELIGIBLE  STATE
                  -> BACKEND      WEIGHT  STATE  FLAGS  ACTIVE  TOTAL   IN  OUT  CONN-FAIL
                web    10.1.0.10:80    tcp    round-robin       0      3       1/1  standby
                  -> 10.0.0.1:80       1  up     -           0      3  0 B  0 B          0
                api    10.1.0.11:443   tcp    round-robin       0      3       1/1  ok
                  -> 10.0.0.1:80       1  up     -           0      3  0 B  0 B          0
                local  127.0.0.1:8080  tcp    round-robin       0      3       1/1  ok
                  -> 10.0.0.1:80       1  up     -           0      3  0 B  0 B          0
                """);
    }

    @Test
    void aNodeHoldingNoneOfItsAddressesShowsEveryHaVipAsStandbyAndADownPeerSaysWhy() {
        HaView lonely = new HaView("lb2", 7, ZkState.SUSPENDED, 0,
                List.of(new HaView.PeerView("lb1", false, -1, "eof", "SENT", false, Map.of())),
                ha(false).vipAddresses(), List.of());
        String table = StatusTable.render(node(vip("web", "10.1.0.10:80"), vip("api", "10.1.0.11:443")),
                Optional.of(lonely));
        assertThat(table).contains("ha node lb2  zookeeper SUSPENDED  holds 0 of 2 addresses\n")
                .contains("  peer lb1  link DOWN  never heard  (eof, probe SENT)\n")
                .contains("  10.1.0.11  (none)  no    lb2            1\n");
        assertThat(table.lines().filter(l -> l.startsWith("web ") || l.startsWith("api ")))
                .allSatisfy(l -> assertThat(l).endsWith("standby"));
    }

    @Test
    void withoutAnHaGroupTheTableIsUnchanged() {
        assertThat(StatusTable.render(FakeNode.sampleView(), Optional.empty())).isEqualTo(StatusTableTest.GOLDEN);
    }

    @Test
    void theHaViewSurvivesTheAdminApisJsonAsTheClientReadsIt() throws Exception {
        String json = AdminJson.MAPPER.writeValueAsString(ha(true));
        HaView back = AdminJson.MAPPER.readValue(json, HaView.class);
        assertThat(back).isEqualTo(ha(true));
    }
}
