package io.tandem.health.passive;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.health.passive.OutlierDetector.Outcome;
import org.junit.jupiter.api.Test;

class OutlierDecayTest {

    private final TestClock clock = new TestClock();
    private final OutlierDetector<String> d = Outliers.detector(Outliers.settings(2, 50), clock, "a", "b");

    @Test
    void failuresFurtherApartThanTheDecayDoNotAddUp() {
        d.onFailure("a", "reset");
        clock.advanceMillis(10_001);
        assertThat(d.onFailure("a", "reset").outcome()).isEqualTo(Outcome.BELOW_THRESHOLD);
        clock.advanceMillis(9_999);
        assertThat(d.onFailure("a", "reset").outcome()).isEqualTo(Outcome.EJECTED);
    }
}
