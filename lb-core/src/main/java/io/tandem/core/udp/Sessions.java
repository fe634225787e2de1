package io.tandem.core.udp;

import io.tandem.config.AccessControl;
import io.tandem.config.Limits;
import io.tandem.config.UdpOptions;
import io.tandem.core.pool.Backend;
import io.tandem.core.vip.ClientTracker;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.vip.SelfLoops;
import io.tandem.core.vip.Vip;
import io.tandem.sys.RateLimitedLog;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sessions of one listening socket (one event loop): who may open one (the VIP-wide limit,
 * least-recently-used eviction, self-loops), when they end (idle sweep, shutdown) and the
 * listener's counters. Everything here runs on the socket's loop: the table is a plain map, and
 * a session's upstream socket lives on the same loop, so no session state is ever touched by two
 * threads. The socket side ({@link DatagramSockets}) calls in; time comes in as {@code now}
 * ({@link System#nanoTime}), so the logic runs in unit tests without sockets or loops.
 */
final class Sessions {
    private static final Logger log = LoggerFactory.getLogger(Sessions.class);
    private static final Duration WARN_INTERVAL = Duration.ofSeconds(10);

    enum Reason { EXPIRED, EVICTED, COMPLETED, NO_BACKEND, SHUTDOWN, RELEASED }

    final Vip vip;
    /** The VIP's {@code udp} section, as validated by the config reader. */
    final UdpOptions options;
    /** Datagrams per {@code recvmmsg} on epoll ({@link UdpListener#RECV_BATCH}). */
    final int batch;
    final UdpStats stats;
    final ConnectionEvents events;
    final SessionTable table = new SessionTable();
    private DatagramSockets sockets;
    // Per-datagram counters, summed here and added to the shared LongAdders once per read burst /
    // reply flush (publishCounts): 7 contended adds per echo become 7 per burst.
    private long countIn;
    private long countBytesIn;
    private long countForwarded;
    private long countOut;
    private long countBytesOut;
    private long countReceiveCalls;
    private boolean closed;
    private final RateLimitedLog limitWarn = RateLimitedLog.every(WARN_INTERVAL);
    private final RateLimitedLog socketWarn = RateLimitedLog.every(WARN_INTERVAL);

    Sessions(Vip vip, UdpOptions options, int batch, UdpStats stats, ConnectionEvents events) {
        this.vip = vip;
        this.options = options;
        this.batch = batch;
        this.stats = stats;
        this.events = events;
    }

    /** The socket side, once it is open (it is built with this object, so it comes after). */
    void start(DatagramSockets sockets) {
        this.sockets = sockets;
    }

    DatagramSockets sockets() {
        return sockets;
    }

    /** How often {@link #sweep} should run: a quarter of the idle time, within 10 ms..1 s. */
    long sweepPeriodNanos() {
        return Math.clamp(options.sessionIdle().toNanos() / 4,
                TimeUnit.MILLISECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(1));
    }

    // ---------------------------------------------------------------- a client datagram

    /** The session of the IPv4 client with table key {@code key4} (see {@link SessionTable}), touched; or null. */
    Session find4(long key4, long now) {
        Session s = table.get4(key4);
        if (s != null) {
            table.touch(s, now);
        }
        return s;
    }

    /**
     * The session of {@code client} (found by address, not by an IPv4 key), touched; or a new one;
     * or null when none may be opened ({@link #open}: the datagram is dropped and counted).
     */
    Session session(InetSocketAddress client, long now) {
        Session s = table.get(client);
        if (s == null) {
            return open(client, 0, false, now);
        }
        table.touch(s, now);
        return s;
    }

    /**
     * A new session for {@code client} (an IPv4 client of the epoll side also has a table key),
     * or null when none may be opened and the datagram is dropped (counted here): the session
     * limit with nothing to evict on this loop, a client the VIP's {@code acl} refuses, or a
     * client that is one of our own upstream sockets on a flow that already passed through this
     * VIP (a self-loop).
     */
    Session open(InetSocketAddress client, long key4, boolean keyed4, long now) {
        if (closed) {
            return null;
        }
        AccessControl acl = vip.pool().config().acl();
        if (!acl.isOpen() && !acl.allows(client.getAddress())) {
            vip.stats().aclRefused.increment(); // dropped: no session, no backend hears of it
            return null;
        }
        SelfLoops.Hop via = null;
        if (SelfLoops.tracking(SelfLoops.Proto.UDP)) {
            via = SelfLoops.arrivedFrom(SelfLoops.Proto.UDP, client);
            if (via != null && via.visits(vip)) {
                stats.droppedSelfLoop.increment();
                selfLoop(via.vip(), via.backend());
                return null;
            }
        }
        Limits.PerClient perClient = vip.pool().config().limits().perClient();
        ClientTracker.Slot clientSlot = null;
        if (perClient.enabled()) {
            ClientTracker.Admission a = vip.clients().admit(client.getAddress(), perClient, now);
            if (a.slot() == null) {
                // Dropped like a datagram over the session limit; the client's next datagram asks again.
                (a.refusal() == ClientTracker.Refusal.CLIENT_RATE ? vip.stats().clientRateRefused
                        : vip.stats().clientConnectionsRefused).increment();
                return null;
            }
            clientSlot = a.slot();
        }
        if (!reserveSlot()) {
            Session victim = table.eldest();
            if (victim == null) {
                // Full, and every session lives on other loops: cannot evict from here without locks.
                stats.droppedSessionLimit.increment();
                warnLimit();
                releaseClient(clientSlot);
                return null;
            }
            close(victim, Reason.EVICTED);
            warnLimit();
            if (!reserveSlot()) {
                stats.droppedSessionLimit.increment();
                releaseClient(clientSlot);
                return null;
            }
        }
        Session s = new Session(client, this, key4, keyed4, via);
        s.clientSlot = clientSlot;
        table.add(s, now);
        stats.sessionsCreated.increment();
        vip.stats().totalConnections.increment();
        vip.stats().active.incrementAndGet();
        return s;
    }

    /**
     * The upstream socket for a client datagram of {@code s}, after checking its backend against
     * the VIP's current pool and picking (or re-picking) one if needed; or null: no backend, the
     * datagram is dropped (counted) and the session closed.
     */
    DatagramSockets.Upstream route(Session s, long now) {
        DatagramSockets.Upstream up = s.route(now);
        if (up == null) {
            close(s, Reason.NO_BACKEND);
        }
        return up;
    }

    /** One slot of the VIP-wide session budget, shared by all loops (a CAS, only when a session starts). */
    private boolean reserveSlot() {
        int max = options.maxSessions();
        for (;;) {
            int active = stats.sessionsActive.get();
            if (active >= max) {
                return false;
            }
            if (stats.sessionsActive.compareAndSet(active, active + 1)) {
                stats.sessionsPeak.accumulateAndGet(active + 1, Math::max);
                return true;
            }
        }
    }

    // ---------------------------------------------------------------- session ends

    void close(Session s, Reason reason) {
        if (!table.remove(s)) {
            return;
        }
        s.close();
        releaseClient(s.clientSlot);
        s.clientSlot = null;
        stats.sessionsActive.decrementAndGet();
        vip.stats().active.decrementAndGet();
        switch (reason) {
            case EXPIRED -> stats.sessionsExpired.increment();
            case EVICTED -> stats.sessionsEvicted.increment();
            case COMPLETED -> stats.sessionsCompleted.increment();
            case NO_BACKEND, SHUTDOWN, RELEASED -> { }
        }
    }

    private void releaseClient(ClientTracker.Slot slot) {
        if (slot != null) {
            vip.clients().release(slot);
        }
    }

    /** Closes the sessions idle for {@link UdpOptions#sessionIdle()} or longer: O(expired), oldest first. */
    void sweep(long now) {
        long idle = options.sessionIdle().toNanos();
        for (Session s = table.eldest(); s != null && now - s.lastActive >= idle; s = table.eldest()) {
            close(s, Reason.EXPIRED);
        }
    }

    /**
     * Closes every session open now (their upstream sockets) and keeps listening: the VIP's
     * address was released, so its clients' datagrams reach another node, and a backend's late
     * answers must not go out from here as well. Returns how many were closed.
     */
    int endSessions() {
        int n = 0;
        for (Session s = table.eldest(); s != null; s = table.eldest()) {
            close(s, Reason.RELEASED);
            n++;
        }
        publishCounts();
        return n;
    }

    /** Closes every session; no new one opens after this. */
    void closeAll() {
        closed = true;
        for (Session s = table.eldest(); s != null; s = table.eldest()) {
            close(s, Reason.SHUTDOWN);
        }
        publishCounts();
    }

    // ---------------------------------------------------------------- counters

    /** A client datagram of {@code len} bytes arrived (before any check). */
    void countIn(int len) {
        countIn++;
        countBytesIn += len;
    }

    void countForwarded(int datagrams) {
        countForwarded += datagrams;
    }

    /** A reply of {@code len} bytes left for a client. */
    void countOut(int len) {
        countOut++;
        countBytesOut += len;
    }

    /** A receive call on the listening socket that returned datagrams. */
    void countReceiveCall() {
        countReceiveCalls++;
    }

    /** Adds the loop-local counts to the shared counters (readers see them at most one burst late). */
    void publishCounts() {
        if (countReceiveCalls != 0) {
            stats.receiveCalls.add(countReceiveCalls);
            countReceiveCalls = 0;
        }
        if (countIn != 0) {
            stats.datagramsIn.add(countIn);
            stats.bytesIn.add(countBytesIn);
            vip.stats().bytesIn.add(countBytesIn);
            countIn = 0;
            countBytesIn = 0;
        }
        if (countForwarded != 0) {
            stats.datagramsForwarded.add(countForwarded);
            countForwarded = 0;
        }
        if (countOut != 0) {
            stats.datagramsOut.add(countOut);
            stats.bytesOut.add(countBytesOut);
            vip.stats().bytesOut.add(countBytesOut);
            countOut = 0;
            countBytesOut = 0;
        }
    }

    // ---------------------------------------------------------------- reports

    /** {@code backend} of {@code v} leads back into this node: counted, and reported as a passive signal. */
    void selfLoop(Vip v, Backend backend) {
        v.stats().selfLoops.increment();
        try {
            events.selfLoop(v, backend);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", v.name(), backend, e);
        }
    }

    private void warnLimit() {
        if (limitWarn.tryAcquire()) { // the counters in the line carry the exact numbers
            log.warn("udp session limit reached vip={} max_sessions={} evicted_total={} dropped_total={}",
                    vip.name(), options.maxSessions(), stats.sessionsEvicted.sum(), stats.droppedSessionLimit.sum());
        }
    }

    /** An upstream socket could not be opened for a reason that is not the node's own (rate-limited). */
    void warnSocketFailure(Exception e) {
        long held = socketWarn.admit();
        if (held >= 0) {
            log.warn("udp upstream socket failed vip={} reason=\"{}\" suppressed_since_last={}", vip.name(), e.toString(),
                    held);
        }
    }
}
