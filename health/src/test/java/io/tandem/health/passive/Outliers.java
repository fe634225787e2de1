package io.tandem.health.passive;

import io.tandem.config.OutlierDetection;
import io.tandem.config.ResponseTimeoutMode;
import java.time.Duration;
import java.util.List;

final class Outliers {
    private Outliers() {
    }

    static OutlierDetection settings(int threshold, int maxPercent) {
        return new OutlierDetection(threshold, Duration.ofSeconds(1), Duration.ofSeconds(8), maxPercent, Duration.ZERO,
                ResponseTimeoutMode.FIRST_RESPONSE);
    }

    static OutlierDetector<String> detector(OutlierDetection s, TestClock clock, String... members) {
        OutlierDetector<String> d = new OutlierDetector<>(s, clock);
        d.setMembers(List.of(members));
        return d;
    }
}
