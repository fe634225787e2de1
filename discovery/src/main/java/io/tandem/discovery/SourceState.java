package io.tandem.discovery;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.Optional;

/**
 * What the admin API shows about a discovery source.
 *
 * @param connected   the source currently has a live upstream (ZooKeeper session, SSE stream)
 * @param staleSince  when it lost its upstream and began serving last-known membership
 * @param lastError   the last error, for operators
 * @param lastEventAt when the last upstream event arrived
 * @param droppedEntries malformed entries skipped so far (each also logged with a warning)
 */
public record SourceState(boolean connected, Optional<Instant> staleSince, Optional<String> lastError,
                          Optional<Instant> lastEventAt, long droppedEntries) {
    public SourceState {
        requireNonNull(staleSince, "staleSince");
        requireNonNull(lastError, "lastError");
        requireNonNull(lastEventAt, "lastEventAt");
    }
}
