package io.tandem.core.admin;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeView.SourceView;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.metrics.PrometheusText;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code tandem_discovery_*{source}} follow the sources the view reports, and go with them. */
class DiscoveryMetricsTest {
    private static final Instant NOW = Instant.parse("2026-03-01T10:00:30Z");

    @Test
    void eachSourceHasItsSeriesAndARemovedSourceLosesThem() {
        try (Metrics metrics = new Metrics()) {
            DiscoveryMetrics d = new DiscoveryMetrics(metrics.registry(), Clock.fixed(NOW, ZoneOffset.UTC));
            PrometheusText text = new PrometheusText(metrics.registry());
            d.update(List.of(
                    new SourceView("zookeeper", true, false, Optional.empty(), Optional.empty(),
                            Optional.of(NOW.minusSeconds(10)), 2, 3, 9),
                    new SourceView("marathon", false, true, Optional.of(NOW.minusSeconds(60)),
                            Optional.of("connection refused"), Optional.empty(), 0, 1, 1)));
            String s = new String(text.scrape(), UTF_8);
            assertThat(s).contains("tandem_discovery_connected{source=\"zookeeper\"} 1.0",
                    "tandem_discovery_connected{source=\"marathon\"} 0.0",
                    "tandem_discovery_stale{source=\"marathon\"} 1.0",
                    "tandem_discovery_stale_since_timestamp_seconds{source=\"marathon\"} "
                            + (double) NOW.minusSeconds(60).getEpochSecond(),
                    "tandem_discovery_last_update_age_seconds{source=\"zookeeper\"} 10.0",
                    "tandem_discovery_last_update_age_seconds{source=\"marathon\"} NaN",
                    "tandem_discovery_dropped_entries_total{source=\"zookeeper\"} 2.0",
                    "tandem_discovery_services{source=\"zookeeper\"} 3.0",
                    "tandem_discovery_endpoints{source=\"zookeeper\"} 9.0");

            d.update(List.of(new SourceView("zookeeper", false, true, Optional.of(NOW), Optional.empty(),
                    Optional.of(NOW.minusSeconds(10)), 2, 3, 9)));
            s = new String(text.scrape(), UTF_8);
            assertThat(s).contains("tandem_discovery_stale{source=\"zookeeper\"} 1.0").doesNotContain("marathon");
            assertThat(d.any()).isTrue();
            d.update(List.of());
            assertThat(new String(text.scrape(), UTF_8)).doesNotContain("tandem_discovery_");
            assertThat(d.any()).isFalse();
        }
    }
}
