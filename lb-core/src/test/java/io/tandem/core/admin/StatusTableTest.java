package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeView;
import io.tandem.health.HealthFlag;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StatusTableTest {
    static final String GOLDEN = """
            node edge-1  transport epoll  config #7 (/etc/tandem/tandem.yaml, loaded 2026-03-01T10:05:30.250Z)  ready yes

            VIP  LISTEN        PROTO  POLICY       ACTIVE  TOTAL  ELIGIBLE  STATE
              -> BACKEND      WEIGHT  STATE     FLAGS                         ACTIVE  TOTAL       IN      OUT  CONN-FAIL
            web  10.1.0.10:80  tcp    round-robin       2    121       2/3  ok
              -> 10.0.0.1:80       1  up        -                                  2     60  1.2 MiB  3.4 MiB          0
              -> 10.0.0.2:80       3  disabled  FAILED_ACTIVE_CHECK,DISABLED       0     61    512 B  2.0 KiB          7
              -> [::1]:8080        1  up        -                                  0      0      0 B      0 B          0
            dns  10.1.0.11:53  udp    maglev            0   5000       0/1  PANIC
              -> 10.0.1.1:53       1  ejected   EJECTED_PASSIVE                    0   5000  9.3 GiB      0 B          1
            """;

    @Test
    void rendersTheSampleNodeAsTheGoldenTable() {
        assertThat(StatusTable.render(FakeNode.sampleView())).isEqualTo(GOLDEN);
    }

    @Test
    void nodeWithoutVipsSaysSo() {
        NodeView v = FakeNode.sampleView();
        NodeView empty = new NodeView(v.node(), v.startedAt(), v.transport(), v.configSource(), 1, v.configLoadedAt(),
                false, true, List.of());
        assertThat(StatusTable.render(empty)).isEqualTo(
                "node edge-1  transport epoll  config #1 (/etc/tandem/tandem.yaml, loaded 2026-03-01T10:05:30.250Z)"
                        + "  ready no  DRAINING\n(no VIPs)\n");
    }

    @Test
    void aBackendNoCheckWatchesIsUncheckedNotUpAndAWarmingNodeSaysSo() {
        NodeView v = FakeNode.sampleView();
        var unchecked = new NodeView.BackendView("10.0.2.1:80", 1, "static", "unchecked", Set.of(), true, 0, 9, 0, 0, 4,
                List.of());
        var pending = new NodeView.BackendView("10.0.3.1:80", 1, "static", "pending",
                Set.of(HealthFlag.PENDING_FIRST_CHECK), false, 0, 0, 0, 0, 0, List.of());
        var noCheck = new NodeView.VipView("app", "10.1.0.12:80", "tcp", "round-robin", "copy", "none", true, false,
                false, 3, 1, 0, 9, 0, 0, 0, 0, 0, List.of(unchecked));
        var warming = new NodeView.VipView("db", "10.1.0.13:5432", "tcp", "round-robin", "copy", "none", true, false,
                true, 1, 0, 0, 0, 0, 0, 0, 0, 0, List.of(pending));
        NodeView view = new NodeView(v.node(), v.startedAt(), v.transport(), v.configSource(), 1, v.configLoadedAt(),
                false, false, true, List.of(noCheck, warming), List.of(), java.util.Map.of());
        assertThat(StatusTable.render(view)).isEqualTo("""
                node edge-1  transport epoll  config #1 (/etc/tandem/tandem.yaml, loaded 2026-03-01T10:05:30.250Z)  \
                ready no (warming: first health checks pending)

                VIP  LISTEN          PROTO  POLICY       ACTIVE  TOTAL  ELIGIBLE  STATE
                  -> BACKEND      WEIGHT  STATE      FLAGS                ACTIVE  TOTAL   IN  OUT  CONN-FAIL
                app  10.1.0.12:80    tcp    round-robin       0      9       1/1  unchecked
                  -> 10.0.2.1:80       1  unchecked  -                         0      9  0 B  0 B          4
                db   10.1.0.13:5432  tcp    round-robin       0      0       0/1  warming
                  -> 10.0.3.1:80       1  pending    PENDING_FIRST_CHECK       0      0  0 B  0 B          0
                """);
    }

    @Test
    void bytesAreHumanReadableInBinaryUnits() {
        assertThat(StatusTable.bytes(0)).isEqualTo("0 B");
        assertThat(StatusTable.bytes(1023)).isEqualTo("1023 B");
        assertThat(StatusTable.bytes(1536)).isEqualTo("1.5 KiB");
        assertThat(StatusTable.bytes(10_000_000_000L)).isEqualTo("9.3 GiB");
        assertThat(StatusTable.bytes(Long.MAX_VALUE)).isEqualTo("8.0 EiB");
    }
}
