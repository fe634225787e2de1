package io.tandem.core.tcp;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Lets at most one warning through per interval. Shared by every event loop of one listener,
 * so a limit storm on a VIP logs once a second instead of once per refused connection (the
 * counters carry the exact numbers).
 */
final class WarnLimiter {
    private final long intervalNanos;
    private final AtomicLong next = new AtomicLong(Long.MIN_VALUE);

    WarnLimiter(long interval, TimeUnit unit) {
        this.intervalNanos = unit.toNanos(interval);
    }

    /** True for the first caller in each interval. */
    boolean tryAcquire() {
        long now = System.nanoTime();
        long n = next.get();
        return (n == Long.MIN_VALUE || now - n >= 0) && next.compareAndSet(n, now + intervalNanos);
    }
}
