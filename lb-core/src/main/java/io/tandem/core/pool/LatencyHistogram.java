package io.tandem.core.pool;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * One backend's latencies (the connect time, or the time to the backend's first byte) in fixed
 * buckets, written by every event loop without a lock: one bucket search (at most 15 compares)
 * and one {@link LongAdder} increment per sample, no allocation. Read as a window: the counts
 * of the last minute, from snapshots taken when it is read (every 10 s at most), so a reader
 * (the API, a scrape) sees "the last 60–70 s", or everything since the backend appeared when
 * it is younger. Percentiles are interpolated inside a bucket, as Prometheus's
 * {@code histogram_quantile} does; beyond the last bound they say "over 10 s".
 */
public final class LatencyHistogram {
    /** Upper bounds in nanoseconds: 0.25 ms .. 10 s, roughly 1-2.5-5 steps. */
    static final long[] BOUNDS = {250_000L, 500_000L, 1_000_000L, 2_500_000L, 5_000_000L, 10_000_000L,
            25_000_000L, 50_000_000L, 100_000_000L, 250_000_000L, 500_000_000L, 1_000_000_000L, 2_500_000_000L,
            5_000_000_000L, 10_000_000_000L};
    private static final long SLICE = TimeUnit.SECONDS.toNanos(10);
    private static final long WINDOW = TimeUnit.SECONDS.toNanos(60);

    private final LongAdder[] counts = new LongAdder[BOUNDS.length + 1];
    private final ArrayDeque<Snapshot> snapshots = new ArrayDeque<>();

    private record Snapshot(long at, long[] counts) {
    }

    /** @param nowNanos the reader's clock now (the window starts here) */
    public LatencyHistogram(long nowNanos) {
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new LongAdder();
        }
        snapshots.add(new Snapshot(nowNanos, new long[counts.length]));
    }

    /** Records one sample (any thread). Negative values count as zero. */
    public void record(long nanos) {
        int i = 0;
        while (i < BOUNDS.length && nanos > BOUNDS[i]) {
            i++;
        }
        counts[i].increment();
    }

    /** The samples of the last minute (see the class comment), at {@code nowNanos}. */
    public synchronized Window window(long nowNanos) {
        long[] current = new long[counts.length];
        for (int i = 0; i < counts.length; i++) {
            current[i] = counts[i].sum();
        }
        if (nowNanos - snapshots.peekLast().at() >= SLICE) {
            snapshots.addLast(new Snapshot(nowNanos, current));
        }
        // Keep one snapshot at least a window old as the base; drop the older ones.
        while (snapshots.size() > 2 && nowNanos - secondOldest().at() >= WINDOW) {
            snapshots.removeFirst();
        }
        long[] base = snapshots.peekFirst().counts();
        long[] diff = new long[counts.length];
        for (int i = 0; i < diff.length; i++) {
            diff[i] = Math.max(0, current[i] - base[i]);
        }
        return new Window(diff);
    }

    private Snapshot secondOldest() {
        var it = snapshots.iterator();
        it.next();
        return it.next();
    }

    /** Counts per bucket over a window. */
    public record Window(long[] counts) {
        public long samples() {
            long n = 0;
            for (long c : counts) {
                n += c;
            }
            return n;
        }

        /**
         * The {@code q} quantile in milliseconds, or -1 without samples; {@link Double#POSITIVE_INFINITY}
         * when it falls past the last bound (over 10 s).
         */
        public double quantileMs(double q) {
            long n = samples();
            if (n == 0) {
                return -1;
            }
            double rank = q * n;
            long seen = 0;
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] > 0 && seen + counts[i] >= rank) {
                    if (i == BOUNDS.length) {
                        return Double.POSITIVE_INFINITY;
                    }
                    double lower = i == 0 ? 0 : BOUNDS[i - 1];
                    double upper = BOUNDS[i];
                    double within = (rank - seen) / counts[i];
                    return (lower + (upper - lower) * Math.max(0, Math.min(1, within))) / 1_000_000.0;
                }
                seen += counts[i];
            }
            return BOUNDS[BOUNDS.length - 1] / 1_000_000.0;
        }
    }
}
