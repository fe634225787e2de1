package io.tandem.health.passive;

import java.time.Duration;
import java.util.List;

final class Outliers {
    private Outliers() {
    }

    static OutlierSettings settings(int threshold, double maxFraction) {
        return new OutlierSettings(threshold, Duration.ofSeconds(1), Duration.ofSeconds(8), maxFraction,
                Duration.ofSeconds(10));
    }

    static OutlierDetector<String> detector(OutlierSettings s, TestClock clock, String... members) {
        OutlierDetector<String> d = new OutlierDetector<>(s, clock);
        d.setMembers(List.of(members));
        return d;
    }
}
