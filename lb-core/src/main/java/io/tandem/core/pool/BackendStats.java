package io.tandem.core.pool;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Live counters of one backend, written by every event loop that proxies to it. LongAdder
 * stripes its cells per thread, so loops never contend on a cache line; Micrometer reads
 * the sums when scraped (FunctionCounter), so there is no metrics call on the hot path.
 * {@code active} is an AtomicInteger because least-connections and per-backend limits need
 * its exact value on every pick.
 */
public final class BackendStats {
    public final AtomicInteger active = new AtomicInteger();
    public final LongAdder totalConnections = new LongAdder();
    public final LongAdder bytesIn = new LongAdder();   // backend -> client
    public final LongAdder bytesOut = new LongAdder();  // client -> backend
    public final LongAdder connectFailures = new LongAdder();
    public final LongAdder limitHits = new LongAdder();
    /**
     * Connect failures since the last success, as the data path saw them. Lets a successful
     * connect skip posting to the control loop unless there is a failure streak to reset.
     */
    public final AtomicInteger failureStreak = new AtomicInteger();
    /**
     * Connections the backend ended before answering (outlier_detection.closed_before_response)
     * since one it answered. Lets an answered connection skip posting unless there is a streak to end.
     */
    public final AtomicInteger unansweredStreak = new AtomicInteger();
    /**
     * Latency ejection's counters (only written while the VIP has it on): the sum of the measured
     * latencies, in nanoseconds, and how many; the control loop reads their growth over each window.
     */
    public final LongAdder latencyNanos = new LongAdder();
    public final LongAdder latencySamples = new LongAdder();
    /**
     * Every connection's connect time and time to the backend's first byte (from the client's
     * first byte, or from the connect when the backend speaks first), always on: what an operator
     * reads as the backend's latency ({@code /api/vips}, {@code tandem status}, the p99 gauges).
     */
    public final LatencyHistogram connectTime = new LatencyHistogram(System.nanoTime());
    public final LatencyHistogram firstByteTime = new LatencyHistogram(System.nanoTime());
}
