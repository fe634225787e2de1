package io.tandem.discovery.marathon;

import static io.tandem.discovery.marathon.testing.MarathonPayloads.hostApp;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.portDef;
import static io.tandem.discovery.marathon.testing.MarathonPayloads.task;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.discovery.Endpoint;
import io.tandem.discovery.Placement;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The app's placement constraints travel with each of its endpoints, for the posture report. */
class MarathonPlacementTest {
    private static final ObjectMapper M = new ObjectMapper();
    private final AppParser parser = new AppParser(new Drops(TimeUnit.SECONDS.toNanos(10)));
    private final MarathonSettings settings = MarathonSettings.of(List.of(URI.create("http://127.0.0.1:8080")));

    private static JsonNode json(String s) {
        try {
            return M.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    private List<Endpoint> endpoints(String constraintsJson) {
        ObjectNode app = (ObjectNode) json(hostApp("/orders", "[" + portDef(0, "tcp", "{}") + "]"));
        if (constraintsJson != null) {
            app.set("constraints", json(constraintsJson));
        }
        app.putArray("tasks").add(json(task("/orders", "orders.1", "TASK_RUNNING", "a", 31000)));
        List<MarathonApp> parsed = new ArrayList<>();
        parser.parseAppEntry(app).ifPresent(parsed::add);
        return List.copyOf(new SnapshotBuilder(settings).build(parsed, Map.of()).services().get("/orders#0"));
    }

    @Test
    void constraintsAreCarriedAsFieldOperatorValue() {
        assertThat(endpoints("[[\"hostname\", \"UNIQUE\"], [\"@zone\", \"GROUP_BY\", \"3\"]]")).singleElement()
                .satisfies(e -> assertThat(e.placement()).contains(
                        new Placement("/orders", List.of("hostname:UNIQUE", "@zone:GROUP_BY:3"))));
    }

    @Test
    void anAppWithoutConstraintsHasAnEmptyPlacementNotNone() {
        assertThat(endpoints(null)).singleElement()
                .satisfies(e -> assertThat(e.placement()).contains(new Placement("/orders", List.of())));
    }

    @Test
    void aMalformedConstraintIsLeftOutAndTheRestKept() {
        assertThat(endpoints("[\"hostname\", [\"rack_id\", 7], [\"hostname\", \"GROUP_BY\"]]")).singleElement()
                .satisfies(e -> assertThat(e.placement().map(Placement::constraints))
                        .isEqualTo(Optional.of(List.of("hostname:GROUP_BY"))));
    }
}
