package io.tandem.health.passive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.OutlierDetection;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class OutlierBackoffTest {

    private final TestClock clock = new TestClock();
    private final OutlierDetector<String> d = Outliers.detector(Outliers.settings(1, 50), clock, "a", "b");

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

    @Test
    void aBaseEjectionLongerThanTheDefaultCapEjectsForTheBaseNotLess() {
        // Valid config: validation holds max_ejection_time >= base only when the file sets both.
        ConfigResult r = ConfigLoader.parse("""
                vips:
                  - name: v
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9000]
                    outlier_detection: {base_ejection_time: 5m}
                """, "t.yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        OutlierDetection od = ((ConfigResult.Valid) r).config().vips().getFirst().health().outlierDetection();
        assertThat(od.maxEjectionTime()).isEqualTo(Duration.ofSeconds(60));

        OutlierDetector<String> five = Outliers.detector(od, clock, "a", "b");
        Instant start = clock.instant();
        assertThat(five.onFailure("a", "refused").until()).contains(start.plus(Duration.ofMinutes(5)));
    }

    @Test
    void passiveDetectionSwitchedOffHasNoDetector() {
        OutlierDetection off = new OutlierDetection(0, Duration.ofSeconds(1), Duration.ofSeconds(60), 50,
                Duration.ZERO, io.tandem.config.ResponseTimeoutMode.FIRST_RESPONSE);
        assertThatThrownBy(() -> new OutlierDetector<String>(off, clock))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("consecutiveFailures: 0");
    }
}
