package io.tandem.health.check;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.time.Instant;

/**
 * The outcome of one probe, for metrics (check latency) and the admin API.
 *
 * @param passed  whether the probe passed
 * @param detail  why, e.g. {@code "connected"}, {@code "status 503 (expected 200..399)"},
 *                {@code "timeout after 250 ms"}, {@code "connection refused"}
 * @param at      when the result was seen
 * @param elapsed from the start of the probe to the result
 */
public record ProbeResult(boolean passed, String detail, Instant at, Duration elapsed) {
    public ProbeResult {
        requireNonNull(detail, "detail");
        requireNonNull(at, "at");
        requireNonNull(elapsed, "elapsed");
    }
}
