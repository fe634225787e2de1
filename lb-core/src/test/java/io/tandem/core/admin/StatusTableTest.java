package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeView;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusTableTest {
    static final String GOLDEN = """
            node edge-1  transport epoll  config #7 (/etc/tandem/tandem.yaml, loaded 2026-03-01T10:05:30.250Z)  ready yes

            VIP  LISTEN        PROTO  POLICY       ACTIVE  TOTAL  ELIGIBLE  STATE
              -> BACKEND      WEIGHT  STATE                         ACTIVE  TOTAL       IN      OUT  CONN-FAIL
            web  10.1.0.10:80  tcp    round-robin       2    121       2/3  ok
              -> 10.0.0.1:80       1  UP                                 2     60  1.2 MiB  3.4 MiB          0
              -> 10.0.0.2:80       3  FAILED_ACTIVE_CHECK,DISABLED       0     61    512 B  2.0 KiB          7
              -> [::1]:8080        1  UP                                 0      0      0 B      0 B          0
            dns  10.1.0.11:53  udp    maglev            0   5000       0/1  PANIC
              -> 10.0.1.1:53       1  EJECTED_PASSIVE                    0   5000  9.3 GiB      0 B          1
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
    void bytesAreHumanReadableInBinaryUnits() {
        assertThat(StatusTable.bytes(0)).isEqualTo("0 B");
        assertThat(StatusTable.bytes(1023)).isEqualTo("1023 B");
        assertThat(StatusTable.bytes(1536)).isEqualTo("1.5 KiB");
        assertThat(StatusTable.bytes(10_000_000_000L)).isEqualTo("9.3 GiB");
        assertThat(StatusTable.bytes(Long.MAX_VALUE)).isEqualTo("8.0 EiB");
    }
}
