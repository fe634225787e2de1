package io.tandem.health.passive;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.LatencyEjection;
import io.tandem.health.passive.LatencyOutliers.Sample;
import io.tandem.health.passive.LatencyOutliers.Verdict;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The latency outlier rule: k times the median of the others, at least min_latency, enough samples and backends. */
class LatencyOutliersTest {
    private static final LatencyEjection SETTINGS = new LatencyEjection(true, 3.0, Duration.ofMillis(100), 20, 3,
            Duration.ofSeconds(5));

    private static Sample ms(long count, double meanMillis) {
        return new Sample(count, (long) (count * meanMillis * 1_000_000));
    }

    private static Map<String, Sample> window(Object... nameAndSample) {
        Map<String, Sample> w = new LinkedHashMap<>();
        for (int i = 0; i < nameAndSample.length; i += 2) {
            w.put((String) nameAndSample[i], (Sample) nameAndSample[i + 1]);
        }
        return w;
    }

    private static List<String> slow(LatencyEjection s, Map<String, Sample> w) {
        return LatencyOutliers.slow(s, w).stream().map(Verdict::backend).toList();
    }

    @Test
    void oneBackend300MsSlowerThanTwoOthersIsSlow() {
        List<Verdict<String>> v = LatencyOutliers.slow(SETTINGS, window("a", ms(50, 2), "b", ms(50, 302), "c",
                ms(50, 3)));
        assertThat(v).extracting(Verdict::backend).containsExactly("b");
        assertThat(v.getFirst().reason()).isEqualTo(
                "slow: mean latency 302.0 ms over 50 connections, 120.8x the median of the others (2.5 ms)");
    }

    @Test
    void evenlySlowBackendsAreNotOutliers() {
        assertThat(slow(SETTINGS, window("a", ms(50, 400), "b", ms(50, 450), "c", ms(50, 500)))).isEmpty();
    }

    @Test
    void aMeanBelowMinLatencyIsNeverSlowWhateverTheRatio() {
        assertThat(slow(SETTINGS, window("a", ms(50, 0.5), "b", ms(50, 90), "c", ms(50, 0.4)))).isEmpty();
    }

    @Test
    void aMeanBelowFactorTimesTheMedianIsNotSlow() {
        assertThat(slow(SETTINGS, window("a", ms(50, 100), "b", ms(50, 290), "c", ms(50, 100)))).isEmpty();
        assertThat(slow(SETTINGS, window("a", ms(50, 100), "b", ms(50, 300), "c", ms(50, 100)))).containsExactly("b");
    }

    @Test
    void aBackendWithTooFewSamplesIsNeitherJudgedNorCounted() {
        // b has only 19 connections: not judged; then only a and c are judged, fewer than min_backends.
        assertThat(slow(SETTINGS, window("a", ms(50, 2), "b", ms(19, 900), "c", ms(50, 2)))).isEmpty();
        // with a fourth backend there are three judged again, and the slow one among them is found
        assertThat(slow(SETTINGS, window("a", ms(50, 2), "b", ms(19, 900), "c", ms(50, 2), "d", ms(20, 500))))
                .containsExactly("d");
    }

    @Test
    void fewerJudgedBackendsThanMinBackendsJudgeNothing() {
        assertThat(slow(SETTINGS, window("a", ms(50, 2), "b", ms(50, 500)))).isEmpty();
    }

    @Test
    void withTwoBackendsAllowedTheSlowOneIsComparedWithTheOtherNotWithAMedianItDrags() {
        LatencyEjection two = new LatencyEjection(true, 3.0, Duration.ofMillis(100), 20, 2, Duration.ofSeconds(5));
        assertThat(slow(two, window("a", ms(50, 1), "b", ms(50, 300)))).containsExactly("b");
    }

    @Test
    void twoSlowBackendsAmongFiveAreBothFoundSlowestFirst() {
        assertThat(slow(SETTINGS, window("a", ms(40, 3), "b", ms(40, 350), "c", ms(40, 2), "d", ms(40, 800), "e",
                ms(40, 4)))).containsExactly("d", "b");
    }

    @Test
    void anEmptyWindowJudgesNothing() {
        assertThat(slow(SETTINGS, Map.of())).isEmpty();
    }

    @Test
    void theMedianOfTheOthersSkipsTheCandidateAndAveragesTheMiddlePair() {
        assertThat(LatencyOutliers.medianWithout(new long[] {5, 100, 1, 3}, 1)).isEqualTo(3);
        assertThat(LatencyOutliers.medianWithout(new long[] {5, 100, 1}, 1)).isEqualTo(3);
    }
}
