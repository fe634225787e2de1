package io.tandem.health.check;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.time.Instant;

/**
 * A change of an active check's verdict, with the evidence behind it.
 *
 * @param from          the previous verdict ({@code PENDING}, {@code UP} or {@code DOWN})
 * @param to            the new verdict ({@code UP} or {@code DOWN})
 * @param reason        human-readable, e.g. {@code "2/2 checks failed: connection refused"}
 * @param firstSignalAt when the first result of the streak that caused this transition was seen
 *                      (the first failure of the {@code fall} failures, the first pass of the
 *                      {@code rise} passes)
 * @param at            when the transition happened (the last result of the streak)
 */
public record HealthTransition(CheckState from, CheckState to, String reason, Instant firstSignalAt, Instant at) {
    public HealthTransition {
        requireNonNull(from, "from");
        requireNonNull(to, "to");
        requireNonNull(reason, "reason");
        requireNonNull(firstSignalAt, "firstSignalAt");
        requireNonNull(at, "at");
    }

    /** True when this transition marks the backend up. */
    public boolean up() {
        return to.isUp();
    }

    /**
     * Detection latency as Tandem reports it: from the first result of the deciding streak to
     * the transition. It excludes the time the backend was broken before the first failing
     * probe (at most one interval), which no checker can observe.
     */
    public Duration detectionLatency() {
        return Duration.between(firstSignalAt, at);
    }
}
