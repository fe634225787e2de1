package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CheckIntervalTest {

    private final TestClock clock = new TestClock();

    @Test
    void stableUpUsesIntervalTransitioningUsesFastIntervalDownUsesDownInterval() {
        CheckStateMachine m = new CheckStateMachine(Timings.of(2, 2), InitialState.TRUSTED, clock, new FixedRandom(0));
        assertThat(m.nextDelay()).isEqualTo(Duration.ofMillis(1000));
        m.fail("x");
        assertThat(m.state()).isEqualTo(CheckState.GOING_DOWN);
        assertThat(m.nextDelay()).isEqualTo(Duration.ofMillis(100));
        m.fail("x");
        assertThat(m.state()).isEqualTo(CheckState.DOWN);
        assertThat(m.nextDelay()).isEqualTo(Duration.ofMillis(500));
        m.pass("ok");
        assertThat(m.state()).isEqualTo(CheckState.GOING_UP);
        assertThat(m.nextDelay()).isEqualTo(Duration.ofMillis(100));
        m.pass("ok");
        assertThat(m.nextDelay()).isEqualTo(Duration.ofMillis(1000));
    }

    @Test
    void pendingIsCheckedAtTheFastInterval() {
        CheckStateMachine m = new CheckStateMachine(Timings.of(2, 3), InitialState.PENDING, clock, new FixedRandom(0));
        m.fail("x");
        assertThat(m.state()).isEqualTo(CheckState.PENDING);
        assertThat(m.nextDelay()).isEqualTo(Duration.ofMillis(100));
    }

    @Test
    void jitterAddsAtMostTheConfiguredFractionOfTheDelay() {
        CheckStateMachine low = new CheckStateMachine(Timings.of(2, 2, 0.2), InitialState.TRUSTED, clock, new FixedRandom(0));
        CheckStateMachine high = new CheckStateMachine(Timings.of(2, 2, 0.2), InitialState.TRUSTED, clock,
                new FixedRandom(0.999999));
        assertThat(low.nextDelay()).isEqualTo(Duration.ofMillis(1000));
        assertThat(high.nextDelay()).isBetween(Duration.ofMillis(1199), Duration.ofMillis(1200));
    }

    @Test
    void jitterFromARealRandomSourceStaysWithinBoundsAndVaries() {
        CheckStateMachine m = new CheckStateMachine(Timings.of(2, 2, 0.1), InitialState.TRUSTED, clock,
                new SplittableRandom(42));
        long min = Long.MAX_VALUE;
        long max = Long.MIN_VALUE;
        for (int i = 0; i < 1000; i++) {
            long d = m.nextDelay().toNanos();
            min = Math.min(min, d);
            max = Math.max(max, d);
        }
        assertThat(min).isGreaterThanOrEqualTo(Duration.ofMillis(1000).toNanos());
        assertThat(max).isLessThan(Duration.ofMillis(1100).toNanos());
        assertThat(max - min).isGreaterThan(Duration.ofMillis(50).toNanos());
    }

    @Test
    void trustedChecksSpreadTheirFirstProbeOverOneIntervalPendingOnesProbeAtOnce() {
        CheckStateMachine trusted = new CheckStateMachine(Timings.of(2, 2), InitialState.TRUSTED, clock, new FixedRandom(0.5));
        CheckStateMachine pending = new CheckStateMachine(Timings.of(2, 2), InitialState.PENDING, clock, new FixedRandom(0.5));
        assertThat(trusted.initialDelay()).isEqualTo(Duration.ofMillis(500));
        assertThat(pending.initialDelay()).isEqualTo(Duration.ZERO);
    }
}
