package io.tandem.core.tcp;

import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.NANOSECONDS;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ConnectTimeoutException;
import io.netty.util.concurrent.ScheduledFuture;
import io.tandem.config.AccessControl;
import io.tandem.config.BackendSource;
import io.tandem.config.Limits;
import io.tandem.config.ProxyProtocolIn;
import io.tandem.config.SniRouting;
import io.tandem.config.VipConfig;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.pool.SniSets;
import io.tandem.core.vip.ClientTracker;
import io.tandem.core.vip.Connection;
import io.tandem.core.vip.LocalErrors;
import io.tandem.core.vip.SelfLoops;
import io.tandem.core.vip.Vip;
import io.tandem.core.vip.VipStats;
import io.tandem.sys.Errno;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A proxied TCP connection, the data path's one state machine, written once over the
 * {@link TcpSocket} seam (raw epoll sockets or NIO ones below it):
 * accept → admission (the VIP's limit, self-loop arrivals) → pick (each backend's limit) →
 * connect, retried on another backend → relay, one {@link Flow} per direction (copy, splice or
 * auto) → half-close and reset propagation → close. Around it: passive health signals (keeping
 * the node's own resource errors out of them, {@link Errno}), self-loop detection
 * ({@link SelfLoops}), the PROXY protocol header, the TLS ClientHello peek of {@code sni} routing
 * ({@link ClientHelloParser}: admitted, then the pick waits for the server name), the connect
 * timeout, and one timer for the idle timeout and the {@link ResponseWatch}.
 *
 * <p><b>Copy</b>: a read lands in the loop's {@link Scratch} and is written to the target at once;
 * only what the target does not take is kept (a pooled buffer of the remainder), and the source
 * is then not read again until the target has taken it. So a direction holds at most one read,
 * and an idle connection holds no buffer. <b>Splice</b>: socket to the direction's own
 * {@link Pipe} to socket, the bytes never entering the JVM, with the pipe as the backlog.
 * <b>Auto</b>: copy until a direction has carried {@link #AUTO_SPLICE_AFTER} bytes in a read burst
 * of {@link #AUTO_SPLICE_MIN_BURST}, then splice. Every byte passes through our own calls either
 * way, so counters, the idle clock and the response watch treat the modes alike.
 *
 * <p><b>Readiness</b> is edge-style ({@link TcpSocket}): a direction reads while its source has
 * input not yet used up, and picks reading up again by itself when its target took the backlog
 * or when its per-event budget ran out (a task on the loop, after other sockets had their turn).
 *
 * <p><b>Ends</b>: a source's EOF becomes a {@code shutdown(SHUT_WR)} of its target once every
 * byte before it was written (half-close is propagated both ways); when the second direction
 * ends, both sockets are closed (the close sends that direction's FIN). Any error (a reset, a
 * broken pipe, a timeout, a cut by the control loop) resets both peers (SO_LINGER 0), so neither
 * mistakes a cut stream for a complete one.
 *
 * <p>Confined to its event loop; other threads reach it only through {@link #reset()} and
 * {@link #backend()}.
 */
final class TcpConnection implements Connection, TcpSocket.Owner, LateIdleTimers.Armable {
    private static final Logger log = LoggerFactory.getLogger(TcpConnection.class);
    /**
     * {@code relay: auto} switches a direction to splice after this many bytes. 64 KiB: below it
     * (handshakes, small request/response) copying costs less than splice's setup; above it the
     * stream is bulk and splice saves the CPU of copying through the JVM. Per direction, so a
     * large download splices while its small request stays on copy.
     */
    static final long AUTO_SPLICE_AFTER = 64 * 1024;
    /**
     * ... and only from a read burst of at least this many bytes: keep-alive traffic of small
     * messages passes 64 KiB on a long connection too, but splicing a few hundred bytes costs more
     * than copying them.
     */
    static final int AUTO_SPLICE_MIN_BURST = 16 * 1024;
    /** Reads (or splices) per readiness event and direction before other sockets get their turn. */
    static final int READS_PER_EVENT = 16;
    /** Bytes asked of one splice into the pipe; the pipe's capacity (64 KiB by default) is the real limit. */
    private static final int SPLICE_CHUNK = 1 << 20;
    private static final long NEVER = Long.MAX_VALUE;
    private static final long NO_TIMER = Long.MAX_VALUE;
    /** Looks at an arrival that may be our own unregistered socket: {@link #putOffArrival}. */
    private static final int MAX_ARRIVAL_PUT_OFFS = 5;
    private static final ClosedChannelException RESET_REQUESTED = new StacklessClosed("reset requested");

    private final VipOnLoop home;
    /**
     * The VIP's snapshot at accept: this connection keeps it for its life, except that a retry
     * moves to a newer snapshot of the same configuration ({@link #newerSnapshotForRetry}).
     */
    private BackendPool pool;
    /**
     * What {@link #pick} picks from: {@link #pool}, or with {@code sni} the pool of the backend set
     * the client's ClientHello chose (from the same snapshot).
     */
    private BackendPool picks;
    /** The {@code sni} backend set {@link #picks} is of (0: the default, or no {@code sni}). */
    private int picksSet;
    /** {@code sni}: waiting for the TLS ClientHello (admitted; nothing picked or connected meanwhile). */
    private boolean awaitingHello;
    /** {@code sni}: the hello parser while {@link #awaitingHello}; the peeked bytes are in {@link #headerIn}. */
    private ClientHelloParser hello;
    final TcpSocket client;
    /**
     * The client's address when the VIP needs it (hashing policy, PROXY header, self-loop checks),
     * else null. With {@code proxy_protocol_in}: the peer's until its header is read, then the
     * address the header carried.
     */
    private InetSocketAddress remote;
    /**
     * PROXY protocol in and {@code sni}: the bytes read until the header (and the ClientHello) is
     * complete, and whatever followed; relayed to the backend ahead of everything else. Else null.
     */
    private ByteBuf headerIn;
    /** Waiting for the PROXY protocol header (nothing is admitted, picked or connected meanwhile). */
    private boolean awaitingHeader;
    /** The destination an incoming PROXY header carried: passed on in ours; null: the listener's. */
    private InetSocketAddress carriedDestination;
    /** This connection's count in its client's per-client limits; null when none applies. */
    private ClientTracker.Slot clientSlot;
    /** Null unless the VIP has a response timeout. */
    private final ResponseWatch watch;
    /** Client to backend. */
    private final Flow up;
    /** Backend to client; null until the backend is connected. */
    private Flow down;
    /** The backend's socket: connecting while {@link #down} is null, connected after. */
    private TcpSocket server;
    /** Created on the first armed timer (most connections end before theirs is armed). */
    private Runnable onTimer;
    /** Backends that failed or were full for this connection; empty (and unallocated) for most. */
    private List<Backend> tried = List.of();
    /** Set once the backend is connected; read by the control loop (close on backend down, drain). */
    private volatile Backend backend;
    /** The backend of the attempt in progress (its active count is reserved). */
    private Backend attempt;
    private int attempts;
    /** How this flow entered the node when it came from one of our own outbound sockets; null: from outside. */
    private SelfLoops.Hop arrivedVia;
    /** What {@link SelfLoops#check} said about the attempt in progress. */
    private SelfLoops.Check attemptCheck = SelfLoops.Check.NONE;
    /** The tracked outbound socket of this connection: its local address and hop; null when none. */
    private InetSocketAddress trackedLocal;
    private SelfLoops.Hop trackedHop;
    private ScheduledFuture<?> timer;
    private ScheduledFuture<?> connectTimer;
    private long lastActivityNanos;
    /** When it was admitted ({@link TcpLoop#nanoTime}) and its id: what the admin API lists. */
    private long admittedNanos;
    private long id;
    private long connectStart;
    /** How long the connect to {@link #backend} took, and when it completed. */
    private long connectNanos;
    private long connectedAt;
    /** When the first client byte was relayed to the backend, once {@link #clientSent} (any long: nanoTime). */
    private long firstSentAt;
    private boolean clientSent;
    /** The backend sent its first byte. */
    private boolean answered;
    /** This connection was reported as ended by the backend before any answer (once at most). */
    private boolean reportedUnanswered;
    /**
     * The socket whose operation threw first: tells a reset by the backend from one by the client.
     * Written on the error path only.
     */
    private TcpSocket failedSocket;
    /** When the pending timer fires ({@link #NO_TIMER}: none pending). */
    private long timerAt = NO_TIMER;
    /** The attempt in progress is counted in {@link SelfLoops#pending} (until its socket is tracked). */
    private boolean pendingTrack;
    /** How often the arrival was put off already ({@link #putOffArrival}). */
    private byte arrivalPutOffs;
    private boolean anyBackendAtLimit;
    private boolean anyConnectFailed;
    private boolean closing;
    private boolean released;

    TcpConnection(VipOnLoop home, BackendPool pool, TcpSocket client, InetSocketAddress remote) {
        this.home = home;
        this.pool = pool;
        this.picks = pool;
        this.client = client;
        this.remote = remote;
        this.watch = ResponseWatch.of(pool.config());
        this.up = new Flow(client, home.vip.stats().bytesIn, spliceAfter());
    }

    private VipConfig config() {
        return pool.config();
    }

    private Vip vip() {
        return home.vip;
    }

    private long spliceAfter() {
        if (!home.loop.canSplice()) {
            return NEVER;
        }
        return switch (config().relay()) {
            case COPY -> NEVER;
            case SPLICE -> 0;
            case AUTO -> AUTO_SPLICE_AFTER;
        };
    }

    private long idleNanos() {
        return config().timeouts().idle().toNanos();
    }

    // ---- Connection ----------------------------------------------------------------------------

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public void reset() {
        home.loop.executor.execute(() -> abort(RESET_REQUESTED));
    }

    @Override
    public java.util.concurrent.CompletableFuture<Boolean> resetIfArrivedOn(java.net.InetAddress local) {
        var done = new java.util.concurrent.CompletableFuture<Boolean>();
        try {
            home.loop.executor.execute(() -> {
                InetSocketAddress here = null;
                if (!released) {
                    try {
                        here = client.localAddress(); // getsockname: only when an address is released
                    } catch (RuntimeException e) {
                        here = null; // the socket is gone: the connection is ending anyway
                    }
                }
                boolean hit = here != null && local.equals(here.getAddress());
                if (hit) {
                    abort(RESET_REQUESTED);
                }
                done.complete(hit);
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            done.complete(false); // the loop is shutting down: the connection goes with it
        }
        return done;
    }

    @Override
    public java.util.concurrent.Executor loop() {
        return home.loop.executor;
    }

    @Override
    public Described describe() {
        if (released) {
            return null;
        }
        InetSocketAddress peer;
        try {
            peer = peerAddress();
        } catch (RuntimeException e) {
            peer = null; // the socket closed meanwhile: listed without it
        }
        return new Described(id, peer, backend, home.loop.nanoTime() - admittedNanos, up.counted,
                down == null ? 0 : down.counted);
    }

    /** The event loop this connection lives on (tests). */
    io.netty.channel.EventLoop executor() {
        return home.loop.executor;
    }

    /** Whether client bytes wait in the proxy for the backend to take them (on the loop; tests). */
    boolean clientBytesWaiting() {
        return up.hasBacklog();
    }

    // ---- accept --------------------------------------------------------------------------------

    /**
     * Accepted on this loop: admit, register the client socket (its input, FIN or reset during
     * the connect is remembered in its flags and handled once the backend is there), connect.
     */
    void open() {
        if (putOffArrival()) {
            return; // maybe from one of our own sockets not registered yet: decided a moment later
        }
        ProxyProtocolIn in = config().proxyProtocolIn();
        if (in.enabled()) {
            expectHeader(in);
            return;
        }
        if (!admit(true)) {
            home.ended(); // counted when accepted
            return;
        }
        try {
            client.register(this);
        } catch (IOException | RuntimeException e) {
            abort(e);
            return;
        }
        pickOrPeek();
    }

    /** Admitted: picks a backend now, or with {@code sni} once the ClientHello said where to. */
    private void pickOrPeek() {
        if (config().sni().enabled()) {
            expectHello(config().sni());
        } else {
            pickAndConnect();
        }
    }

    private void pickAndConnect() {
        Backend first = pick();
        if (first == null) {
            refuse();
        } else {
            connectUnlessLoop(first);
        }
    }

    /**
     * Admits the accepted client: counts it against the VIP's limit. Returns false when it is
     * refused: the VIP is at its limit (the client is closed and counted), or the client is one of
     * our own sockets on a flow that already passed through this VIP (reset).
     */
    private boolean admit(boolean checkSelfLoop) {
        if (checkSelfLoop && SelfLoops.watching(SelfLoops.Proto.TCP) && arrivedInLoop()) {
            return false;
        }
        VipStats stats = vip().stats();
        AccessControl acl = config().acl();
        if (!acl.isOpen()) {
            InetAddress from = clientAddress();
            if (from == null || !acl.allows(from)) {
                // Refused before any backend hears of it, with a reset: the client learns at
                // once, and nothing of the connection is kept (HAProxy `tcp-request connection reject`).
                stats.aclRefused.increment();
                log.debug("connection refused vip={} reason=acl client={}", vip().name(), clientForLog());
                closing = true;
                released = true; // never counted as a live connection
                client.resetAndClose();
                return false;
            }
        }
        Limits.PerClient perClient = config().limits().perClient();
        if (perClient.enabled()) {
            InetAddress from = clientAddress();
            if (from != null) {
                ClientTracker.Admission a = vip().clients().admit(from, perClient, home.loop.nanoTime());
                if (a.slot() == null) {
                    refusedForClient(a.refusal(), perClient);
                    return false;
                }
                clientSlot = a.slot();
            }
        }
        int max = config().limits().maxConnections();
        int n = stats.active.incrementAndGet();
        if (max > 0 && n > max) {
            stats.active.decrementAndGet();
            releaseClientSlot();
            stats.limitHits.increment();
            if (home.warn.tryAcquire()) {
                log.warn("connection refused vip={} limit=max_connections max={} client={}", vip().name(), max,
                        clientForLog());
            }
            closing = true;
            released = true; // never counted as a live connection
            client.closeNow();
            return false;
        }
        stats.totalConnections.increment();
        lastActivityNanos = home.loop.nanoTime();
        admittedNanos = lastActivityNanos;
        id = home.loop.nextConnectionId();
        vip().connections().add(this);
        return true;
    }

    // ---- PROXY protocol in ----------------------------------------------------------------------

    /**
     * {@code proxy_protocol_in}: the peer may send a header at all ({@code from}, checked on the
     * peer's own address), then the client socket waits for it, bounded by {@code timeout}. Nothing
     * else happens before it: admission ({@code acl}, per-client limits, the VIP's limit) and the
     * pick judge the address the header carries.
     */
    private void expectHeader(ProxyProtocolIn in) {
        if (SelfLoops.watching(SelfLoops.Proto.TCP) && arrivedInLoop()) {
            home.ended();
            return;
        }
        InetAddress peer = remote == null ? null : remote.getAddress();
        if (!in.from().isOpen() && (peer == null || !in.from().allows(peer))) {
            refuseHeader("peer not in proxy_protocol_in.from", true);
            return;
        }
        try {
            client.register(this); // its input is reported to ready(), which reads the header
        } catch (IOException | RuntimeException e) {
            refuseHeader("register: " + e, true);
            return;
        }
        awaitingHeader = true;
        try {
            connectTimer = home.loop.executor.schedule(() -> {
                if (awaitingHeader && !closing) {
                    refuseHeader("no complete PROXY header within " + in.timeout().toMillis() + " ms", true);
                }
            }, in.timeout().toNanos(), NANOSECONDS);
        } catch (RejectedExecutionException e) {
            refuseHeader("loop shutting down", true);
        }
    }

    /** Reads what the client sent toward its header; decides once it is complete or cannot be one. */
    private void readHeader() {
        Scratch scratch = home.loop.scratch;
        try {
            for (;;) { // bounded: each read adds at least a byte, and a header is decided within maxLength bytes
                int n = client.read(scratch);
                if (n == 0) {
                    return; // the rest comes with the next readiness
                }
                if (n < 0) {
                    refuseHeader("the client closed before its PROXY header ended", false);
                    return;
                }
                if (headerIn == null) {
                    headerIn = home.loop.alloc.directBuffer(Math.max(256, n));
                }
                headerIn.writeBytes(scratch.buffer.duplicate().position(0).limit(n));
                ProxyHeaderParser.Result r = ProxyHeaderParser.parse(headerIn, config().proxyProtocolIn().maxLength());
                if (r instanceof ProxyHeaderParser.Malformed m) {
                    refuseHeader(m.why(), true);
                    return;
                }
                if (r instanceof ProxyHeaderParser.Parsed p) {
                    headerRead(p);
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            refuseHeader(String.valueOf(e.getMessage()), e instanceof IOException);
        }
    }

    /** The header is in: the carried client stands for this connection from now on; admit, pick, connect. */
    private void headerRead(ProxyHeaderParser.Parsed p) {
        awaitingHeader = false;
        cancelConnectTimer();
        headerIn.skipBytes(p.length());
        if (!headerIn.isReadable()) {
            headerIn.release();
            headerIn = null; // nothing followed the header yet
        }
        if (p.source() != null) {
            remote = p.source();
            carriedDestination = p.destination();
        }
        if (!admit(false)) {
            freeHeaderBytes();
            home.ended();
            return;
        }
        pickOrPeek();
    }

    /** A connection without a valid PROXY header: reset ({@code malformed}) or closed, counted, never admitted. */
    private void refuseHeader(String why, boolean reset) {
        awaitingHeader = false;
        cancelConnectTimer();
        freeHeaderBytes();
        vip().stats().proxyHeaderRefused.increment();
        log.debug("connection refused vip={} reason=proxy_header why=\"{}\" peer={}", vip().name(), why,
                clientForLog());
        closing = true;
        released = true; // never counted as a live connection
        if (reset) {
            client.resetAndClose();
        } else {
            client.closeNow();
        }
        home.ended();
    }

    // ---- SNI: the TLS ClientHello peek --------------------------------------------------------------

    /**
     * {@code sni}: the admitted client is read until its ClientHello names a server (or cannot),
     * bounded by {@code sni.timeout} and {@code sni.max_length}; every byte read is kept in
     * {@link #headerIn} and relayed to the chosen backend unchanged, ahead of the rest.
     */
    private void expectHello(SniRouting sni) {
        awaitingHello = true;
        hello = new ClientHelloParser(sni.maxLength());
        try {
            connectTimer = home.loop.executor.schedule(() -> {
                connectTimer = null;
                if (awaitingHello && !closing) {
                    helloTimedOut(sni);
                }
            }, sni.timeout().toNanos(), NANOSECONDS);
        } catch (RejectedExecutionException e) {
            refuseHello(null, "loop shutting down");
            return;
        }
        if (headerIn != null && judgeHello()) {
            return; // the hello came with the PROXY header
        }
        if (client.readable()) {
            readHello();
        } // else: the client's input is reported to ready()
    }

    /** Reads what the client sent toward its hello; routes once it is judged. */
    private void readHello() {
        Scratch scratch = home.loop.scratch;
        try {
            for (;;) { // bounded: each read adds a byte at least, and the hello is judged within max_length
                int n = client.read(scratch);
                if (n == 0) {
                    return; // the rest comes with the next readiness
                }
                if (n < 0) {
                    // Gone before its hello ended: nothing to route, and nobody to tell.
                    log.debug("connection closed vip={} reason=sni why=\"the client closed before its ClientHello "
                            + "ended\" client={}", vip().name(), clientForLog());
                    awaitingHello = false;
                    closing = true;
                    teardown();
                    return;
                }
                if (headerIn == null) {
                    headerIn = home.loop.alloc.directBuffer(Math.max(512, n));
                }
                headerIn.writeBytes(scratch.buffer.duplicate().position(0).limit(n));
                if (judgeHello()) {
                    return;
                }
            }
        } catch (IOException | RuntimeException e) {
            abort(e);
        }
    }

    /** Judges the bytes peeked so far; true once the connection is routed or refused. */
    private boolean judgeHello() {
        SniRouting sni = config().sni();
        VipStats stats = vip().stats();
        return switch (hello.feed(headerIn)) {
            case ClientHelloParser.NeedMore n -> false;
            case ClientHelloParser.ServerName n -> {
                routeHello(pool.sni().names().set(n.name()), n.name());
                yield true;
            }
            case ClientHelloParser.None n -> {
                unnamed(sni, stats.sniMissingRefused, n.why());
                yield true;
            }
            case ClientHelloParser.Malformed m -> {
                unnamed(sni, stats.sniMalformedRefused, m.why());
                yield true;
            }
        };
    }

    /** No name to route on: the default set, or a reset ({@code on_malformed: reject}). */
    private void unnamed(SniRouting sni, LongAdder refused, String why) {
        if (sni.rejectsUnnamed()) {
            refuseHello(refused, why);
        } else {
            log.debug("sni default vip={} why=\"{}\" client={}", vip().name(), why, clientForLog());
            routeHello(0, null);
        }
    }

    private void helloTimedOut(SniRouting sni) {
        unnamed(sni, vip().stats().sniTimeoutRefused, "no complete ClientHello within " + sni.timeout().toMillis()
                + " ms");
    }

    /** The hello chose backend set {@code set} (0: the VIP's own backends): pick and connect there. */
    private void routeHello(int set, String serverName) {
        awaitingHello = false;
        hello = null;
        cancelConnectTimer();
        SniSets sets = pool.sni();
        if (set == 0 && !sets.hasDefault()) {
            refuseHello(vip().stats().sniNoRouteRefused, serverName == null ? "no default backends"
                    : "no route for server name " + serverName + " and no default backends");
            return;
        }
        String route = SniSets.routeName(config().sni(), set);
        vip().stats().sniRoutes.routed(route);
        if (log.isDebugEnabled()) {
            log.debug("sni route vip={} server_name={} route={} client={}", vip().name(), serverName, route,
                    clientForLog());
        }
        picksSet = set;
        picks = pool.sniSet(set);
        pickAndConnect();
    }

    /** Refused by {@code sni}: reset, counted ({@code refused}: null when not a refusal of the client's). */
    private void refuseHello(LongAdder refused, String why) {
        awaitingHello = false;
        hello = null;
        if (refused != null) {
            refused.increment();
        }
        log.debug("connection refused vip={} reason=sni why=\"{}\" client={}", vip().name(), why, clientForLog());
        closing = true;
        cancelConnectTimer();
        freeHeaderBytes();
        resetClient();
    }

    private void freeHeaderBytes() {
        if (headerIn != null) {
            headerIn.release();
            headerIn = null;
        }
    }

    /**
     * A per-client limit refused this client: reset at once (HAProxy {@code tcp-request connection
     * reject} on a stick-table counter), counted by reason, and said at WARN at most once a second
     * per VIP (a client over its limit is often hammering).
     */
    private void refusedForClient(ClientTracker.Refusal why, Limits.PerClient limits) {
        VipStats stats = vip().stats();
        (why == ClientTracker.Refusal.CLIENT_RATE ? stats.clientRateRefused : stats.clientConnectionsRefused).increment();
        if (home.warn.tryAcquire()) {
            log.warn("connection refused vip={} reason={} limit={} client={}", vip().name(), why.label(),
                    why == ClientTracker.Refusal.CLIENT_RATE ? limits.maxRate() + "/s" : limits.maxConnections(),
                    clientForLog());
        }
        closing = true;
        released = true; // never counted as a live connection
        client.resetAndClose();
    }

    private void releaseClientSlot() {
        ClientTracker.Slot slot = clientSlot;
        if (slot != null) {
            clientSlot = null;
            vip().clients().release(slot);
        }
    }

    /**
     * Before {@link #admit}: a client from an address of this host, while one of our own connects
     * to be tracked has not registered its socket yet, may be that very socket (the kernel queued
     * the connection during the connect call, and this loop accepted it first). Its admission is
     * put off while that stays so, 1, 2, 4, 8 then 16 ms (31 ms at most): once was not enough on
     * a loaded machine, where the connecting loop can be descheduled between its connect call and
     * the registration for longer than a millisecond (SelfLoopIT then saw the loop caught one hop
     * late, after the arrival side had reset the connect: a connect failure blamed on a backend).
     * A pending registration lasts microseconds, so a client that is not ours is almost never put
     * off more than once. True when put off.
     */
    private boolean putOffArrival() {
        if (arrivalPutOffs >= MAX_ARRIVAL_PUT_OFFS || !SelfLoops.watching(SelfLoops.Proto.TCP)
                || !SelfLoops.unsure(SelfLoops.Proto.TCP, peerAddress())) {
            return false;
        }
        long delayMillis = 1L << arrivalPutOffs;
        arrivalPutOffs++;
        try {
            home.loop.executor.schedule(this::open, delayMillis, MILLISECONDS);
        } catch (RejectedExecutionException e) {
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
        if (!from.visits(vip())) {
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

    /** The client's address, for hashing policies; null when the VIP does not need it. */
    private InetAddress clientAddress() {
        return remote == null ? null : remote.getAddress();
    }

    private Object clientForLog() {
        return remote != null ? remote : client.remoteAddress(); // getpeername: logs only
    }

    /** The client's socket address (self-loop checks; only asked while {@link SelfLoops#watching}). */
    private InetSocketAddress peerAddress() {
        return remote != null ? remote : client.remoteAddress();
    }

    // ---- pick and connect ----------------------------------------------------------------------

    /**
     * The policy's choice among backends not yet tried and not at their connection limit. The
     * backend's active count is reserved here (not on connect success) so concurrent accepts on
     * other loops cannot overshoot {@code max_connections_per_backend}; it is released when the
     * attempt fails or the connection ends.
     */
    private Backend pick() {
        int perBackend = config().limits().maxConnectionsPerBackend();
        InetAddress clientAddress = clientAddress();
        BackendPool from = picks;
        for (int i = 0; i <= from.backends().size(); i++) {
            Backend b = from.pick(clientAddress, tried);
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

    /**
     * Before a retry: when the VIP published a newer snapshot of the same configuration since this
     * connection was admitted (only membership, health or weights changed), pick from that one.
     * A connect that failed or timed out often coincides with the control loop taking backends
     * out (a zone blackholed: its second backend would cost one more connect timeout; seen in
     * {@code perf/zone-failover}). A reload's new configuration is not taken midway: the
     * connection was admitted, limited and routed under the old one. Backends compare equal
     * across snapshots, so {@link #tried} still excludes the ones that failed.
     */
    private void newerSnapshotForRetry() {
        BackendPool now = vip().pool();
        if (now != pool && now.generation() > pool.generation() && now.config().equals(pool.config())) {
            pool = now;
            picks = now.sniSet(picksSet);
        }
    }

    private void tried(Backend b) {
        if (tried.isEmpty()) {
            tried = new ArrayList<>(2);
        }
        tried.add(b);
    }

    /**
     * Connects to {@code b} unless it leads back into a VIP of this flow: then that backend is
     * reported and skipped without a connect (not a failed attempt: nothing was sent), and the
     * next one is tried.
     */
    private void connectUnlessLoop(Backend b) {
        while (b != null) {
            SelfLoops.Check check = SelfLoops.check(SelfLoops.Proto.TCP, b.socketAddress(), vip(), arrivedVia);
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
            markArrivalLooped(); // the hop that brought the flow here is part of the loop
            selfLoop(vip(), b, "backend is a listener of this flow");
            b = pick();
        }
        refuse();
    }

    /**
     * If this client is one of our own sockets, marks its hop looped: if we end up refusing, the
     * VIP that connected to us must not take our reset for its backend's failure. An arrival that
     * beat its registration (admitted as a new flow) is looked up again: by now it is registered.
     */
    private void markArrivalLooped() {
        SelfLoops.Hop via = arrivedVia;
        if (via == null && SelfLoops.watching(SelfLoops.Proto.TCP)) {
            via = SelfLoops.arrivedFrom(SelfLoops.Proto.TCP, peerAddress());
        }
        if (via != null) {
            via.markLooped();
        }
    }

    private void selfLoop(Vip v, Backend b, String how) {
        v.stats().selfLoops.increment();
        if (log.isDebugEnabled()) {
            log.debug("self-loop cut vip={} backend={} how=\"{}\" client={}", v.name(), b, how, clientForLog());
        }
        try {
            home.events.selfLoop(v, b);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", v.name(), b, e);
        }
    }

    /**
     * Opens the backend's socket and starts the connect: TCP_NODELAY, the long-lived options unless
     * they are set late ({@link #lived}), registration, connect. A failure before the connect call
     * is the node's own ({@link #connectFailedLocally}).
     */
    private void connect(Backend b) {
        attempts++;
        TcpLoop loop = home.loop;
        connectStart = loop.nanoTime();
        InetSocketAddress to = b.socketAddress();
        TcpSocket s;
        try {
            s = loop.newSocket(to);
        } catch (IOException | RuntimeException e) { // out of file descriptors and the like: the node's fault
            connectFailedLocally(b, e);
            return;
        }
        try {
            s.setNoDelay();
            if (!timerArmedLate()) {
                s.setLongLived(userTimeoutMillis());
            } // else: when the connection has lived a second (lived()); most end long before
            bindSource(s);
            s.register(this);
            server = s;
        } catch (IOException | RuntimeException e) { // options or registration of a fresh socket: the node's fault too
            s.closeNow();
            connectFailedLocally(b, e);
            return;
        }
        try {
            boolean connectedNow = s.connect(to);
            if (config().source().hasPorts()) {
                checkSourcePort(s);
            }
            if (tracksAttempt()) {
                InetSocketAddress local = s.localAddress(); // only for a backend that may be one of our listeners
                if (local != null) {
                    connectIssued(b, local);
                }
            }
            if (connectedNow) {
                backendConnected(b);
            } else {
                connectTimer = loop.executor.schedule(this::connectTimedOut, connectTimeoutMillis(), MILLISECONDS);
            }
        } catch (IOException | RuntimeException e) {
            failAttempt(b, e); // the backend's failure, unless the errno says the node's (connectFailed)
        }
    }

    /** {@code vips[].source}: the address (and this node's port slice) the backend connection leaves from. */
    private void bindSource(TcpSocket s) throws IOException {
        BackendSource source = config().source();
        if (source.enabled()) {
            s.bindSource(source.resolve(config().listen()).orElseThrow(), source.nodeLow(), source.nodeHigh());
        }
    }

    /**
     * The kernel takes a socket's port range only where it lies within
     * {@code net.ipv4.ip_local_port_range}, and otherwise picks from that range silently: a port
     * outside this node's slice could clash with another node's restored connections. Such a
     * connect is refused as the node's own error (EADDRNOTAVAIL: the slice is, in effect, empty).
     */
    private void checkSourcePort(TcpSocket s) throws IOException {
        InetSocketAddress local = s.localAddress();
        BackendSource source = config().source();
        if (local != null && (local.getPort() < source.nodeLow() || local.getPort() > source.nodeHigh())) {
            throw new io.tandem.sys.Errno.ErrnoException("source port " + local.getPort() + " outside this node's range "
                    + source.nodeLow() + "-" + source.nodeHigh() + " of vips[" + vip().name()
                    + "].source.ports: the kernel ignores a range outside net.ipv4.ip_local_port_range",
                    io.tandem.sys.Errno.EADDRNOTAVAIL);
        }
    }

    private int connectTimeoutMillis() {
        return clampMillis(config().timeouts().connect().toMillis());
    }

    private int userTimeoutMillis() {
        long millis = config().timeouts().userTimeout().toMillis();
        return millis > 0 ? clampMillis(millis) : 0;
    }

    static int clampMillis(long millis) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, millis));
    }

    private void connectTimedOut() {
        connectTimer = null;
        if (down == null && server != null && attempt != null && !closing) {
            failAttempt(attempt, new ConnectTimeoutException("connection timed out after " + connectTimeoutMillis()
                    + " ms: " + attempt.socketAddress()));
        }
    }

    /** Readiness on the connecting backend socket: connected, still in progress, or failed. */
    private void connectReady(int events) {
        Backend b = attempt;
        boolean done;
        try {
            done = server.finishConnect(b.socketAddress(), events);
        } catch (IOException | RuntimeException e) {
            failAttempt(b, e);
            return;
        }
        if (done) {
            backendConnected(b);
        }
    }

    private void failAttempt(Backend b, Throwable cause) {
        cancelConnectTimer();
        if (server != null) {
            server.closeNow();
            server = null;
        }
        connectFailed(b, cause, home.loop.nanoTime() - connectStart);
    }

    private void cancelConnectTimer() {
        if (connectTimer != null) {
            connectTimer.cancel(false);
            connectTimer = null;
        }
    }

    /**
     * The socket of the attempt to {@code b} has its local address: when the backend may be one of
     * our listeners, registers it so its arrival there is recognised. Not when the attempt already
     * ended (a connect that failed at once).
     */
    private void connectIssued(Backend b, InetSocketAddress local) {
        if (tracksAttempt() && trackedLocal == null && !closing && (attempt == b || backend == b)) {
            trackedHop = new SelfLoops.Hop(vip(), b, arrivedVia);
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

    /** Whether the local address of the attempt in progress must be tracked ({@link #connectIssued}). */
    private boolean tracksAttempt() {
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
     * The attempt to {@code b} succeeded: it is this connection's backend now. Both directions
     * start; the PROXY header goes first, ahead of every client byte (the client is not read while
     * it is queued), then what the client sent meanwhile (or its FIN), and what a backend that
     * speaks first already sent.
     */
    private void backendConnected(Backend b) {
        cancelConnectTimer();
        connectedAt = home.loop.nanoTime();
        long elapsed = connectedAt - connectStart;
        connectNanos = elapsed;
        b.stats().connectTime.record(elapsed);
        if (tracksAttempt() && trackedLocal == null) {
            InetSocketAddress local = server.localAddress(); // NIO knows it only once connected
            if (local != null) {
                connectIssued(b, local);
            }
        }
        connected(b, elapsed);
        down = new Flow(server, vip().stats().bytesOut, spliceAfter());
        down.start(client, b.stats().bytesIn);
        up.start(server, b.stats().bytesOut);
        ByteBuf header = ProxyProtocolHeader.encode(config().proxyProtocol(), remote, remote == null ? null
                : carriedDestination != null ? carriedDestination
                : home.boundAddress != null ? home.boundAddress : client.localAddress(), home.loop.alloc);
        ByteBuf early = headerIn; // client bytes read with its PROXY header or its ClientHello (sni)
        headerIn = null;
        if (early != null) {
            up.countEarly(early.readableBytes());
            if (header != null) { // one contiguous buffer: the sockets write from a single address
                ByteBuf both = home.loop.alloc.directBuffer(header.readableBytes() + early.readableBytes());
                both.writeBytes(header).writeBytes(early);
                header.release();
                early.release();
                header = both;
            } else {
                header = early;
            }
        }
        startTimer();
        try {
            if (header != null) {
                up.queue(header);
                up.flush(); // then reads what the client sent meanwhile
            } else if (client.readable()) {
                up.read(); // what the client sent (or its FIN) while we connected
            }
            if (!closing && server.readable()) {
                down.read(); // a server that speaks first
            }
        } catch (IOException | RuntimeException e) {
            abort(e);
        }
    }

    /** Bookkeeping of a successful attempt to {@code b}, and the close_on_backend_down self-check. */
    private void connected(Backend b, long elapsed) {
        attempt = null;
        backend = b; // volatile write, then the volatile read of the current snapshot below
        b.stats().totalConnections.increment();
        if (vip().pool().cuts(b)) {
            // Picked from an older snapshot, and the backend went down (close_on_backend_down)
            // since: the control loop's sweep after the publish may have missed this connection,
            // because it had no backend yet. Either the sweep sees our backend or we see its
            // snapshot. reset() runs on this loop after the current event.
            reset();
        }
        try {
            home.events.connected(vip(), b, elapsed);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip().name(), b, e);
        }
    }

    /**
     * The attempt to {@code b} failed: report it, then retry on another backend or refuse the
     * client. A failure of the node's own ({@link Errno#local}: out of descriptors, memory or
     * source ports) is not the backend's: see {@link #localFailure}.
     */
    private void connectFailed(Backend b, Throwable cause, long elapsed) {
        if (trackedHop != null && trackedHop.looped()) {
            // Our own arrival side reset this connect: the backend leads back into this node
            // (reported there). Not the backend's failure, and nothing was sent: try another.
            untrack();
            endAttempt(b);
            tried(b);
            // The flow loops on from here, so it looped through the hop that brought it.
            markArrivalLooped();
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
            home.events.connectFailed(vip(), b, cause, elapsed);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip().name(), b, e);
        }
        if (log.isDebugEnabled()) {
            log.debug("backend connect failed vip={} backend={} attempt={} after_ms={} cause=\"{}\"", vip().name(), b,
                    attempts, NANOSECONDS.toMillis(elapsed), cause);
        }
        if (closing) {
            return;
        }
        if (attempts <= config().retries()) {
            newerSnapshotForRetry();
            Backend next = pick();
            if (next != null) {
                vip().stats().connectRetries.increment();
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
    private void connectFailedLocally(Backend b, Throwable cause) {
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
        vip().localErrors().record(LocalErrors.Op.CONNECT, errno, cause, "client reset");
        if (closing) {
            return;
        }
        closing = true;
        resetClient();
    }

    /** Gives back the active count reserved for the attempt to {@code b}, unless {@link #release} already did. */
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
            vip().stats().limitHits.increment();
        } else {
            vip().stats().noBackend.increment();
        }
        if (home.warn.tryAcquire()) {
            log.warn("connection refused vip={} reason={} backends={} tried={} client={}", vip().name(),
                    limitOnly ? "max_connections_per_backend" : "no_backend", picks.backends().size(), tried.size(),
                    clientForLog());
        }
        closing = true;
        resetClient();
    }

    // ---- readiness -----------------------------------------------------------------------------

    @Override
    public void ready(TcpSocket s, int events) {
        if (closing) {
            return;
        }
        if (awaitingHeader) {
            if (s == client) {
                readHeader();
            }
            return;
        }
        if (awaitingHello) {
            if (s == client) {
                readHello();
            }
            return;
        }
        if (down == null) { // still connecting
            if (s == server) {
                connectReady(events);
            } else if ((events & TcpSocket.ERROR) != 0) {
                abort(s.pendingError()); // the client reset: no use finishing the connect
            }
            return; // the client's input and FIN are remembered in its flags until then
        }
        Flow out = s == client ? up : down;  // s is its source
        Flow in = s == client ? down : up;   // s is its target
        try {
            boolean acted = false;
            if (s.writable() && in.hasBacklog()) {
                in.flush(); // throws the socket's error, if any; reads on if the backlog went out
                acted = true;
            }
            if (closing) {
                return;
            }
            if (s.readable() && out.wantsRead()) {
                out.read(); // throws the socket's error, if any
            } else if ((events & TcpSocket.ERROR) != 0 && !acted) {
                // An error on a socket we are neither reading nor writing now (a reset while the
                // other side is slow): edge-triggered, it would not be reported again.
                throw failed(s, s.pendingError());
            }
        } catch (IOException | RuntimeException e) {
            abort(e);
        }
    }

    @Override
    public void loopClosed(TcpSocket socket) {
        // The event loop is shutting down: it closes the descriptors, we free the rest.
        if (awaitingHeader) { // never admitted: nothing counted to release
            awaitingHeader = false;
            cancelConnectTimer();
            freeHeaderBytes();
            closing = true;
            released = true;
            client.closeNow();
            home.ended();
            return;
        }
        closing = true;
        client.closeNow();
        if (server != null) {
            server.closeNow();
        }
        cleanup();
    }

    // ---- activity and the connection timer: idle timeout and response timeout -----------------

    /** {@code from}'s source sent bytes that are on their way to its target. Per read: keep it cheap. */
    private void relayed(Flow from) {
        long now = home.loop.nanoTime();
        lastActivityNanos = now;
        if (from == up) {
            if (!clientSent) {
                clientSent = true;
                firstSentAt = now;
            }
        } else if (!answered) {
            answered(now);
        }
        if (watch != null) {
            if (from == up) {
                watch.clientSent(now);
            } else {
                watch.backendSent();
            }
            armTimer(watch.nextCheck());
        }
    }

    /** {@code from}'s source sent its FIN. A backend that closes is not hung: that ends its silence. */
    private void inputShutdown(Flow from) {
        if (from == down && !answered && !up.inputDone) {
            unanswered(false); // closed before any answer while the client still had its say
        }
        if (watch != null && from == down) {
            watch.backendSent();
            armTimer(watch.nextCheck());
        }
    }

    // ---- gray failures: the backend's first byte, its latency, and an end before it ------------

    /**
     * The backend's first byte on this connection, at {@code now}: ends its streak of unanswered
     * connections (told to the control loop only when there was one: one atomic read otherwise)
     * and, with latency ejection on, adds this connection's latency to the backend's counters:
     * the connect time plus the wait from the client's first byte (or from the connect, when the
     * backend spoke first) to the backend's first. Once per connection; no allocation.
     */
    private void answered(long now) {
        answered = true;
        Backend b = backend;
        if (b == null) {
            return;
        }
        var stats = b.stats();
        if (stats.unansweredStreak.get() > 0 && stats.unansweredStreak.getAndSet(0) > 0) {
            try {
                home.events.answered(vip(), b);
            } catch (RuntimeException e) {
                log.warn("connection event listener failed vip={} backend={}", vip().name(), b, e);
            }
        }
        long from = clientSent ? firstSentAt : connectedAt;
        long waited = Math.max(0, now - from);
        stats.firstByteTime.record(waited);
        if (config().health().outlierDetection().latency().enabled()) {
            stats.latencyNanos.add(connectNanos + waited);
            stats.latencySamples.increment();
        }
    }

    /**
     * A connection that ends unanswered after the client sent bytes still says how long the
     * backend kept it waiting, at least: without this a backend slow enough that every client
     * gives up first would have no samples, and so never be judged. Once, at release.
     */
    private void endedUnanswered() {
        Backend b = backend;
        if (answered || !clientSent || b == null || down == null
                || !config().health().outlierDetection().latency().enabled()) {
            return;
        }
        b.stats().latencyNanos.add(connectNanos + Math.max(0, home.loop.nanoTime() - firstSentAt));
        b.stats().latencySamples.increment();
    }

    /**
     * The backend ended the connection ({@code reset}, or an orderly close) before sending a byte,
     * after the client had sent some: a passive failure when the VIP's
     * {@code outlier_detection.closed_before_response} counts that kind of end. The caller has
     * made sure the client had not closed first (a reset: the error was the backend socket's; a
     * close: the client had not sent its FIN).
     */
    private void unanswered(boolean reset) {
        Backend b = backend;
        if (reportedUnanswered || answered || !clientSent || b == null || down == null) {
            return;
        }
        var od = config().health().outlierDetection();
        if (!od.enabled() || !(reset ? od.closedBeforeResponse().resets() : od.closedBeforeResponse().closes())) {
            return;
        }
        reportedUnanswered = true;
        b.stats().unansweredStreak.incrementAndGet();
        if (log.isDebugEnabled()) {
            log.debug("backend ended the connection before answering vip={} backend={} client={} how={}",
                    vip().name(), b, clientForLog(), reset ? "reset" : "close");
        }
        try {
            home.events.closedBeforeResponse(vip(), b, reset);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip().name(), b, e);
        }
    }

    /** Notes that an operation on {@code s} threw {@code e} (the first such socket is the one blamed), and returns it. */
    private IOException failed(TcpSocket s, IOException e) {
        if (failedSocket == null) {
            failedSocket = s;
        }
        return e;
    }

    /** Starts the timer once the backend is connected. */
    private void startTimer() {
        if (timerArmedLate()) {
            // Most connections end long before their idle timeout: a timer per connection (a
            // scheduled task in the loop's priority queue, cancelled at close) is wasted on them.
            // The loop arms timers for the connections still open once a second instead.
            home.loop.lateTimers.add(this);
            return;
        }
        long idle = idleNanos();
        long next = idle > 0 ? home.loop.nanoTime() + idle : NO_TIMER;
        if (watch != null) {
            next = Math.min(next, watch.nextCheck());
        }
        armTimer(next);
    }

    /**
     * Whether {@link #startTimer} leaves the idle timer to {@link LateIdleTimers} (so {@link #lived}
     * runs about a second later, if the connection is still open).
     */
    private boolean timerArmedLate() {
        return watch == null && idleNanos() >= LateIdleTimers.MIN_IDLE_NANOS;
    }

    /** {@link LateIdleTimers}: this connection has lived about a second; give it its idle timer. */
    @Override
    public void armIdleTimerLate() {
        if (!closing && !released) {
            lived();
            armTimer(lastActivityNanos + idleNanos());
        }
    }

    /**
     * SO_KEEPALIVE and TCP_USER_TIMEOUT on the backend socket only matter to a connection that
     * lives: keepalive probes start after minutes of silence, and the user timeout counts how long
     * written data stays unacknowledged. With late-armed timers they are set once the connection
     * has lived about a second, saving two setsockopt calls for every connection that ends before
     * (with a new connection per request, nearly all); idle timeouts under two seconds set them at
     * once ({@link #connect}).
     */
    private void lived() {
        if (server != null && !server.isClosed()) {
            try {
                server.setLongLived(userTimeoutMillis());
            } catch (IOException e) {
                abort(e);
            }
        }
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
        timer = home.loop.executor.schedule(onTimer, Math.max(0, at - home.loop.nanoTime()), NANOSECONDS);
    }

    private void onTimer() {
        timer = null;
        timerAt = NO_TIMER;
        if (closing) {
            return;
        }
        long now = home.loop.nanoTime();
        long next = NO_TIMER;
        long idle = idleNanos();
        if (idle > 0) {
            long quiet = now - lastActivityNanos;
            if (quiet >= idle) {
                log.debug("connection idle vip={} client={} backend={} idle_ms={}", vip().name(), clientForLog(),
                        backend, NANOSECONDS.toMillis(idle));
                closing = true;
                teardown();
                return;
            }
            next = now + idle - quiet;
        }
        if (watch != null && down != null) {
            long waited = watch.check(now, !down.hasBacklog());
            if (waited >= 0) {
                responseTimedOut(waited);
            }
            next = Math.min(next, watch.nextCheck());
        }
        armTimer(next);
    }

    private void responseTimedOut(long waited) {
        if (log.isDebugEnabled()) {
            log.debug("backend response timeout vip={} backend={} client={} waited_ms={} mode={}", vip().name(),
                    backend, clientForLog(), NANOSECONDS.toMillis(waited),
                    watch.everyRequest() ? "every_request" : "first_response");
        }
        try {
            home.events.responseTimedOut(vip(), backend, waited);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip().name(), backend, e);
        }
    }

    // ---- ends ----------------------------------------------------------------------------------

    /** Both directions ended with a FIN (or the idle timeout): close both sockets. */
    private void teardown() {
        closing = true;
        client.closeNow();
        if (server != null) {
            server.closeNow();
        }
        cleanup();
    }

    /** Tears the connection down with RST on both sides. Idempotent. */
    void abort(Throwable cause) {
        if (client.isClosed() && (server == null || server.isClosed())) {
            return; // already torn down
        }
        closing = true;
        if (trackedHop != null && trackedHop.looped()) {
            // Our backend side was one of our own flows that looped (connected before the loop was
            // caught further on): the reset we pass back is the loop's, not our backend's.
            markArrivalLooped();
        } else if (failedSocket != null && failedSocket == server) {
            unanswered(true); // the backend's own error (a reset, a broken pipe) before any answer
        }
        if (log.isDebugEnabled()) {
            log.debug("connection reset vip={} client={} backend={} cause=\"{}\"", vip().name(), clientForLog(),
                    backend, cause.toString());
        }
        client.resetAndClose();
        if (server != null) {
            server.resetAndClose();
        }
        cleanup();
    }

    /** Resets the client: no backend could take it, or it must not be served. */
    private void resetClient() {
        client.resetAndClose();
        released();
    }

    private void cleanup() {
        cancelConnectTimer();
        freeHeaderBytes();
        up.free();
        if (down != null) {
            down.free();
        }
        released();
    }

    private void released() {
        if (release()) {
            home.ended();
        }
    }

    /** Both sockets are closed: release the counters and the timer. Idempotent; returns true the first time. */
    private boolean release() {
        if (released) {
            return false;
        }
        released = true;
        untrack();
        releaseClientSlot();
        endedUnanswered();
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        vip().connections().remove(this);
        vip().stats().active.decrementAndGet();
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

    private static final class StacklessClosed extends ClosedChannelException {
        private final String message;

        StacklessClosed(String message) {
            this.message = message;
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    // ---- one direction -------------------------------------------------------------------------

    /** One direction: bytes from {@link #src} to {@link #dst}, copied or spliced, and its FIN. */
    private final class Flow {
        private final TcpSocket src;
        private final LongAdder vipBytes;
        private final long spliceAfter;
        private TcpSocket dst;
        private LongAdder backendBytes;
        /** Bytes read but not yet taken by {@link #dst} (copy), or the PROXY header. */
        private ByteBuf pending;
        private Pipe pipe;
        /** Bytes in the pipe not yet spliced to {@link #dst}. */
        private int inPipe;
        private long counted;
        private boolean splicing;
        private boolean inputDone;
        private boolean outputDone;
        private boolean resumeQueued;

        Flow(TcpSocket src, LongAdder vipBytes, long spliceAfter) {
            this.src = src;
            this.vipBytes = vipBytes;
            this.spliceAfter = spliceAfter;
            this.splicing = spliceAfter == 0;
        }

        void start(TcpSocket target, LongAdder backendBytes) {
            this.dst = target;
            this.backendBytes = backendBytes;
        }

        boolean hasBacklog() {
            return pending != null || inPipe > 0;
        }

        boolean wantsRead() {
            return dst != null && !inputDone && pending == null && inPipe == 0;
        }

        /** Queues {@code buf} (the PROXY header) ahead of anything read. */
        void queue(ByteBuf buf) {
            pending = buf;
        }

        /**
         * Reads what the source has and passes it on, until the source is empty (its readiness is
         * used up), the target is full (it waits for the target's next output readiness) or the
         * per-event budget is spent (it goes on in a task, after other sockets had their turn).
         */
        void read() throws IOException {
            if (splicing) {
                readSplice();
            } else {
                readCopy();
            }
            if (src.readable() && wantsRead() && !closing) {
                resumeLater();
            }
        }

        private void readCopy() throws IOException {
            Scratch scratch = home.loop.scratch;
            int burst = 0;
            for (int i = 0; i < READS_PER_EVENT; i++) {
                int n;
                try {
                    n = src.read(scratch); // > 0 bytes, -1 EOF, 0 nothing (readiness used up)
                } catch (IOException e) {
                    throw failed(src, e);
                }
                if (n == 0) {
                    break;
                }
                if (n < 0) {
                    eof();
                    return;
                }
                count(n);
                burst += n;
                int w;
                try {
                    w = dst.write(scratch, 0, n);
                } catch (IOException e) {
                    throw failed(dst, e);
                }
                if (w < n) {
                    keep(scratch, w, n); // the target is full: wait for its output readiness
                    return;
                }
                if (!src.readable()) {
                    break; // a short read emptied the queue
                }
            }
            if (spliceAfter != NEVER && burst >= AUTO_SPLICE_MIN_BURST && counted >= spliceAfter) {
                splicing = true; // a bulk stream (a big read burst after the first bytes): splice from now on
            }
        }

        private void readSplice() throws IOException {
            if (pipe == null) {
                pipe = home.loop.openPipe();
            }
            for (int i = 0; i < READS_PER_EVENT; i++) {
                int n;
                try {
                    n = src.spliceIn(pipe, SPLICE_CHUNK);
                } catch (IOException e) {
                    throw failed(src, e);
                }
                if (n == 0) {
                    return; // nothing queued: readiness used up
                }
                if (n < 0) {
                    eof();
                    return;
                }
                count(n);
                inPipe = n;
                try {
                    inPipe -= dst.spliceOut(pipe, n);
                } catch (IOException e) {
                    throw failed(dst, e);
                }
                if (inPipe > 0) {
                    return; // the target is full: wait for its output readiness
                }
            }
        }

        /**
         * Writes what the target did not take before. When all of it is written the direction
         * ends (the source had its EOF) or reads on: the source will not report the bytes that
         * are already queued again.
         */
        void flush() throws IOException {
            try {
                flushBacklog();
            } catch (IOException e) {
                throw failed(dst, e);
            }
        }

        private void flushBacklog() throws IOException {
            if (pending != null) {
                pending.skipBytes(dst.write(pending));
                if (pending.isReadable()) {
                    return;
                }
                pending.release();
                pending = null;
            } else if (inPipe > 0) {
                inPipe -= dst.spliceOut(pipe, inPipe);
                if (inPipe > 0) {
                    return;
                }
            }
            if (inputDone) {
                finish();
            } else if (src.readable() && dst != null) {
                read();
            }
        }

        /** The budget ran out with input left: go on after the loop has served other sockets. */
        private void resumeLater() {
            if (resumeQueued) {
                return;
            }
            resumeQueued = true;
            home.loop.executor.execute(() -> {
                resumeQueued = false;
                if (!closing && src.readable() && wantsRead()) {
                    try {
                        read();
                    } catch (IOException | RuntimeException e) {
                        abort(e);
                    }
                }
            });
        }

        private void keep(Scratch scratch, int from, int to) {
            ByteBuf rest = home.loop.alloc.directBuffer(to - from);
            rest.writeBytes(scratch.buffer.duplicate().position(from).limit(to));
            pending = rest;
        }

        /** Client bytes read with its PROXY header, before this flow started: counted as relayed. */
        void countEarly(int n) {
            count(n);
        }

        private void count(int n) {
            counted += n;
            vipBytes.add(n);
            backendBytes.add(n);
            relayed(this);
        }

        private void eof() throws IOException {
            inputDone = true;
            inputShutdown(this);
            if (!hasBacklog()) {
                finish();
            }
        }

        /** Every byte before the source's FIN was written: pass the FIN on. */
        private void finish() throws IOException {
            outputDone = true;
            Flow other = this == up ? down : up;
            if (other.outputDone) {
                // The last direction: closing both sockets sends this FIN (the other was sent),
                // and neither has unread bytes, so neither close is a reset.
                teardown();
                return;
            }
            try {
                dst.shutdownOutput();
            } catch (IOException e) {
                throw failed(dst, e);
            }
        }

        void free() {
            if (pending != null) {
                pending.release();
                pending = null;
            }
            if (pipe != null) {
                home.loop.closePipe(pipe);
                pipe = null;
            }
        }
    }
}
