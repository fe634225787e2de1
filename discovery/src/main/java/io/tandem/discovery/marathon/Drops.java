package io.tandem.discovery.marathon;

import io.tandem.discovery.SourceStats;
import io.tandem.sys.RateLimitedLog;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts skipped malformed entries and warns about them, at most once per kind per interval so a
 * broken app re-read on every resync cannot flood the log. The count is per occurrence.
 */
final class Drops {
    private static final Logger log = LoggerFactory.getLogger(MarathonSource.class);

    private final AtomicLong count = new AtomicLong();
    private final Map<String, RateLimitedLog> warnByKind = new ConcurrentHashMap<>();
    private final Duration interval;
    private final SourceStats stats;

    Drops(long intervalNanos) {
        this(intervalNanos, new SourceStats());
    }

    /** @param stats also counts each drop, by kind (the {@code reason} of {@code tandem_discovery_dropped_total}) */
    Drops(long intervalNanos, SourceStats stats) {
        this.interval = Duration.ofNanos(intervalNanos);
        this.stats = stats;
    }

    /** @param kind what was skipped: {@code app}, {@code task}, {@code event}, {@code vip-label}... */
    void drop(String kind, String id, String reason) {
        count.incrementAndGet();
        stats.dropped(kind);
        long held = warnByKind.computeIfAbsent(kind, k -> RateLimitedLog.every(interval)).admit();
        if (held >= 0) {
            log.warn("marathon entry dropped kind={} id=\"{}\" reason=\"{}\" suppressed_since_last={}",
                    kind, id, reason, held);
        } else {
            log.debug("marathon entry dropped kind={} id=\"{}\" reason=\"{}\"", kind, id, reason);
        }
    }

    long count() {
        return count.get();
    }
}
