package io.tandem.health.passive;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.OutlierDetection;
import io.tandem.health.passive.OutlierDetector.Decision;
import io.tandem.health.passive.OutlierDetector.Outcome;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class OutlierThresholdTest {

    private final TestClock clock = new TestClock();

    @Test
    void defaultSettingsEjectOnTheFirstRefusedConnect() {
        OutlierDetector<String> d = Outliers.detector(OutlierDetection.DEFAULTS, clock, "a", "b");
        Decision<String> dec = d.onFailure("a", "connection refused");
        assertThat(dec.ejected()).isTrue();
        assertThat(dec.until()).contains(clock.instant().plusSeconds(1));
        assertThat(dec.reason()).isEqualTo("1 consecutive failure: connection refused; ejection #1 for 1000 ms");
        assertThat(dec.firstFailureAt()).isEqualTo(clock.instant());
        assertThat(d.isEjected("a")).isTrue();
    }

    @Test
    void ejectsOnlyAfterTheConfiguredConsecutiveFailuresAndReportsTheFirstFailureTime() {
        OutlierDetector<String> d = Outliers.detector(Outliers.settings(3, 50), clock, "a", "b");
        Instant first = clock.instant();
        assertThat(d.onFailure("a", "reset").outcome()).isEqualTo(Outcome.BELOW_THRESHOLD);
        clock.advanceMillis(10);
        assertThat(d.onFailure("a", "reset").reason()).isEqualTo("2/3 consecutive failures: reset");
        clock.advanceMillis(10);
        Decision<String> dec = d.onFailure("a", "reset");
        assertThat(dec.ejected()).isTrue();
        assertThat(dec.firstFailureAt()).isEqualTo(first);
        assertThat(dec.consecutiveFailures()).isEqualTo(3);
    }

    @Test
    void aSuccessBreaksTheStreak() {
        OutlierDetector<String> d = Outliers.detector(Outliers.settings(2, 50), clock, "a", "b");
        d.onFailure("a", "reset");
        d.onSuccess("a");
        assertThat(d.onFailure("a", "reset").outcome()).isEqualTo(Outcome.BELOW_THRESHOLD);
    }

    @Test
    void failuresWhileEjectedAreNotCountedAgain() {
        OutlierDetector<String> d = Outliers.detector(OutlierDetection.DEFAULTS, clock, "a", "b");
        Decision<String> first = d.onFailure("a", "refused");
        Decision<String> again = d.onFailure("a", "refused");
        assertThat(again.outcome()).isEqualTo(Outcome.ALREADY_EJECTED);
        assertThat(again.until()).isEqualTo(first.until());
        assertThat(d.ejectedCount()).isEqualTo(1);
    }

    @Test
    void failureOfABackendOutsideTheSetIsReportedNotActedOn() {
        OutlierDetector<String> d = Outliers.detector(OutlierDetection.DEFAULTS, clock, "a", "b");
        assertThat(d.onFailure("gone", "refused").outcome()).isEqualTo(Outcome.NOT_A_MEMBER);
        assertThat(d.ejectedCount()).isZero();
    }
}
