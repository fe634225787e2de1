package io.tandem.core.tcp;

import io.tandem.config.ProxyProtocolVersion;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.vip.SelfLoops;
import io.tandem.core.vip.Vip;
import io.tandem.sys.RateLimitedLog;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One TCP VIP on one event loop: where its accepted connections are served, and how many live
 * there ({@link AcceptGroup} places new ones by that count). What a {@link TcpConnection} knows
 * of its listener: the VIP, who hears its passive signals, its warning limiter, the bound
 * address, its loop, and {@link #ended}.
 *
 * <p>Immutable but for the count, which other loops read.
 */
final class VipOnLoop {
    final Vip vip;
    final ConnectionEvents events;
    final RateLimitedLog warn;
    /** The bound address when it is a specific one: then it is every accepted socket's local address; else null. */
    final InetSocketAddress boundAddress;
    final TcpLoop loop;
    /**
     * Live connections of this VIP on this loop, counted from the moment one is accepted for this
     * loop (also by another loop handing it over), so a burst of accepts sees its own hand-offs.
     */
    private final AtomicInteger live = new AtomicInteger();

    VipOnLoop(Vip vip, ConnectionEvents events, RateLimitedLog warn, InetSocketAddress bound, TcpLoop loop) {
        this.vip = vip;
        this.events = events;
        this.warn = warn;
        this.boundAddress = bound != null && !bound.getAddress().isAnyLocalAddress() ? bound : null;
        this.loop = loop;
    }

    /** Whether a connection accepted now needs the client's address (hashing policy, PROXY header, ACL, per-client limits, self-loop checks). */
    static boolean needsClientAddress(BackendPool pool) {
        return pool.policy().usesClientAddress() || pool.config().proxyProtocol() != ProxyProtocolVersion.NONE
                || !pool.config().acl().isOpen() || pool.config().limits().perClient().enabled()
                || pool.config().proxyProtocolIn().enabled()
                || SelfLoops.watching(SelfLoops.Proto.TCP);
    }

    /**
     * Where a connection accepted on this loop lives: here, or (in a {@code group}) on a less
     * loaded loop. Counted there from now on.
     */
    VipOnLoop place(AcceptGroup group) {
        VipOnLoop to = group == null ? this : group.target(this);
        to.live.incrementAndGet();
        if (to != this) {
            vip.stats().acceptHandOffs.increment();
        }
        return to;
    }

    /** The hand-off to {@code to} could not run (that loop is shutting down): the connection is served here. */
    void takeBack(VipOnLoop to) {
        to.live.decrementAndGet();
        live.incrementAndGet();
    }

    /** Serves {@code client}, accepted for this loop, with the pool snapshot read at accept. On the loop. */
    void adopt(TcpSocket client, BackendPool pool, InetSocketAddress remote) {
        adopt(client, pool, remote, 0);
    }

    /**
     * A reload binds a new VIP's listener before it commits, and the kernel completes handshakes
     * from then on; the VIP's first snapshot (generation 1, with its backends) is published a moment
     * later, when the reload is applied. A client accepted in between would meet the empty
     * placeholder (generation 0) and be refused for lack of backends, so it waits for the first
     * snapshot, a millisecond at a time, at most {@link #UNPUBLISHED_WAIT_MS}.
     */
    private void adopt(TcpSocket client, BackendPool pool, InetSocketAddress remote, int waitedMs) {
        if (pool.generation() == 0 && waitedMs < UNPUBLISHED_WAIT_MS) {
            try {
                loop.executor.schedule(() -> adopt(client, vip.pool(), remote, waitedMs + 1), 1,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
                return;
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // the loop is shutting down: decide now
            }
        }
        new TcpConnection(this, pool, client, remote).open();
    }

    /** How long a connection accepted before its VIP's first snapshot waits for it (a rejected reload's listener closes). */
    static final int UNPUBLISHED_WAIT_MS = 2_000;

    /** Live connections of this VIP on this loop (any thread). */
    int live() {
        return live.get();
    }

    /** A connection of this loop ended or was not admitted (on the loop). */
    void ended() {
        live.decrementAndGet();
    }
}
