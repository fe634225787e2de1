package io.tandem.health.passive;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.OutlierDetection;
import io.tandem.health.passive.OutlierDetector.Decision;
import io.tandem.health.passive.OutlierDetector.Outcome;
import java.util.List;
import org.junit.jupiter.api.Test;

class MaxEjectedFractionTest {

    private final TestClock clock = new TestClock();

    @Test
    void halfOfFourBackendsMayBeEjectedTheThirdFailureIsCappedAndSaysWhy() {
        OutlierDetector<String> d = Outliers.detector(Outliers.settings(1, 50), clock, "a", "b", "c", "d");
        assertThat(d.onFailure("a", "refused").ejected()).isTrue();
        assertThat(d.onFailure("b", "refused").ejected()).isTrue();
        Decision<String> c = d.onFailure("c", "refused");
        assertThat(c.outcome()).isEqualTo(Outcome.CAPPED);
        assertThat(c.ejected()).isFalse();
        assertThat(c.reason()).startsWith("not ejected, max ejected fraction reached: 2 of 4 ejected (max 0.5 allows 2)");
        assertThat(d.isEjected("c")).isFalse();
    }

    @Test
    void aCappedBackendIsEjectedOnItsNextFailureOnceRoomFreesUp() {
        OutlierDetector<String> d = Outliers.detector(Outliers.settings(1, 50), clock, "a", "b");
        d.onFailure("a", "refused");
        assertThat(d.onFailure("b", "refused").outcome()).isEqualTo(Outcome.CAPPED);
        clock.advanceMillis(1000);
        assertThat(d.expired()).containsExactly("a");
        assertThat(d.onFailure("b", "refused").ejected()).isTrue();
    }

    @Test
    void aSoleBackendIsNeverEjectedAtTheDefaultFraction() {
        OutlierDetector<String> d = Outliers.detector(OutlierDetection.DEFAULTS, clock, "only");
        assertThat(d.onFailure("only", "refused").outcome()).isEqualTo(Outcome.CAPPED);
    }

    @Test
    void shrinkingTheSetForgetsDepartedEjectionsInTheCount() {
        OutlierDetector<String> d = Outliers.detector(Outliers.settings(1, 50), clock, "a", "b", "c", "d");
        d.onFailure("a", "refused");
        d.setMembers(List.of("b", "c", "d", "e"));
        assertThat(d.ejectedCount()).isZero();
        assertThat(d.memberCount()).isEqualTo(4);
    }
}
