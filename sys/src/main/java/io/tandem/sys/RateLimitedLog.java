package io.tandem.sys;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Lets one log line through per interval and counts the ones it held back, so a storm (a limit
 * hit per connection, a broken entry re-read on every resync, a socket error per datagram) logs
 * one line per interval with the count of the others, while the counters carry the exact
 * numbers. The caller keeps its own logger and message:
 *
 * <pre>{@code
 * long held = warn.admit();
 * if (held >= 0) {
 *     log.warn("udp session limit reached vip={} suppressed_since_last={}", name, held);
 * }
 * }</pre>
 *
 * <p>The first line is always let through. Thread-safe without a lock (one may be shared by all
 * the event loops of a listener); {@link #admit} allocates nothing, so it may sit on an error
 * path of the data path.
 */
public final class RateLimitedLog {
    /** No line let through yet: the next one passes whatever the clock says. */
    private static final long NEVER = Long.MIN_VALUE;

    private final long intervalNanos;
    private final LongSupplier nanoClock;
    private final AtomicLong next = new AtomicLong(NEVER);
    private final AtomicLong held = new AtomicLong();

    private RateLimitedLog(Duration interval, LongSupplier nanoClock) {
        requireNonNull(interval, "interval");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval: " + interval + " (expected > 0)");
        }
        this.intervalNanos = interval.toNanos();
        this.nanoClock = requireNonNull(nanoClock, "nanoClock");
    }

    /** At most one line per {@code interval}, on {@link System#nanoTime()}. */
    public static RateLimitedLog every(Duration interval) {
        return new RateLimitedLog(interval, System::nanoTime);
    }

    /** At most one line per {@code interval} on {@code nanoClock} (tests move it by hand). */
    public static RateLimitedLog every(Duration interval, LongSupplier nanoClock) {
        return new RateLimitedLog(interval, nanoClock);
    }

    /**
     * Asks to log one line now: {@code -1} when it must be held back (it is counted), else the
     * number of lines held back since the previous one let through (0 for the first).
     */
    public long admit() {
        long now = nanoClock.getAsLong();
        long n = next.get();
        if ((n == NEVER || now - n >= 0) && next.compareAndSet(n, now + intervalNanos)) {
            return held.getAndSet(0);
        }
        held.incrementAndGet();
        return -1;
    }

    /** {@link #admit} for a caller that does not report the held-back count. */
    public boolean tryAcquire() {
        return admit() >= 0;
    }
}
