package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.config.CheckTiming;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class InitialStateTest {

    private final TestClock clock = new TestClock();

    @Test
    void pendingBecomesUpOnTheFirstPassEvenWhenRiseIsHigher() {
        CheckStateMachine m = new CheckStateMachine(Timings.of(3, 3), InitialState.PENDING, clock, new FixedRandom(0));
        assertThat(m.state()).isEqualTo(CheckState.PENDING);
        assertThat(m.pass("status 200")).hasValueSatisfying(t -> {
            assertThat(t.from()).isEqualTo(CheckState.PENDING);
            assertThat(t.to()).isEqualTo(CheckState.UP);
            assertThat(t.reason()).isEqualTo("first check passed: status 200");
        });
    }

    @Test
    void pendingFailuresCountTowardFallAndThenMarkDown() {
        CheckStateMachine m = new CheckStateMachine(Timings.of(2, 2), InitialState.PENDING, clock, new FixedRandom(0));
        assertThat(m.fail("refused")).isEmpty();
        assertThat(m.state()).isEqualTo(CheckState.PENDING);
        assertThat(m.fail("refused")).hasValueSatisfying(t -> {
            assertThat(t.from()).isEqualTo(CheckState.PENDING);
            assertThat(t.to()).isEqualTo(CheckState.DOWN);
        });
    }

    @Test
    void pendingWithOneFailureStillComesUpOnAPass() {
        CheckStateMachine m = new CheckStateMachine(Timings.of(2, 2), InitialState.PENDING, clock, new FixedRandom(0));
        m.fail("blip");
        assertThat(m.pass("ok")).hasValueSatisfying(t -> assertThat(t.to()).isEqualTo(CheckState.UP));
    }

    @Test
    void trustedStartsUpAndAPassIsNotATransition() {
        CheckStateMachine m = new CheckStateMachine(Timings.of(2, 2), InitialState.TRUSTED, clock, new FixedRandom(0));
        assertThat(m.state()).isEqualTo(CheckState.UP);
        assertThat(m.pass("ok")).isEmpty();
    }

    @Test
    void invalidTimingIsRejectedWithFieldValueAndExpectation() {
        CheckTiming bad = new CheckTiming(Duration.ofSeconds(1), Duration.ofMillis(100), 0, 2, 0,
                Duration.ofMillis(100), Duration.ofMillis(100));
        assertThatThrownBy(() -> new CheckStateMachine(bad, InitialState.PENDING, clock, new FixedRandom(0)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("rise: 0 (expected >= 1)");
    }
}
