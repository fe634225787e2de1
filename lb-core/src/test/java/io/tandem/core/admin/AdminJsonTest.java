package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.control.NodeView;
import io.tandem.health.HealthFlag;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AdminJsonTest {

    @Test
    void nodeViewSurvivesAJsonRoundTripWithFlagsInstantsAndTransitions() throws Exception {
        NodeView view = FakeNode.sampleView();
        String json = AdminJson.MAPPER.writeValueAsString(view);
        assertThat(AdminJson.MAPPER.readValue(json, NodeView.class)).isEqualTo(view);
    }

    @Test
    void instantsAreIsoStringsAndFlagsAreNames() throws Exception {
        var t = new NodeView.TransitionView(Instant.parse("2026-03-01T10:07:00.123Z"), HealthFlag.EJECTED_PASSIVE,
                true, "5 consecutive connect failures");
        var b = new NodeView.BackendView("10.0.0.1:80", 1, "static", Set.of(HealthFlag.DRAINING), false, 0, 0, 0, 0, 0,
                List.of(t));
        assertThat(AdminJson.MAPPER.writeValueAsString(b))
                .contains("\"flags\":[\"DRAINING\"]")
                .contains("\"at\":\"2026-03-01T10:07:00.123Z\"")
                .contains("\"flag\":\"EJECTED_PASSIVE\"");
    }

    @Test
    void readingIgnoresFieldsANewerNodeAdds() throws Exception {
        String json = "{\"applied\":true,\"generation\":3,\"changes\":[],\"errors\":[],\"durationMs\":12}";
        assertThat(AdminJson.MAPPER.readValue(json, ReloadOutcome.class))
                .isEqualTo(new ReloadOutcome(true, 3, List.of(), List.of()));
    }

    record WithOptional(Optional<String> token, Optional<Instant> at) {
    }

    @Test
    void optionalsWriteAsValueOrNullAndReadBack() throws Exception {
        var present = new WithOptional(Optional.of("x"), Optional.of(Instant.parse("2026-01-01T00:00:00Z")));
        var absent = new WithOptional(Optional.empty(), Optional.empty());
        String p = AdminJson.MAPPER.writeValueAsString(present);
        assertThat(p).isEqualTo("{\"token\":\"x\",\"at\":\"2026-01-01T00:00:00Z\"}");
        assertThat(AdminJson.MAPPER.readValue(p, WithOptional.class)).isEqualTo(present);
        assertThat(AdminJson.MAPPER.readValue(AdminJson.MAPPER.writeValueAsString(absent), WithOptional.class))
                .isEqualTo(absent);
    }
}
