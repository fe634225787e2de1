package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeView;
import io.tandem.health.HealthFlag;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code tandem status} shows what each backend's agent says, when a VIP has an agent check, and only then. */
class StatusTableAgentTest {
    private static final Instant T = Instant.parse("2026-12-07T10:00:00Z");

    private static NodeView.BackendView backend(String address, String state, Set<HealthFlag> flags,
                                                NodeView.AgentView agent) {
        return new NodeView.BackendView(address, 5, "static", state, flags, flags.isEmpty(), 0, 0, 0, 0, 0, List.of(),
                null, null, null, 0, List.of(), agent);
    }

    private static String render(NodeView.BackendView... backends) {
        var vip = new NodeView.VipView("web", "10.1.0.10:80", "tcp", "weighted-round-robin", "copy", "none", true,
                false, false, backends.length, 1, 0, 0, 0, 0, 0, 0, 0, List.of(backends));
        return StatusTable.render(new NodeView("edge-1", T, "epoll", "/etc/tandem.yaml", 1, T, true, false, false,
                List.of(vip), List.of(), Map.of()));
    }

    @Test
    void theAgentColumnSaysHealthReasonAdminWeightAndReachability() {
        String table = render(
                backend("10.0.0.1:80", "down", Set.of(HealthFlag.AGENT_DOWN),
                        new NodeView.AgentView("down", "ready", "50%", "disk full", "\"down 50% # disk full\"", null, true)),
                backend("10.0.0.2:80", "up", Set.of(),
                        new NodeView.AgentView("up", "ready", null, null, null, "connection refused", false)));
        assertThat(table).containsPattern("CONN-FAIL +AGENT\n")
                .containsPattern("10\\.0\\.0\\.1:80 .* down\\(disk full\\) ready 50%\n")
                .containsPattern("10\\.0\\.0\\.2:80 .* up ready 100% unreachable\n");
    }

    @Test
    void withoutAgentChecksThereIsNoAgentColumn() {
        assertThat(render(backend("10.0.0.1:80", "up", Set.of(), null))).doesNotContain("AGENT");
    }

    @Test
    void theAgentFieldSurvivesTheJsonTheCliReadsAndAnOlderNodesBackendHasNone() throws Exception {
        var b = backend("10.0.0.1:80", "draining", Set.of(HealthFlag.AGENT_DRAIN),
                new NodeView.AgentView("up", "drain", "weight:7", null, "\"drain weight:7\"", null, true));
        String json = AdminJson.MAPPER.writeValueAsString(b);
        assertThat(json).contains("\"agent\":{\"health\":\"up\",\"admin\":\"drain\",\"weight\":\"weight:7\"");
        assertThat(AdminJson.MAPPER.readValue(json, NodeView.BackendView.class)).isEqualTo(b);
        String old = json.replaceAll(",\"agent\":\\{[^}]*\\}", "");
        assertThat(old).doesNotContain("agent\"");
        assertThat(AdminJson.MAPPER.readValue(old, NodeView.BackendView.class).agent()).isNull();
    }
}
