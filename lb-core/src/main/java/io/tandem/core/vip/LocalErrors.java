package io.tandem.core.vip;

import static java.util.Objects.requireNonNull;

import io.tandem.sys.Errno;
import io.tandem.sys.RateLimitedLog;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's own resource errors on one VIP's data path: out of file descriptors, kernel memory
 * or source ports while accepting a client or opening a backend socket ({@link Errno#local}).
 * They are never a backend's fault, so they are kept out of every backend signal and counted
 * here instead, by operation and errno ({@code tandem_local_errors_total{vip,op,errno}}), and
 * logged at WARN at most once per {@link #PERIOD_SECONDS} per kind, with the count since the
 * previous line and what to raise.
 *
 * <p>Thread-safe; written by event loops (error paths only), read by scrapes.
 */
public final class LocalErrors {
    private static final Logger log = LoggerFactory.getLogger(LocalErrors.class);
    static final int PERIOD_SECONDS = 10;

    /** What the node was doing when the resource ran out. */
    public enum Op {
        /** Taking a client connection off a TCP listener. */
        ACCEPT("accept"),
        /** Opening a backend socket (TCP connection or UDP session upstream): socket(), its setup, connect(). */
        CONNECT("connect");

        private final String label;

        Op(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** One series: an operation and an errno label ({@link Errno#name}). */
    public record Kind(Op op, String errno) {
        public Kind {
            requireNonNull(op, "op");
            requireNonNull(errno, "errno");
        }
    }

    private final String vip;
    private final ConcurrentHashMap<Kind, Entry> entries = new ConcurrentHashMap<>();
    private volatile Consumer<Kind> onNewKind = k -> { };

    LocalErrors(String vip) {
        this.vip = requireNonNull(vip, "vip");
    }

    /**
     * Counts one local error and logs it, rate-limited.
     *
     * @param errno  the errno ({@link Errno#local} or {@link Errno#of}); 0 when unknown
     * @param action what became of the client or datagram, for the log ("client reset")
     */
    public void record(Op op, int errno, Throwable cause, String action) {
        Kind kind = new Kind(op, Errno.name(errno));
        Entry e = entries.get(kind);
        if (e == null) {
            Entry fresh = new Entry();
            e = entries.putIfAbsent(kind, fresh);
            if (e == null) {
                e = fresh;
                try {
                    onNewKind.accept(kind);
                } catch (RuntimeException ex) {
                    log.warn("local error meter registration failed vip={} cause=\"{}\"", vip, ex.toString());
                }
            }
        }
        e.total.increment();
        long held = e.warn.admit();
        if (held >= 0) {
            long count = held + 1; // this one and those held back since the previous line
            log.warn("local resource error vip={} op={} errno={} count={} period_s={} action=\"{}\" cause=\"{}\" "
                    + "hint=\"{}\"", vip, op.label(), kind.errno(), count, PERIOD_SECONDS, action,
                    cause == null ? "-" : cause.toString(), Errno.hint(errno));
        }
    }

    /** Errors of {@code kind} so far. */
    public long count(Kind kind) {
        Entry e = entries.get(kind);
        return e == null ? 0 : e.total.sum();
    }

    /** Every error so far, all kinds. */
    public long total() {
        long n = 0;
        for (Entry e : entries.values()) {
            n += e.total.sum();
        }
        return n;
    }

    /** The kinds seen so far. */
    public Set<Kind> kinds() {
        return Set.copyOf(entries.keySet());
    }

    /**
     * Called with each kind the first time it is seen (the metrics register its series then, so a
     * node that never runs short shows none). Kinds seen before are not replayed: see {@link #kinds}.
     */
    public void onNewKind(Consumer<Kind> listener) {
        this.onNewKind = requireNonNull(listener, "listener");
    }

    private static final class Entry {
        final LongAdder total = new LongAdder();
        final RateLimitedLog warn = RateLimitedLog.every(Duration.ofSeconds(PERIOD_SECONDS));
    }
}
