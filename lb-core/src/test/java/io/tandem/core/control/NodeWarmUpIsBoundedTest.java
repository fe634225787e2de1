package io.tandem.core.control;

import static io.tandem.core.control.Rig.lines;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * Readiness at start-up: not ready while backends await their first check, for at most
 * {@code fall × (timeout + fast_interval) + interval}; once warm, never warming again.
 */
class NodeWarmUpIsBoundedTest {
    // fall 2 × (timeout 1s + fast_interval 100ms) + interval 500ms = 2.7 s
    private static final String CHECK = "health_check: {type: tcp, interval: 500ms, fast_interval: 100ms, timeout: 1s, "
            + "rise: 1, fall: 2}";
    private final Rig rig = new Rig();

    @Test
    void aCheckThatNeverConcludesHoldsReadinessOnlyUntilTheLimit() {
        rig.propose(vips(vip("v", 1, "10.0.0.1:80", CHECK)));
        assertThat(rig.r.ready(rig.now)).isFalse();
        rig.advance(Duration.ofMillis(2699));
        assertThat(rig.r.ready(rig.now)).isFalse();
        rig.advance(Duration.ofMillis(1));
        assertThat(rig.r.warming(rig.now)).isFalse();
        assertThat(lines(rig.r.actions(), Level.INFO)).containsExactly("node warm after_ms=2700 "
                + "first_checks=\"some still pending at the warm-up limit\"");
        assertThat(rig.r.ready(rig.now)).isTrue();
    }

    @Test
    void theLastFirstVerdictEndsTheWarmUpAndLaterBackendsDoNotBringItBack() {
        rig.propose(vips(vip("v", 1, "10.0.0.1:80", CHECK)));
        rig.advance(Duration.ofMillis(40));
        var pass = rig.run(r -> r.verdict(rig.backend("v", "10.0.0.1:80").checkId, rig.transition(true), rig.now));
        assertThat(lines(pass, Level.INFO)).contains("node warm after_ms=40 first_checks=\"all answered\"");
        assertThat(rig.r.ready(rig.now)).isTrue();

        rig.propose(vips(vip("v", 1, "10.0.0.1:80, 10.0.0.2:80", CHECK)));
        assertThat(rig.backend("v", "10.0.0.2:80").flags()).isNotEmpty();
        assertThat(rig.r.ready(rig.now)).as("a serving node stays ready").isTrue();
    }

    @Test
    void aNodeWithoutChecksIsReadyOnceItsListenersAreBound() {
        rig.holdBinds();
        rig.propose(vips(vip("v", 1, "10.0.0.1:80")));
        assertThat(rig.r.ready(rig.now)).isFalse();
        rig.releaseBinds();
        assertThat(rig.r.ready(rig.now)).isTrue();
        assertThat(lines(rig.r.actions(), Level.INFO)).as("no warm-up to speak of").isEmpty();
    }
}
