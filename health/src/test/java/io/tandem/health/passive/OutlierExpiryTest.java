package io.tandem.health.passive;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OutlierExpiryTest {

    private final TestClock clock = new TestClock();
    private final OutlierDetector<String> d = Outliers.detector(Outliers.settings(1, 100), clock, "a", "b", "c");

    @Test
    void expiredReturnsEachEndedEjectionOnceSoonestFirst() {
        d.onFailure("a", "refused");
        d.onFailure("a", "refused");
        clock.advanceMillis(1000);
        assertThat(d.expired()).containsExactly("a");
        d.onFailure("a", "refused");          // second ejection: 2 s
        clock.advanceMillis(500);
        d.onFailure("b", "refused");          // first ejection: 1 s, ends before a's
        assertThat(d.nextExpiry()).contains(clock.instant().plusMillis(1000));
        clock.advanceMillis(999);
        assertThat(d.expired()).isEmpty();
        clock.advanceMillis(600);
        assertThat(d.expired()).containsExactly("b", "a");
        assertThat(d.expired()).isEmpty();
        assertThat(d.ejectedCount()).isZero();
        assertThat(d.nextExpiry()).isEmpty();
    }

    @Test
    void aSuccessDuringEjectionDoesNotEndIt() {
        d.onFailure("a", "refused");
        d.onSuccess("a");
        assertThat(d.isEjected("a")).isTrue();
    }
}
