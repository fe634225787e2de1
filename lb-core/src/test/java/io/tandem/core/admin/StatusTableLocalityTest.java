package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeView;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code tandem status} shows fault domains where they exist, and only there. */
class StatusTableLocalityTest {
    private static final Instant T = Instant.parse("2026-12-07T10:00:00Z");

    private static NodeView.BackendView backend(String address, String region, String zone, String rack, int priority) {
        return new NodeView.BackendView(address, 1, "static", "up", Set.of(), true, 0, 0, 0, 0, 0, List.of(), region,
                zone, rack, priority);
    }

    @Test
    void localityPriorityAndLocalShareAreColumnsWhenKnown() {
        var vip = new NodeView.VipView("web", "10.1.0.10:80", "tcp", "round-robin", "copy", "none", true, false,
                false, 3, 3, 0, 0, 0, 0, 0, 0, 0, List.of(backend("10.0.0.1:80", "eu", "eu-a", null, 0),
                        backend("10.0.1.1:80", "eu", "eu-b", "r7", 0), backend("10.0.9.1:80", null, null, null, 1)),
                true, 100.0, List.of(new NodeView.GroupView(0, "eu", "eu-a", true, 1, 100.0)));
        NodeView view = new NodeView("edge-1", T, "epoll", "/etc/tandem.yaml", 1, T, true, false, false,
                List.of(vip), List.of(), Map.of(), "eu/eu-a");
        String table = StatusTable.render(view);
        assertThat(table.lines().findFirst().orElseThrow()).endsWith("ready yes  locality eu/eu-a");
        assertThat(table).containsPattern("STATE +LOCAL\n").containsPattern("CONN-FAIL +LOCALITY +PRIO\n")
                .containsPattern("web .* ok +100\\.0%\n");
        assertThat(table).containsPattern("10\\.0\\.1\\.1:80 .* eu/eu-b/r7 +0\n")
                .containsPattern("10\\.0\\.9\\.1:80 .* - +1\n");
    }

    @Test
    void withoutFaultDomainsTheTableIsUnchanged() {
        var vip = new NodeView.VipView("web", "10.1.0.10:80", "tcp", "round-robin", "copy", "none", true, false,
                false, 3, 1, 0, 0, 0, 0, 0, 0, 0, List.of(backend("10.0.0.1:80", null, null, null, 0)));
        String table = StatusTable.render(new NodeView("edge-1", T, "epoll", "/etc/tandem.yaml", 1, T, true, false,
                false, List.of(vip), List.of(), Map.of()));
        assertThat(table).doesNotContain("LOCAL").doesNotContain("PRIO").doesNotContain("locality");
    }
}
