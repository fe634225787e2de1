package io.tandem.core.control;

import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.core.control.NodeControl.BackendAction;
import io.tandem.health.HealthFlag;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An operator drain lets connections finish until {@code runtime.drain_timeout}, then cuts what
 * is left; enabling the backend first calls the cut off. Unknown VIPs and backends are refused
 * with a reason.
 */
class DrainDeadlineTest {
    private final Rig rig = new Rig();

    private List<Action> act(String backend, BackendAction action) {
        return rig.run(r -> r.operator("a", backend, action, rig.now));
    }

    @Test
    void aDrainCutsWhatIsLeftAtTheDeadlineOfTheConfigInForce() {
        rig.propose(Rig.config("runtime: {drain_timeout: 30s}\nvips:\n" + vip("a", 1, "10.0.0.1:80, 10.0.0.2:80")));
        rig.propose(Rig.config("runtime: {drain_timeout: 500ms}\nvips:\n" + vip("a", 1, "10.0.0.1:80, 10.0.0.2:80")));
        List<Action> drained = act("10.0.0.1:80", BackendAction.DRAIN);
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).containsExactly(HealthFlag.DRAINING);
        assertThat(Rig.published(drained, "a")).containsExactly("10.0.0.2:80");
        Action.Schedule deadline = only(drained, Action.Schedule.class).getFirst();
        assertThat(deadline.delay()).isEqualTo(Duration.ofMillis(500));
        assertThat(only(drained, Action.CloseConnections.class)).isEmpty();

        rig.advance(deadline.delay());
        List<Action> cut = rig.run(r -> r.timer(deadline.timer(), rig.now));
        assertThat(only(cut, Action.CloseConnections.class)).singleElement().satisfies(c -> {
            assertThat(c.backend().address().toString()).isEqualTo("10.0.0.1:80");
            assertThat(c.why()).isEqualTo(Action.Cut.DRAIN_DEADLINE);
        });
    }

    @Test
    void enablingBeforeTheDeadlineCallsTheCutOff() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80")));
        Action.Schedule deadline = only(act("10.0.0.1:80", BackendAction.DRAIN), Action.Schedule.class).getFirst();
        List<Action> enabled = act("10.0.0.1:80", BackendAction.ENABLE);
        assertThat(only(enabled, Action.Cancel.class)).extracting(Action.Cancel::timer).containsExactly(deadline.timer());
        assertThat(rig.backend("a", "10.0.0.1:80").recentTransitions()).extracting(NodeView.TransitionView::reason)
                .containsExactly("operator drain", "operator enable");
        // A timer that fired anyway (it was on its way) finds nothing to do.
        assertThat(only(rig.run(r -> r.timer(deadline.timer(), rig.now)), Action.CloseConnections.class)).isEmpty();
    }

    @Test
    void aDisableKeepsConnectionsAndSetsNoDeadline() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80")));
        List<Action> disabled = act("10.0.0.1:80", BackendAction.DISABLE);
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).containsExactly(HealthFlag.DISABLED);
        assertThat(only(disabled, Action.Schedule.class)).isEmpty();
        assertThat(only(disabled, Action.CloseConnections.class)).isEmpty();
    }

    @Test
    void unknownVipsAndBackendsAreRefusedWithAReason() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        assertThatThrownBy(() -> rig.r.operator("nope", "10.0.0.1:80", BackendAction.DRAIN, rig.now))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("no VIP named \"nope\"");
        assertThatThrownBy(() -> rig.r.operator("a", "10.0.0.9:80", BackendAction.DRAIN, rig.now))
                .hasMessage("VIP \"a\" has no backend 10.0.0.9:80");
        assertThatThrownBy(() -> rig.r.operator("a", "nonsense", BackendAction.DRAIN, rig.now))
                .hasMessageStartingWith("backend: ");
    }
}
