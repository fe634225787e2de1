package io.tandem.health.passive;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.health.passive.OutlierDetector.Decision;
import io.tandem.health.passive.OutlierDetector.Outcome;
import org.junit.jupiter.api.Test;

/** {@link OutlierDetector#eject}: an ejection without a streak, under the same cap and back-off. */
class LatencyEjectionThroughDetectorTest {
    private final TestClock clock = new TestClock();

    @Test
    void aWindowVerdictEjectsAtOnceEvenWithAThresholdOfFive() {
        OutlierDetector<String> d = Outliers.detector(Outliers.settings(5, 50), clock, "a", "b", "c");
        Decision<String> e = d.eject("b", "slow: mean latency 300 ms");
        assertThat(e.outcome()).isEqualTo(Outcome.EJECTED);
        assertThat(e.reason()).isEqualTo("slow: mean latency 300 ms; ejection #1 for 1000 ms");
        assertThat(d.isEjected("b")).isTrue();
        assertThat(d.eject("b", "slow").outcome()).isEqualTo(Outcome.ALREADY_EJECTED);
    }

    @Test
    void theMaximumEjectedFractionHoldsForWindowVerdictsToo() {
        OutlierDetector<String> d = Outliers.detector(Outliers.settings(1, 50), clock, "a", "b", "c");
        assertThat(d.onFailure("a", "refused").ejected()).isTrue();
        Decision<String> capped = d.eject("b", "slow");
        assertThat(capped.outcome()).isEqualTo(Outcome.CAPPED);
        assertThat(capped.reason()).startsWith("not ejected, max ejected fraction reached: 1 of 3 ejected");
        assertThat(d.isEjected("b")).isFalse();
    }

    @Test
    void aRepeatOffenderIsEjectedForTwiceAsLong() {
        OutlierDetector<String> d = Outliers.detector(Outliers.settings(1, 50), clock, "a", "b", "c");
        d.eject("b", "slow");
        clock.advanceMillis(1000);
        assertThat(d.expired()).containsExactly("b");
        assertThat(d.eject("b", "slow").reason()).endsWith("ejection #2 for 2000 ms");
    }

    @Test
    void aWindowVerdictEndsTheFailureStreakLikeAnyEjection() {
        OutlierDetector<String> d = Outliers.detector(Outliers.settings(3, 100), clock, "a", "b", "c");
        d.onFailure("b", "refused");
        d.onFailure("b", "refused");
        d.eject("b", "slow");
        clock.advanceMillis(1000);
        d.expired();
        assertThat(d.onFailure("b", "refused").outcome()).isEqualTo(Outcome.BELOW_THRESHOLD);
    }

    @Test
    void anUnknownBackendIsNotAMember() {
        OutlierDetector<String> d = Outliers.detector(Outliers.settings(1, 50), clock, "a");
        assertThat(d.eject("z", "slow").outcome()).isEqualTo(Outcome.NOT_A_MEMBER);
    }
}
