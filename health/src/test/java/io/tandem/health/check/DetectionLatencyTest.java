package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class DetectionLatencyTest {

    private final TestClock clock = new TestClock();

    @Test
    void downTransitionCarriesTheTimeOfTheFirstFailureOfTheStreak() {
        CheckStateMachine m = new CheckStateMachine(Timings.of(2, 3), InitialState.TRUSTED, clock, new FixedRandom(0));
        m.fail("x");                 // a lone failure, then a pass: not part of the streak
        clock.advanceMillis(100);
        m.pass("ok");
        clock.advanceMillis(1000);
        Instant first = clock.instant();
        m.fail("refused");
        clock.advanceMillis(100);
        m.fail("refused");
        clock.advanceMillis(100);
        HealthTransition t = m.fail("refused").orElseThrow();
        assertThat(t.firstSignalAt()).isEqualTo(first);
        assertThat(t.at()).isEqualTo(clock.instant());
        assertThat(t.detectionLatency()).isEqualTo(Duration.ofMillis(200));
    }

    @Test
    void upTransitionCarriesTheTimeOfTheFirstPassOfTheStreak() {
        CheckStateMachine m = new CheckStateMachine(Timings.of(3, 1), InitialState.TRUSTED, clock, new FixedRandom(0));
        m.fail("x");
        clock.advanceMillis(500);
        Instant first = clock.instant();
        m.pass("ok");
        clock.advanceMillis(100);
        m.pass("ok");
        clock.advanceMillis(100);
        HealthTransition t = m.pass("ok").orElseThrow();
        assertThat(t.firstSignalAt()).isEqualTo(first);
        assertThat(t.detectionLatency()).isEqualTo(Duration.ofMillis(200));
    }

    @Test
    void firstPassOfAPendingCheckHasZeroLatency() {
        CheckStateMachine m = new CheckStateMachine(Timings.of(2, 2), InitialState.PENDING, clock, new FixedRandom(0));
        assertThat(m.pass("ok").orElseThrow().detectionLatency()).isZero();
    }
}
