package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code outlier_detection.closed_before_response} and {@code outlier_detection.latency}: values, defaults, errors. */
class GrayFailureConfigTest {

    private static OutlierDetection outliers(String section) {
        return valid("""
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001, 127.0.0.1:9002]
                    outlier_detection:
                """ + section.indent(6)).vips().getFirst().health().outlierDetection();
    }

    private static List<String> errors(String section) {
        ConfigResult r = ConfigLoader.parse("""
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001]
                    outlier_detection:
                """ + section.indent(6), "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    @Test
    void byDefaultAResetBeforeAnyResponseCountsAndLatencyEjectionIsOff() {
        OutlierDetection d = outliers("consecutive_failures: 2");
        assertThat(d.closedBeforeResponse()).isEqualTo(ClosedBeforeResponse.RESET);
        assertThat(d.latency()).isEqualTo(LatencyEjection.DEFAULTS);
        assertThat(d.latency().enabled()).isFalse();
    }

    @Test
    void closedBeforeResponseTakesItsThreeSpellings() {
        assertThat(outliers("closed_before_response: off").closedBeforeResponse()).isEqualTo(ClosedBeforeResponse.OFF);
        assertThat(outliers("closed_before_response: reset").closedBeforeResponse()).isEqualTo(ClosedBeforeResponse.RESET);
        assertThat(outliers("closed_before_response: reset-or-close").closedBeforeResponse())
                .isEqualTo(ClosedBeforeResponse.RESET_OR_CLOSE);
    }

    @Test
    void aLatencySectionSwitchesLatencyEjectionOnWithItsValues() {
        OutlierDetection d = outliers("""
                latency: {factor: 2.5, min_latency: 50ms, min_samples: 10, min_backends: 2, interval: 1s}
                """);
        assertThat(d.latency()).isEqualTo(new LatencyEjection(true, 2.5, Duration.ofMillis(50), 10, 2,
                Duration.ofSeconds(1)));
        assertThat(outliers("latency: {enabled: false}").latency().enabled()).isFalse();
        assertThat(outliers("latency: {}").latency()).isEqualTo(new LatencyEjection(true, 3.0,
                Duration.ofMillis(100), 20, 3, Duration.ofSeconds(5)));
    }

    @Test
    void badValuesNameTheirPathAndWhatWasExpected() {
        assertThat(errors("""
                closed_before_response: sometimes
                latency: {factor: 1, min_samples: 0, min_backends: 1, interval: 10ms, colour: red}
                """)).anySatisfy(e -> assertThat(e).contains("vips[0].outlier_detection.closed_before_response")
                        .contains("sometimes").contains("reset-or-close"))
                .anySatisfy(e -> assertThat(e).contains("vips[0].outlier_detection.latency.factor").contains("1.1"))
                .anySatisfy(e -> assertThat(e).contains("vips[0].outlier_detection.latency.min_samples"))
                .anySatisfy(e -> assertThat(e).contains("vips[0].outlier_detection.latency.min_backends"))
                .anySatisfy(e -> assertThat(e).contains("vips[0].outlier_detection.latency.interval"))
                .anySatisfy(e -> assertThat(e).contains("colour"));
    }
}
