package io.tandem.health.passive;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class OutlierBackoffTest {

    private final TestClock clock = new TestClock();
    private final OutlierDetector<String> d = Outliers.detector(Outliers.settings(1, 0.5), clock, "a", "b");

    /** Ejects "a", lets the ejection expire, and returns how long it lasted. */
    private Duration ejectAndExpire() {
        Instant start = clock.instant();
        Instant until = d.onFailure("a", "refused").until().orElseThrow();
        clock.advance(Duration.between(start, until));
        assertThat(d.expired()).containsExactly("a");
        return Duration.between(start, until);
    }

    @Test
    void repeatOffenderEjectionsDoubleUpToTheCap() {
        assertThat(ejectAndExpire()).isEqualTo(Duration.ofSeconds(1));
        assertThat(ejectAndExpire()).isEqualTo(Duration.ofSeconds(2));
        assertThat(ejectAndExpire()).isEqualTo(Duration.ofSeconds(4));
        assertThat(ejectAndExpire()).isEqualTo(Duration.ofSeconds(8));
        assertThat(ejectAndExpire()).isEqualTo(Duration.ofSeconds(8)); // maxEjection
        assertThat(d.backoffLevel("a")).isEqualTo(5);
    }

    @Test
    void backoffLevelDropsByOnePerDecayPeriodInRotation() {
        ejectAndExpire();
        ejectAndExpire();
        ejectAndExpire(); // level 3, next would be 8 s
        clock.advance(Duration.ofSeconds(10)); // one decay period healthy
        assertThat(d.backoffLevel("a")).isEqualTo(2);
        assertThat(ejectAndExpire()).isEqualTo(Duration.ofSeconds(4));
        clock.advance(Duration.ofSeconds(60));
        assertThat(d.backoffLevel("a")).isZero();
        assertThat(ejectAndExpire()).isEqualTo(Duration.ofSeconds(1));
    }
}
