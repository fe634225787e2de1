package io.tandem.core.admin;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes a scrape into one reused buffer, so the response costs one copy of exactly the bytes
 * written (not {@code scrape()}'s growing stream, its String and that String's bytes). Not
 * thread-safe: one per scrape thread.
 */
final class Exposition {
    private static final int INITIAL = 64 * 1024;

    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(INITIAL);

    byte[] scrape(PrometheusMeterRegistry registry) {
        buffer.reset();
        try {
            registry.scrape(buffer);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream never throws
        }
        return buffer.toByteArray();
    }
}
