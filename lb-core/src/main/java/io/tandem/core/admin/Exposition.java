package io.tandem.core.admin;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.tandem.core.metrics.PrometheusText;

/**
 * The {@code /metrics} body. Not thread-safe: owned by the one scrape thread, whose
 * {@link PrometheusText} keeps the rendered names and the output buffer from scrape to scrape.
 */
final class Exposition {
    private final PrometheusMeterRegistry registry;
    private PrometheusText text;

    Exposition(PrometheusMeterRegistry registry) {
        this.registry = registry;
    }

    byte[] scrape() {
        if (text == null) {
            text = new PrometheusText(registry);
        }
        return text.scrape();
    }
}
