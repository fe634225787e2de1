package io.tandem.core.udp;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Live counters of one UDP listener (one VIP on this node), written by every event loop that
 * serves it. LongAdders stripe per thread so loops never contend; the two AtomicIntegers are
 * touched only when a session starts or ends. "In" is client → proxy, "out" is proxy → client.
 * Every dropped datagram is counted under exactly one reason.
 */
public final class UdpStats {
    /** Sessions open now; never exceeds {@link io.tandem.config.UdpOptions#maxSessions()}. */
    public final AtomicInteger sessionsActive = new AtomicInteger();
    /** The highest {@link #sessionsActive} seen since the listener was bound. */
    public final AtomicInteger sessionsPeak = new AtomicInteger();
    public final LongAdder sessionsCreated = new LongAdder();
    /** Closed after {@link io.tandem.config.UdpOptions#sessionIdle()} without traffic. */
    public final LongAdder sessionsExpired = new LongAdder();
    /** Closed to make room for a new client when {@link io.tandem.config.UdpOptions#maxSessions()} was reached. */
    public final LongAdder sessionsEvicted = new LongAdder();
    /** Closed because the backend sent {@link io.tandem.config.UdpOptions#responsesPerRequest()} replies per request. */
    public final LongAdder sessionsCompleted = new LongAdder();
    /** Moved to another backend (backend left the pool, or reported port unreachable). */
    public final LongAdder sessionsRepinned = new LongAdder();

    public final LongAdder datagramsIn = new LongAdder();
    public final LongAdder bytesIn = new LongAdder();
    /** Client datagrams written to a backend. */
    public final LongAdder datagramsForwarded = new LongAdder();
    public final LongAdder datagramsOut = new LongAdder();
    public final LongAdder bytesOut = new LongAdder();
    /** Receive system calls on the listening sockets: {@code datagramsIn / receiveCalls} is the recvmmsg batching factor. */
    public final LongAdder receiveCalls = new LongAdder();

    /** Larger than {@link io.tandem.config.UdpOptions#maxDatagramSize()}, in either direction. */
    public final LongAdder droppedTooBig = new LongAdder();
    /** No backend to send to (empty pool, or the upstream socket could not be connected). */
    public final LongAdder droppedNoBackend = new LongAdder();
    /**
     * The node could not open an upstream socket for its own reasons (out of descriptors,
     * memory or source ports): never counted against a backend ({@code Vip#localErrors}).
     */
    public final LongAdder droppedLocalError = new LongAdder();
    /** The datagram would have looped back into this node ({@code SelfLoops}). */
    public final LongAdder droppedSelfLoop = new LongAdder();
    /** A new client while the session table was full and this loop had nothing to evict. */
    public final LongAdder droppedSessionLimit = new LongAdder();
    /** ICMP port unreachable from a backend: the datagram that provoked it is lost. */
    public final LongAdder droppedBackendUnreachable = new LongAdder();
    /** A socket's send queue was full (the peer or the kernel cannot keep up). */
    public final LongAdder droppedCongested = new LongAdder();

    @Override
    public String toString() {
        return "sessions_active=" + sessionsActive.get() + " sessions_peak=" + sessionsPeak.get()
                + " created=" + sessionsCreated.sum() + " expired=" + sessionsExpired.sum()
                + " evicted=" + sessionsEvicted.sum() + " completed=" + sessionsCompleted.sum()
                + " repinned=" + sessionsRepinned.sum()
                + " in=" + datagramsIn.sum() + "/" + bytesIn.sum() + "B forwarded=" + datagramsForwarded.sum()
                + " out=" + datagramsOut.sum() + "/" + bytesOut.sum() + "B receive_calls=" + receiveCalls.sum()
                + " dropped_too_big=" + droppedTooBig.sum() + " dropped_no_backend=" + droppedNoBackend.sum()
                + " dropped_session_limit=" + droppedSessionLimit.sum()
                + " dropped_backend_unreachable=" + droppedBackendUnreachable.sum()
                + " dropped_congested=" + droppedCongested.sum()
                + " dropped_local_error=" + droppedLocalError.sum() + " dropped_self_loop=" + droppedSelfLoop.sum();
    }
}
