package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class RiseFallTest {

    private final TestClock clock = new TestClock();
    private final CheckStateMachine m =
            new CheckStateMachine(Timings.of(2, 3), InitialState.TRUSTED, clock, new FixedRandom(0));

    @Test
    void upBackendGoesDownOnlyAfterFallConsecutiveFailures() {
        assertThat(m.fail("refused")).isEmpty();
        assertThat(m.state()).isEqualTo(CheckState.GOING_DOWN);
        assertThat(m.fail("refused")).isEmpty();
        Optional<HealthTransition> t = m.fail("refused");
        assertThat(t).hasValueSatisfying(tr -> {
            assertThat(tr.from()).isEqualTo(CheckState.UP);
            assertThat(tr.to()).isEqualTo(CheckState.DOWN);
            assertThat(tr.reason()).isEqualTo("3/3 checks failed: refused");
        });
        assertThat(m.state()).isEqualTo(CheckState.DOWN);
    }

    @Test
    void passWhileGoingDownResetsTheFailureCount() {
        m.fail("x");
        m.fail("x");
        assertThat(m.pass("ok")).isEmpty();
        assertThat(m.state()).isEqualTo(CheckState.UP);
        assertThat(m.fail("x")).isEmpty();
        assertThat(m.fail("x")).isEmpty();
        assertThat(m.state()).isEqualTo(CheckState.GOING_DOWN);
    }

    @Test
    void downBackendComesUpOnlyAfterRiseConsecutivePasses() {
        m.fail("x");
        m.fail("x");
        m.fail("x");
        assertThat(m.pass("ok")).isEmpty();
        assertThat(m.state()).isEqualTo(CheckState.GOING_UP);
        assertThat(m.state().isUp()).isFalse();
        assertThat(m.pass("ok")).hasValueSatisfying(tr -> {
            assertThat(tr.from()).isEqualTo(CheckState.DOWN);
            assertThat(tr.to()).isEqualTo(CheckState.UP);
            assertThat(tr.reason()).isEqualTo("2/2 checks passed: ok");
        });
    }

    @Test
    void failureWhileGoingUpFallsBackToDownWithoutATransition() {
        m.fail("x");
        m.fail("x");
        m.fail("x");
        m.pass("ok");
        assertThat(m.fail("again")).isEmpty();
        assertThat(m.state()).isEqualTo(CheckState.DOWN);
        assertThat(m.pass("ok")).isEmpty(); // the rise count started over
        assertThat(m.pass("ok")).isPresent();
    }

    @Test
    void riseAndFallOfOneFlipOnEveryResult() {
        CheckStateMachine one = new CheckStateMachine(Timings.of(1, 1), InitialState.TRUSTED, clock, new FixedRandom(0));
        assertThat(one.fail("x")).hasValueSatisfying(t -> assertThat(t.to()).isEqualTo(CheckState.DOWN));
        assertThat(one.pass("ok")).hasValueSatisfying(t -> assertThat(t.to()).isEqualTo(CheckState.UP));
    }
}
