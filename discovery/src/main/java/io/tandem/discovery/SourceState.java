package io.tandem.discovery;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the admin API shows about a discovery source.
 *
 * @param connected   the source currently has a live upstream (ZooKeeper session, SSE stream)
 * @param staleSince  when it lost its upstream and began serving last-known membership
 * @param lastError   the last error, for operators
 * @param lastEventAt when the last upstream event arrived
 * @param droppedEntries malformed entries skipped so far (each also logged with a warning)
 * @param restored    the membership served comes from the snapshot saved on disk (the node started
 *                    while the source was unreachable); cleared by the first fresh one
 * @param notes       per app or entry, what the source read but could not honour as written (a
 *                    Marathon-LB label that does not apply at L4...), each also logged once
 */
public record SourceState(boolean connected, Optional<Instant> staleSince, Optional<String> lastError,
                          Optional<Instant> lastEventAt, long droppedEntries, boolean restored,
                          Map<String, List<String>> notes) {
    public SourceState {
        requireNonNull(staleSince, "staleSince");
        requireNonNull(lastError, "lastError");
        requireNonNull(lastEventAt, "lastEventAt");
        notes = Map.copyOf(requireNonNull(notes, "notes"));
    }

    /** A source that never restores from disk and has nothing to note. */
    public SourceState(boolean connected, Optional<Instant> staleSince, Optional<String> lastError,
                       Optional<Instant> lastEventAt, long droppedEntries) {
        this(connected, staleSince, lastError, lastEventAt, droppedEntries, false, Map.of());
    }
}
