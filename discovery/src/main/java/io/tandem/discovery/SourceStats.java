package io.tandem.discovery;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * A source's live counters, which the node exports as {@code tandem_discovery_*} metrics: full
 * resyncs, upstream reconnects, entries dropped by reason, when the membership was last
 * refreshed from upstream, and the propagation time of each change (event received → snapshot
 * handed to the node). Written by the source's own threads, read anywhere; nothing here blocks.
 *
 * <p>The discovery module knows nothing of Micrometer: the node attaches a
 * {@linkplain #onPropagation sink} for the propagation samples (samples taken before it attaches
 * are kept, up to {@value #PENDING_MAX}, and handed over then) and a
 * {@linkplain #onNewDropReason listener} that learns each drop reason the first time it occurs.
 *
 * <p>As JSON (the admin API) it is its {@link Snapshot}; read back, it is a detached copy holding
 * those numbers.
 */
public final class SourceStats {
    static final int PENDING_MAX = 1024;

    private final LongAdder resyncs = new LongAdder();
    private final LongAdder reconnects = new LongAdder();
    private final Map<String, LongAdder> dropped = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<Consumer<String>> reasonListeners = new CopyOnWriteArrayList<>();
    private final LongAdder propagationCount = new LongAdder();
    private final LongAdder propagationNanos = new LongAdder();
    private final Object sinkLock = new Object();
    private final ArrayDeque<Long> pending = new ArrayDeque<>(); // guarded by sinkLock
    private volatile LongConsumer sink; // written under sinkLock
    private volatile Instant lastUpdateAt;
    private volatile boolean connected;
    private volatile boolean stale;
    private volatile boolean restored;
    private volatile int services;
    private volatile int endpoints;

    /**
     * What the admin API shows.
     *
     * @param lastUpdateAt            when the membership was last refreshed from upstream (or, for a
     *                                snapshot read back from disk, when it was saved)
     * @param propagationSecondsSum   the sum of every propagation sample, in seconds
     */
    public record Snapshot(long resyncs, long reconnects, Map<String, Long> dropped, Optional<Instant> lastUpdateAt,
                           long propagationCount, double propagationSecondsSum) {
        public Snapshot {
            dropped = Map.copyOf(requireNonNull(dropped, "dropped"));
            requireNonNull(lastUpdateAt, "lastUpdateAt");
        }
    }

    /** A full resync from upstream completed. */
    public void resynced() {
        resyncs.increment();
    }

    /** The upstream connection (event stream, ZooKeeper session) was re-established after a loss. */
    public void reconnected() {
        reconnects.increment();
    }

    /** One malformed or unusable entry was skipped; {@code reason} is a short kind such as {@code task}. */
    public void dropped(String reason) {
        requireNonNull(reason, "reason");
        LongAdder a = dropped.get(reason);
        if (a == null) {
            LongAdder fresh = new LongAdder();
            a = dropped.putIfAbsent(reason, fresh);
            if (a == null) {
                a = fresh;
                a.increment();
                for (Consumer<String> l : reasonListeners) {
                    l.accept(reason);
                }
                return;
            }
        }
        a.increment();
    }

    /** The membership was refreshed from upstream at {@code at}. */
    public void updated(Instant at) {
        lastUpdateAt = requireNonNull(at, "at");
    }

    /** The upstream (event stream, ZooKeeper session) is live, or not. */
    public void connected(boolean live) {
        connected = live;
    }

    /**
     * A snapshot was handed to the node.
     *
     * @param restored it is the one read from disk at start
     */
    public void published(Map<String, ? extends java.util.Collection<?>> services, boolean stale, boolean restored) {
        this.services = services.size();
        this.endpoints = services.values().stream().mapToInt(java.util.Collection::size).sum();
        this.stale = stale;
        this.restored = restored;
    }

    public boolean connected() {
        return connected;
    }

    /** The last snapshot handed over was stale (last known membership, upstream lost or not yet reached). */
    public boolean stale() {
        return stale;
    }

    public boolean restored() {
        return restored;
    }

    public int services() {
        return services;
    }

    public int endpoints() {
        return endpoints;
    }

    /** One change reached the node {@code nanos} after its event arrived. */
    public void propagated(long nanos) {
        long n = Math.max(0, nanos);
        propagationCount.increment();
        propagationNanos.add(n);
        LongConsumer s = sink;
        if (s != null) {
            s.accept(n);
            return;
        }
        synchronized (sinkLock) {
            if (sink == null) {
                if (pending.size() == PENDING_MAX) {
                    pending.pollFirst();
                }
                pending.addLast(n);
                return;
            }
        }
        sink.accept(n);
    }

    /** Sends every later propagation sample (and those kept until now) to {@code sink}; replaces any earlier one. */
    public void onPropagation(LongConsumer sink) {
        requireNonNull(sink, "sink");
        synchronized (sinkLock) {
            for (Long n : pending) {
                sink.accept(n);
            }
            pending.clear();
            this.sink = sink;
        }
    }

    /** Tells {@code listener} each drop reason seen so far, then each new one as it first occurs. */
    public void onNewDropReason(Consumer<String> listener) {
        requireNonNull(listener, "listener");
        reasonListeners.add(listener);
        dropped.keySet().forEach(listener);
    }

    public long resyncs() {
        return resyncs.sum();
    }

    public long reconnects() {
        return reconnects.sum();
    }

    public long droppedCount(String reason) {
        LongAdder a = dropped.get(reason);
        return a == null ? 0 : a.sum();
    }

    public long droppedTotal() {
        return dropped.values().stream().mapToLong(LongAdder::sum).sum();
    }

    public Optional<Instant> lastUpdateAt() {
        return Optional.ofNullable(lastUpdateAt);
    }

    @JsonValue
    public Snapshot snapshot() {
        Map<String, Long> d = new TreeMap<>();
        dropped.forEach((k, v) -> d.put(k, v.sum()));
        return new Snapshot(resyncs.sum(), reconnects.sum(), d, lastUpdateAt(), propagationCount.sum(),
                propagationNanos.sum() / 1e9);
    }

    /** A detached copy holding {@code s}'s numbers (how a client reads the admin API's JSON back). */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static SourceStats of(Snapshot s) {
        SourceStats out = new SourceStats();
        out.resyncs.add(s.resyncs());
        out.reconnects.add(s.reconnects());
        s.dropped().forEach((k, v) -> {
            LongAdder a = new LongAdder();
            a.add(v);
            out.dropped.put(k, a);
        });
        out.lastUpdateAt = s.lastUpdateAt().orElse(null);
        out.propagationCount.add(s.propagationCount());
        out.propagationNanos.add(Math.round(s.propagationSecondsSum() * 1e9));
        return out;
    }

    /**
     * Equal when their {@link #snapshot}s are, at the moment of the call: views holding stats
     * (the admin API's source view) compare by value, and one read back from JSON equals the
     * original while neither changes.
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof SourceStats other && snapshot().equals(other.snapshot());
    }

    @Override
    public int hashCode() {
        return snapshot().hashCode();
    }

    @Override
    public String toString() {
        return "SourceStats" + snapshot();
    }
}
