package io.tandem.health.check;

import io.tandem.config.CheckTiming;
import java.time.Duration;

final class Timings {
    private Timings() {
    }

    /** interval 1000 ms, timeout 200 ms, fast 100 ms, down 500 ms, no jitter. */
    static CheckTiming of(int rise, int fall) {
        return of(rise, fall, 0);
    }

    static CheckTiming of(int rise, int fall, double jitter) {
        return new CheckTiming(Duration.ofMillis(1000), Duration.ofMillis(200), rise, fall, jitter,
                Duration.ofMillis(100), Duration.ofMillis(500));
    }
}
