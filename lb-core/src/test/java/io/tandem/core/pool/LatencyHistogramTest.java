package io.tandem.core.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class LatencyHistogramTest {
    private static final long S = TimeUnit.SECONDS.toNanos(1);
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void quantilesAreInterpolatedInsideTheirBucket() {
        LatencyHistogram h = new LatencyHistogram(0);
        for (int i = 0; i < 100; i++) {
            h.record(30 * MS); // bucket (25 ms, 50 ms]
        }
        LatencyHistogram.Window w = h.window(1 * S);
        assertThat(w.samples()).isEqualTo(100);
        assertThat(w.quantileMs(0.5)).isCloseTo(37.5, within(0.01));
        assertThat(w.quantileMs(0.99)).isBetween(25.0, 50.0);
    }

    @Test
    void aSlowTailShowsInTheP99AndNotInTheMedian() {
        LatencyHistogram h = new LatencyHistogram(0);
        for (int i = 0; i < 980; i++) {
            h.record(200_000); // 0.2 ms
        }
        for (int i = 0; i < 20; i++) {
            h.record(400 * MS);
        }
        LatencyHistogram.Window w = h.window(1 * S);
        assertThat(w.quantileMs(0.5)).isLessThan(0.25);
        assertThat(w.quantileMs(0.99)).isBetween(250.0, 500.0);
    }

    @Test
    void beyondTheLastBoundIsInfinityAndNoSamplesIsMinusOne() {
        LatencyHistogram h = new LatencyHistogram(0);
        assertThat(h.window(S).quantileMs(0.99)).isEqualTo(-1);
        h.record(30 * S);
        assertThat(h.window(2 * S).quantileMs(0.5)).isInfinite();
        h.record(-5); // a clock step: counted as zero, not lost
        assertThat(h.window(3 * S).samples()).isEqualTo(2);
    }

    @Test
    void theWindowForgetsWhatIsOlderThanAMinuteOnceReadOften() {
        LatencyHistogram h = new LatencyHistogram(0);
        for (int i = 0; i < 50; i++) {
            h.record(400 * MS);
        }
        // read every 10 s, as a scrape would; fast samples from 10 s on
        for (long t = 10; t <= 90; t += 10) {
            for (int i = 0; i < 10; i++) {
                h.record(MS / 2);
            }
            h.window(t * S);
        }
        LatencyHistogram.Window w = h.window(90 * S);
        assertThat(w.quantileMs(0.99)).as("the slow burst at t=0 is out of the window").isLessThan(1.0);
        assertThat(w.samples()).isBetween(60L, 70L);
    }

    @Test
    void aYoungBackendsWindowIsEverythingSinceItAppeared() {
        LatencyHistogram h = new LatencyHistogram(5 * S);
        h.record(MS);
        h.record(MS);
        assertThat(h.window(7 * S).samples()).isEqualTo(2);
    }
}
