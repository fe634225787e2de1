package io.tandem.core.control;

import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Inputs that were on their way when the state moved on are dropped: a verdict of a check that
 * was stopped or replaced, a timer of a replaced VIP; and everything a replaced VIP ran stops with
 * it (its checks, its timers, its meters, before the new one's bind).
 */
class StaleInputsFindNothingTest {
    private static final String CHECK = "health_check: {type: tcp, interval: 100ms, timeout: 200ms, rise: 1, fall: 1}";
    private static final String OTHER = "health_check: {type: tcp, interval: 300ms, timeout: 200ms, rise: 1, fall: 1}";
    private final Rig rig = new Rig();

    @Test
    void aVerdictOfAReplacedCheckIsDropped() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80", CHECK)));
        long first = rig.backend("a", "10.0.0.1:80").checkId;
        List<Action> changed = rig.propose(vips(vip("a", 1, "10.0.0.1:80", OTHER)));
        assertThat(only(changed, Action.StopCheck.class)).extracting(Action.StopCheck::id).containsExactly(first);
        assertThat(only(changed, Action.StartCheck.class)).hasSize(1);
        assertThat(rig.run(r -> r.verdict(first, rig.transition(false), rig.now))).isEmpty();
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).doesNotContain(io.tandem.health.HealthFlag.FAILED_ACTIVE_CHECK);
    }

    @Test
    void anUnchangedCheckKeepsRunningAndItsVerdict() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80", CHECK)));
        long id = rig.backend("a", "10.0.0.1:80").checkId;
        rig.run(r -> r.verdict(id, rig.transition(true), rig.now));
        List<Action> again = rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80", CHECK)));
        assertThat(only(again, Action.StopCheck.class)).isEmpty();
        assertThat(only(again, Action.StartCheck.class)).extracting(s -> s.target().getPort()).containsExactly(80);
        assertThat(rig.backend("a", "10.0.0.1:80").checkId).isEqualTo(id);
        assertThat(rig.backend("a", "10.0.0.1:80").eligible()).isTrue();
    }

    @Test
    void aReplacedVipStopsItsChecksAndTimersAndUnbindsItsMetersBeforeTheNewOnesBind() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80", CHECK, "slow_start: 10s")));
        long check = rig.backend("a", "10.0.0.1:80").checkId;
        List<Action> up = rig.run(r -> r.verdict(check, rig.transition(true), rig.now));
        Action.Schedule ramp = only(up, Action.Schedule.class).getFirst();
        assertThat(ramp.timer()).isInstanceOf(Action.Timer.Ramp.class);

        List<Action> moved = rig.propose(vips(vip("a", 2, "10.0.0.1:80", CHECK, "slow_start: 10s")));
        assertThat(only(moved, Action.StopCheck.class)).extracting(Action.StopCheck::id).containsExactly(check);
        assertThat(only(moved, Action.Cancel.class)).extracting(Action.Cancel::timer).contains(ramp.timer());
        assertThat(Rig.indexOf(moved, Action.UnbindVip.class)).isLessThan(Rig.indexOf(moved, Action.BindVip.class));
        // The old VIP's ramp timer, had it fired anyway, publishes nothing.
        assertThat(only(rig.run(r -> r.timer(ramp.timer(), rig.now)), Action.Publish.class)).isEmpty();
    }
}
