package io.tandem.core.tcp;

import static java.util.concurrent.TimeUnit.NANOSECONDS;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.config.VipConfig;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.sys.Errno;
import io.tandem.core.vip.Connection;
import io.tandem.core.vip.LocalErrors;
import io.tandem.core.vip.SelfLoops;
import io.tandem.core.vip.Vip;
import io.tandem.core.vip.VipStats;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every proxied TCP connection does whatever moves its bytes: admission (the VIP's and each
 * backend's connection limit), the backend choice with connect retries on other backends, the
 * passive health signals (and keeping the node's own resource errors out of them), self-loop
 * detection ({@link SelfLoops}), the connection timer (idle timeout and the {@link ResponseWatch} for
 * hung backends share it: one pending timer per connection at most), and the bookkeeping when it
 * ends. Two engines extend it: {@link RawConnection} (raw epoll sockets, the default on Linux)
 * and {@link ProxyConnection} (Netty channels: NIO, and epoll when asked for).
 *
 * <p>Everything runs on the connection's event loop, so no field needs a lock, except
 * {@link #backend()}, which the control loop reads.
 */
abstract class ProxiedConnection implements Connection, LateIdleTimers.Armable {
    private static final Logger log = LoggerFactory.getLogger(ProxiedConnection.class);
    private static final long NO_TIMER = Long.MAX_VALUE;

    final Vip vip;
    final BackendPool pool;
    final VipConfig config;
    final ConnectionEvents events;
    final WarnLimiter warn;
    /** Null unless the VIP has a response timeout. */
    final ResponseWatch watch;
    final long idleNanos;
    final int connectTimeoutMillis;
    /** Created on the first armed timer (most connections end before theirs is armed). */
    private Runnable onTimer;
    /** Backends that failed or were full for this connection; empty (and unallocated) for most. */
    private List<Backend> tried = List.of();
    /** Set once the backend is connected; read by the control loop (close on backend down, drain). */
    private volatile Backend backend;
    /** The backend of the attempt in progress (its active count is reserved). */
    Backend attempt;
    int attempts;
    private boolean anyConnectFailed;
    /** How this flow entered the node when it came from one of our own outbound sockets; null: from outside. */
    private SelfLoops.Hop arrivedVia;
    /** What {@link SelfLoops#check} said about the attempt in progress. */
    private SelfLoops.Check attemptCheck = SelfLoops.Check.NONE;
    /** The tracked outbound socket of this connection: its local address and hop; null when none. */
    private InetSocketAddress trackedLocal;
    private SelfLoops.Hop trackedHop;
    /** The attempt in progress is counted in {@link SelfLoops#pending} (until its socket is tracked). */
    private boolean pendingTrack;
    /** The arrival was put off once already ({@link #putOffArrival}). */
    private boolean arrivalPutOff;
    private boolean anyBackendAtLimit;
    boolean closing;
    private boolean released;
    long lastActivityNanos;
    private ScheduledFuture<?> timer;
    /** When the pending timer fires ({@link #NO_TIMER}: none pending). */
    private long timerAt = NO_TIMER;

    ProxiedConnection(Vip vip, BackendPool pool, ConnectionEvents events, WarnLimiter warn) {
        this.vip = vip;
        this.pool = pool;
        this.config = pool.config();
        this.events = events;
        this.warn = warn;
        this.watch = ResponseWatch.of(config);
        this.idleNanos = config.timeouts().idle().toNanos();
        this.connectTimeoutMillis = timeoutMillis(config.timeouts().connect().toMillis());
    }

    // ---- what an engine provides ---------------------------------------------------------------

    /** The event loop this connection lives on. */
    abstract EventLoop loop();

    /** Client to backend. */
    abstract Direction up();

    /** Backend to client; null before the backend is connected. */
    abstract Direction down();

    /** False while the client is not taking the bytes already relayed to it. */
    abstract boolean clientWritable();

    /** The client's address, for hashing policies; null when unknown. */
    abstract InetAddress clientAddress();

    /** The client's socket address, for logs. */
    abstract Object clientForLog();

    /** The client's socket address (self-loop check; only asked while {@link SelfLoops#watching}). */
    abstract InetSocketAddress peerAddress();

    /** Starts a connect attempt to {@code b} (its active count is reserved). */
    abstract void connect(Backend b);

    /** Closes the client at admission (VIP connection limit). */
    abstract void closeClient();

    /** Resets the client: no backend could take it. */
    abstract void resetClient();

    /** Closes both sides: the idle timeout expired. */
    abstract void closeIdle();

    // ---- Connection ----------------------------------------------------------------------------

    @Override
    public final Backend backend() {
        return backend;
    }

    // ---- accept and connect --------------------------------------------------------------------

    /**
     * Admits the accepted client: counts it against the VIP's limit and picks the first backend.
     * Returns false when the VIP is at its limit (the client is closed and counted).
     */
    final boolean admit() {
        if (SelfLoops.watching(SelfLoops.Proto.TCP) && arrivedInLoop()) {
            return false;
        }
        VipStats stats = vip.stats();
        int max = config.limits().maxConnections();
        int n = stats.active.incrementAndGet();
        if (max > 0 && n > max) {
            stats.active.decrementAndGet();
            stats.limitHits.increment();
            if (warn.tryAcquire()) {
                log.warn("connection refused vip={} limit=max_connections max={} client={}", vip.name(), max,
                        clientForLog());
            }
            closing = true;
            released = true; // never counted as a live connection
            closeClient();
            return false;
        }
        stats.totalConnections.increment();
        vip.connections().add(this);
        touch();
        return true;
    }

    /**
     * Before {@link #admit}: a client from an address of this host, while one of our own
     * connects to be tracked has not registered its socket yet, may be that very socket (the
     * kernel queued the connection during the connect call, and this loop accepted it first). Its
     * admission is put off by a millisecond, once: {@code retry} runs it then. True when put off.
     */
    final boolean putOffArrival(Runnable retry) {
        if (arrivalPutOff || !SelfLoops.watching(SelfLoops.Proto.TCP)
                || !SelfLoops.unsure(SelfLoops.Proto.TCP, peerAddress())) {
            return false;
        }
        arrivalPutOff = true;
        try {
            loop().schedule(retry, 1, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return false; // the loop is shutting down: decide now
        }
        return true;
    }

    /**
     * Whether this client is one of our own outbound sockets on a flow that already passed
     * through this VIP: then it is reset at once, uncounted, and the backend that led here is
     * reported. An arrival from our own socket on a flow that did not pass here yet (one VIP
     * proxying to another) goes on, with its hops remembered.
     */
    private boolean arrivedInLoop() {
        SelfLoops.Hop from = SelfLoops.arrivedFrom(SelfLoops.Proto.TCP, peerAddress());
        if (from == null) {
            return false;
        }
        if (!from.visits(vip)) {
            arrivedVia = from;
            return false;
        }
        closing = true;
        released = true; // never counted as a live connection
        from.markLooped(); // before the reset: the connecting side must not take it for the backend's failure
        selfLoop(from.vip(), from.backend(), "arrived back");
        resetClient();
        return true;
    }

    /** Picks the first backend and connects, or refuses the client. Call after {@link #admit}. */
    final void start() {
        Backend first = pick();
        if (first == null) {
            refuse();
        } else {
            connectUnlessLoop(first);
        }
    }

    /**
     * Connects to {@code b} unless it leads back into a VIP of this flow: then that backend is
     * reported and skipped without a connect (not a failed attempt: nothing was sent), and the
     * next one is tried.
     */
    private void connectUnlessLoop(Backend b) {
        while (b != null) {
            SelfLoops.Check check = SelfLoops.check(SelfLoops.Proto.TCP, b.socketAddress(), vip, arrivedVia);
            if (check != SelfLoops.Check.LOOP) {
                attemptCheck = check;
                if (check == SelfLoops.Check.TRACK && !pendingTrack) {
                    pendingTrack = true;
                    SelfLoops.pending(SelfLoops.Proto.TCP, 1); // until connectIssued registers the socket
                }
                connect(b);
                return;
            }
            endAttempt(b);
            tried(b);
            if (arrivedVia != null) {
                // The hop that brought the flow here is part of the loop: if we end up refusing,
                // the VIP that connected to us must not take our reset for its backend's failure.
                arrivedVia.markLooped();
            }
            selfLoop(vip, b, "backend is a listener of this flow");
            b = pick();
        }
        refuse();
    }

    private void selfLoop(Vip v, Backend b, String how) {
        v.stats().selfLoops.increment();
        if (log.isDebugEnabled()) {
            log.debug("self-loop cut vip={} backend={} how=\"{}\" client={}", v.name(), b, how, clientForLog());
        }
        try {
            events.selfLoop(v, b);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", v.name(), b, e);
        }
    }

    /**
     * The engine knows the local address of the socket of the attempt to {@code b} (right after
     * the connect call; on NIO once connected): when the backend may be one of our listeners,
     * registers the socket so its arrival there is recognised. Not when the attempt already
     * ended (a connect that failed at once).
     */
    final void connectIssued(Backend b, InetSocketAddress local) {
        if (tracksAttempt() && trackedLocal == null && !closing && (attempt == b || backend == b)) {
            trackedHop = new SelfLoops.Hop(vip, b, arrivedVia);
            trackedLocal = local;
            SelfLoops.track(SelfLoops.Proto.TCP, local, trackedHop);
        }
        endPending();
    }

    private void endPending() {
        if (pendingTrack) {
            pendingTrack = false;
            SelfLoops.pending(SelfLoops.Proto.TCP, -1);
        }
    }

    /** Whether the engine must tell {@link #connectIssued} the local address of the attempt in progress. */
    final boolean tracksAttempt() {
        return attemptCheck == SelfLoops.Check.TRACK;
    }

    private void untrack() {
        endPending();
        if (trackedLocal != null) {
            SelfLoops.untrack(SelfLoops.Proto.TCP, trackedLocal, trackedHop);
            trackedLocal = null;
            trackedHop = null;
        }
    }

    /**
     * The policy's choice among backends not yet tried and not at their connection limit. The
     * backend's active count is reserved here (not on connect success) so concurrent accepts on
     * other loops cannot overshoot {@code max_connections_per_backend}; it is released when the
     * attempt fails or the connection ends.
     */
    private Backend pick() {
        int perBackend = config.limits().maxConnectionsPerBackend();
        InetAddress client = clientAddress();
        for (int i = 0; i <= pool.backends().size(); i++) {
            Backend b = pool.pick(client, tried);
            if (b == null || tried.contains(b)) {
                return null;
            }
            int active = b.stats().active.incrementAndGet();
            if (perBackend > 0 && active > perBackend) {
                b.stats().active.decrementAndGet();
                b.stats().limitHits.increment();
                anyBackendAtLimit = true;
                tried(b);
                continue;
            }
            attempt = b;
            return b;
        }
        return null;
    }

    private void tried(Backend b) {
        if (tried.isEmpty()) {
            tried = new ArrayList<>(2);
        }
        tried.add(b);
    }

    /** The attempt to {@code b} succeeded: it is this connection's backend now. */
    final void connected(Backend b, long elapsed) {
        attempt = null;
        backend = b; // volatile write, then the volatile read of the current snapshot below
        b.stats().totalConnections.increment();
        if (vip.pool().cuts(b)) {
            // Picked from an older snapshot, and the backend went down (close_on_backend_down)
            // since: the control loop's sweep after the publish may have missed this connection,
            // because it had no backend yet. Either the sweep sees our backend or we see its
            // snapshot. reset() runs on this loop after the current event.
            reset();
        }
        try {
            events.connected(vip, b, elapsed);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip.name(), b, e);
        }
    }

    /** A connect that succeeded after the client left: not used, not counted as this connection's. */
    final void connectedTooLate(Backend b, long elapsed) {
        untrack();
        endAttempt(b);
        try {
            events.connected(vip, b, elapsed);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip.name(), b, e);
        }
    }

    /**
     * The attempt to {@code b} failed: report it, then retry on another backend or refuse the
     * client. A failure of the node's own ({@link Errno#local}: out of descriptors, memory or
     * source ports) is not the backend's: see {@link #connectFailedLocally}.
     */
    final void connectFailed(Backend b, Throwable cause, long elapsed) {
        if (trackedHop != null && trackedHop.looped()) {
            // Our own arrival side reset this connect: the backend leads back into this node
            // (reported there). Not the backend's failure, and nothing was sent: try another.
            untrack();
            endAttempt(b);
            tried(b);
            if (!closing) {
                connectUnlessLoop(pick());
            }
            return;
        }
        int local = Errno.local(cause);
        if (local != 0) {
            localFailure(b, local, cause);
            return;
        }
        untrack();
        endAttempt(b);
        b.stats().connectFailures.increment();
        anyConnectFailed = true;
        tried(b);
        try {
            events.connectFailed(vip, b, cause, elapsed);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip.name(), b, e);
        }
        if (log.isDebugEnabled()) {
            log.debug("backend connect failed vip={} backend={} attempt={} after_ms={} cause=\"{}\"", vip.name(), b,
                    attempts, NANOSECONDS.toMillis(elapsed), cause);
        }
        if (closing) {
            return;
        }
        if (attempts <= config.retries()) {
            Backend next = pick();
            if (next != null) {
                vip.stats().connectRetries.increment();
                connectUnlessLoop(next);
                return;
            }
        }
        refuse();
    }

    /**
     * The attempt to {@code b} failed before it reached the network (socket(), its options, the
     * event-loop registration): whatever the error, the node's own fault.
     */
    final void connectFailedLocally(Backend b, Throwable cause) {
        int e = Errno.local(cause);
        localFailure(b, e != 0 ? e : Errno.of(cause), cause);
    }

    /**
     * A local resource error: never a signal about {@code b} (no passive failure, no connect
     * failure counted, no retry that would only hit the same limit), counted in the VIP's
     * {@link LocalErrors} instead, and the client is reset at once: its descriptor is what the
     * node is short of, and a prompt reset lets it retry (elsewhere, through the other node).
     */
    private void localFailure(Backend b, int errno, Throwable cause) {
        untrack();
        endAttempt(b);
        vip.localErrors().record(LocalErrors.Op.CONNECT, errno, cause, "client reset");
        if (closing) {
            return;
        }
        closing = true;
        resetClient();
    }

    /**
     * Gives back the active count reserved for the attempt to {@code b}, unless {@link #release}
     * already did (the connection ended while a channel engine's connect was in flight).
     */
    private void endAttempt(Backend b) {
        if (attempt == b) {
            attempt = null;
            b.stats().active.decrementAndGet();
        }
    }

    /** No backend could take the connection: reset the client so it fails fast and can retry. */
    private void refuse() {
        boolean limitOnly = anyBackendAtLimit && !anyConnectFailed;
        if (limitOnly) {
            vip.stats().limitHits.increment();
        } else {
            vip.stats().noBackend.increment();
        }
        if (warn.tryAcquire()) {
            log.warn("connection refused vip={} reason={} backends={} tried={} client={}", vip.name(),
                    limitOnly ? "max_connections_per_backend" : "no_backend", pool.backends().size(), tried.size(),
                    clientForLog());
        }
        closing = true;
        resetClient();
    }

    // ---- activity and the connection timer: idle timeout and response timeout -----------------

    final void touch() {
        lastActivityNanos = System.nanoTime();
    }

    /** {@code from}'s source sent bytes that are on their way to its target. Per read: keep it cheap. */
    final void relayed(Direction from) {
        long now = System.nanoTime();
        lastActivityNanos = now;
        if (watch != null) {
            Direction up = up();
            Direction down = down();
            if (from == up) {
                watch.clientSent(now, down);
            } else {
                watch.backendSent();
            }
            armTimer(watch.nextCheck(now, up, down));
        }
    }

    /** {@code from}'s source sent its FIN. A backend that closes is not hung: that ends its silence. */
    final void inputShutdown(Direction from) {
        if (watch != null && from == down()) {
            long now = System.nanoTime();
            watch.backendSent();
            armTimer(watch.nextCheck(now, up(), down()));
        }
    }

    /** A direction became kernel-only: its bytes are visible only to the kernel, so the watch may need to poll. */
    final void kernelOnlyStarted() {
        if (watch != null && down() != null) {
            armTimer(watch.nextCheck(System.nanoTime(), up(), down()));
        }
    }

    /** Starts the timer once the backend is connected. */
    final void startTimer() {
        if (timerArmedLate()) {
            // Most connections end long before their idle timeout: a timer per connection (a
            // scheduled task in the loop's priority queue, cancelled at close) is wasted on them.
            // The loop arms timers for the connections still open once a second instead.
            LateIdleTimers.add(this, loop());
            return;
        }
        long now = System.nanoTime();
        long next = idleNanos > 0 ? now + idleNanos : NO_TIMER;
        if (watch != null) {
            next = Math.min(next, watch.nextCheck(now, up(), down()));
        }
        armTimer(next);
    }

    /** {@link LateIdleTimers}: this connection has lived about a second; give it its idle timer. */
    @Override
    public final void armIdleTimerLate() {
        if (!closing && !released) {
            lived();
            armTimer(lastActivityNanos + idleNanos);
        }
    }

    /**
     * Whether {@link #startTimer} left the idle timer to {@link LateIdleTimers} (so {@link #lived}
     * will be called about a second later, if the connection is still open).
     */
    final boolean timerArmedLate() {
        return watch == null && idleNanos >= LateIdleTimers.MIN_IDLE_NANOS;
    }

    /** The connection is still open about a second after it started (late-armed timers only). */
    void lived() {
    }

    /**
     * Makes the timer fire no later than {@code at}. A pending timer that fires earlier is kept:
     * it re-plans when it fires. So a connection has one pending timer at most, and traffic
     * reschedules it only when a deadline moves earlier (at most once per silence).
     */
    private void armTimer(long at) {
        if (at >= timerAt || closing) {
            return;
        }
        if (timer != null) {
            timer.cancel(false);
        }
        timerAt = at;
        if (onTimer == null) {
            onTimer = this::onTimer;
        }
        timer = loop().schedule(onTimer, Math.max(0, at - System.nanoTime()), NANOSECONDS);
    }

    private void onTimer() {
        timer = null;
        timerAt = NO_TIMER;
        if (closing) {
            return;
        }
        long now = System.nanoTime();
        long next = NO_TIMER;
        Direction up = up();
        Direction down = down();
        if (idleNanos > 0) {
            long quiet = now - lastActivityNanos;
            // Kernel-only bytes never reach us: ask the kernel when each such source last received data.
            quiet = Math.min(quiet, up.kernelQuietNanos());
            if (down != null) {
                quiet = Math.min(quiet, down.kernelQuietNanos());
            }
            if (quiet >= idleNanos) {
                log.debug("connection idle vip={} client={} backend={} idle_ms={}", vip.name(), clientForLog(),
                        backend, NANOSECONDS.toMillis(idleNanos));
                closing = true;
                closeIdle();
                return;
            }
            next = now + idleNanos - quiet;
        }
        if (watch != null && down != null) {
            long waited = watch.check(now, up, down, clientWritable());
            if (waited >= 0) {
                notifyResponseTimedOut(waited);
            }
            next = Math.min(next, watch.nextCheck(now, up, down));
        }
        armTimer(next);
    }

    private void notifyResponseTimedOut(long waited) {
        if (log.isDebugEnabled()) {
            log.debug("backend response timeout vip={} backend={} client={} waited_ms={} mode={}", vip.name(),
                    backend, clientForLog(), NANOSECONDS.toMillis(waited),
                    watch.everyRequest() ? "every_request" : "first_response");
        }
        try {
            events.responseTimedOut(vip, backend, waited);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip.name(), backend, e);
        }
    }

    // ---- the end -------------------------------------------------------------------------------

    /** Both sockets are closed: release the counters and the timer. Idempotent; returns true the first time. */
    final boolean release() {
        if (released) {
            return false;
        }
        released = true;
        untrack();
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        vip.connections().remove(this);
        vip.stats().active.decrementAndGet();
        Backend b = backend;
        if (b != null) {
            b.stats().active.decrementAndGet();
        }
        if (attempt != null) { // torn down while an attempt was in flight
            attempt.stats().active.decrementAndGet();
            attempt = null;
        }
        return true;
    }

    static int timeoutMillis(long millis) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, millis));
    }
}
