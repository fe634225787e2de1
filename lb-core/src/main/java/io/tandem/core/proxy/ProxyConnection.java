package io.tandem.core.proxy;

import static java.util.concurrent.TimeUnit.MILLISECONDS;
import static java.util.concurrent.TimeUnit.NANOSECONDS;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.EpollSocketChannelConfig;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannelConfig;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.util.concurrent.ScheduledFuture;
import io.tandem.config.VipConfig;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.Vip;
import io.tandem.core.vip.VipStats;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxied TCP connection, from accept to the close of both channels: admission (VIP and
 * backend limits), backend choice with connect retries on other backends, the two
 * {@link Relay}s, the connection timer (idle timeout and the {@link ResponseWatch} for hung
 * backends share it: one pending timer per connection at most), and teardown (graceful when both directions finished with a
 * FIN, RST otherwise so neither peer mistakes a cut stream for a complete one).
 *
 * <p>Everything runs on the client channel's event loop (the backend channel is created on it
 * too), so no field needs a lock or volatile. The pool snapshot is read once at accept and kept.
 */
final class ProxyConnection {
    private static final Logger log = LoggerFactory.getLogger(ProxyConnection.class);
    private static final long NO_TIMER = Long.MAX_VALUE;

    private final Vip vip;
    private final BackendPool pool;
    private final VipConfig config;
    private final Transport transport;
    private final ConnectionEvents events;
    private final WarnLimiter warn;
    private final Channel client;
    private final long spliceAfter;
    private final Relay up;
    /** Null unless the VIP has a response timeout. */
    private final ResponseWatch watch;
    private final long idleNanos;
    private final int connectTimeoutMillis;
    /** 0: not set (NIO has no TCP_USER_TIMEOUT). */
    private final int userTimeoutMillis;
    private final Runnable onTimer = this::onTimer;
    private final List<Backend> tried = new ArrayList<>(2);
    private Relay down;
    private Channel backendChannel;
    private Backend backend;
    private InetAddress clientAddress;
    private int attempts;
    private boolean anyConnectFailed;
    private boolean anyBackendAtLimit;
    private boolean closing;
    private boolean clientClosed;
    private boolean backendClosed;
    private boolean released;
    /** close() was called on the channel through its pipeline (by us or the control loop), not by EOF. */
    private boolean clientCloseRequested;
    private boolean backendCloseRequested;
    private long lastActivityNanos;
    private ScheduledFuture<?> timer;
    /** When the pending timer fires ({@link #NO_TIMER}: none pending). */
    private long timerAt = NO_TIMER;

    ProxyConnection(Vip vip, BackendPool pool, Transport transport, ConnectionEvents events, WarnLimiter warn,
                    Channel client) {
        this.vip = vip;
        this.pool = pool;
        this.config = pool.config();
        this.transport = transport;
        this.events = events;
        this.warn = warn;
        this.client = client;
        boolean canSplice = transport.isEpoll() && client instanceof AbstractEpollStreamChannel;
        this.spliceAfter = switch (config.relay()) {
            case COPY -> Relay.NEVER;
            case SPLICE -> canSplice ? 0 : Relay.NEVER;
            case AUTO -> canSplice ? Relay.AUTO_SPLICE_AFTER : Relay.NEVER;
        };
        this.watch = ResponseWatch.of(config);
        this.idleNanos = config.timeouts().idle().toNanos();
        this.connectTimeoutMillis = timeoutMillis(config.timeouts().connect().toMillis());
        long userTimeout = config.timeouts().userTimeout().toMillis();
        this.userTimeoutMillis = transport.isEpoll() && userTimeout > 0 ? timeoutMillis(userTimeout) : 0;
        // EVERY_REQUEST must see each client send when it happens; kernel timestamps of a spliced
        // direction cannot order a quick keep-alive request after the previous answer. Requests
        // are small in the protocols this mode fits, so copying them costs little; answers may splice.
        long upSpliceAfter = watch != null && watch.everyRequest() ? Relay.NEVER : spliceAfter;
        this.up = new Relay(this, client, vip.stats().bytesIn, upSpliceAfter);
    }

    boolean closing() {
        return closing;
    }

    Channel backendChannel() {
        return backendChannel;
    }

    /** Someone called close() on this connection's client ({@code clientSide}) or backend channel. */
    void closeRequested(boolean clientSide) {
        if (clientSide) {
            clientCloseRequested = true;
        } else {
            backendCloseRequested = true;
        }
    }

    /** The direction other than {@code r} (null while the backend is not connected). */
    Relay other(Relay r) {
        return r == up ? down : up;
    }

    /** The direction whose source is the client ({@code clientSide}) or the backend. */
    Relay outOf(boolean clientSide) {
        return clientSide ? up : down;
    }

    /** The direction whose target is the client ({@code clientSide}) or the backend. */
    Relay into(boolean clientSide) {
        return clientSide ? down : up;
    }

    void touch() {
        lastActivityNanos = System.nanoTime();
    }

    /** {@code from}'s source sent bytes that are on their way to its target. Per read: keep it cheap. */
    void relayed(Relay from) {
        long now = System.nanoTime();
        lastActivityNanos = now;
        if (watch != null) {
            if (from == up) {
                watch.clientSent(now, down);
            } else {
                watch.backendSent();
            }
            armTimer(watch.nextCheck(now, up, down));
        }
    }

    /** {@code from}'s source sent its FIN. A backend that closes is not hung: that ends its silence. */
    void inputShutdown(Relay from) {
        if (watch != null && from == down) {
            long now = System.nanoTime();
            watch.backendSent();
            armTimer(watch.nextCheck(now, up, down));
        }
    }

    /** A direction now splices: its bytes are visible only to the kernel, so the watch may need to poll. */
    void spliceStarted() {
        if (watch != null && down != null) {
            armTimer(watch.nextCheck(System.nanoTime(), up, down));
        }
    }

    // ---- accept and connect --------------------------------------------------------------------

    void clientActive() {
        VipStats stats = vip.stats();
        int max = config.limits().maxConnections();
        int n = stats.active.incrementAndGet();
        if (max > 0 && n > max) {
            stats.active.decrementAndGet();
            stats.limitHits.increment();
            if (warn.tryAcquire()) {
                log.warn("connection refused vip={} limit=max_connections max={} client={}", vip.name(), max,
                        client.remoteAddress());
            }
            closing = true;
            client.close();
            return;
        }
        stats.totalConnections.increment();
        vip.connections().add(client);
        client.closeFuture().addListener(f -> channelClosed(true));
        touch();
        if (client.remoteAddress() instanceof InetSocketAddress isa) {
            clientAddress = isa.getAddress();
        }
        Backend first = pick();
        if (first == null) {
            refuse();
        } else {
            connect(first);
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
        for (int i = 0; i <= pool.backends().size(); i++) {
            Backend b = pool.pick(clientAddress, tried);
            if (b == null || tried.contains(b)) {
                return null;
            }
            int active = b.stats().active.incrementAndGet();
            if (perBackend > 0 && active > perBackend) {
                b.stats().active.decrementAndGet();
                b.stats().limitHits.increment();
                anyBackendAtLimit = true;
                tried.add(b);
                continue;
            }
            return b;
        }
        return null;
    }

    private void connect(Backend b) {
        attempts++;
        long start = System.nanoTime();
        // No Bootstrap per connect (its option/attribute maps, handler copy and the extra task hop
        // to connect cost per connection; perf/PROFILE.md): the channel is built here, configured
        // with typed setters, registered on the client's loop (synchronous there) and connected.
        // TCP_NODELAY is not set: Netty 4.2 enables it on every socket channel it creates.
        Channel ch;
        try {
            ch = newBackendChannel(b.socketAddress());
        } catch (RuntimeException e) { // out of file descriptors and the like: a failed attempt
            connectFailed(b, e, System.nanoTime() - start);
            return;
        }
        SocketChannelConfig cfg = (SocketChannelConfig) ch.config();
        try {
            cfg.setAutoRead(false);
            cfg.setAllowHalfClosure(true);
            cfg.setConnectTimeoutMillis(connectTimeoutMillis);
            cfg.setKeepAlive(true);
            if (userTimeoutMillis > 0 && cfg instanceof EpollSocketChannelConfig epoll) {
                epoll.setTcpUserTimeout(userTimeoutMillis);
            }
        } catch (RuntimeException e) {
            ch.unsafe().closeForcibly();
            connectFailed(b, e, System.nanoTime() - start);
            return;
        }
        ch.pipeline().addLast(new RelayHandler(this, false));
        ChannelFuture registered = client.eventLoop().register(ch);
        if (registered.isDone()) {
            connectRegistered(registered, b, start);
        } else {
            registered.addListener((ChannelFuture r) -> connectRegistered(r, b, start));
        }
    }

    /**
     * On epoll a socket of the backend's own address family: Netty's default is a dual-stack
     * IPv6 socket, which costs an IPV6_V6ONLY setsockopt and IPv4-mapped address conversions
     * per connection for the IPv4 backends that are the common case.
     */
    private Channel newBackendChannel(InetSocketAddress address) {
        if (transport.isEpoll() && transport.socketChannel() == EpollSocketChannel.class) {
            return new EpollSocketChannel(address.getAddress() instanceof Inet4Address ? SocketProtocolFamily.INET
                    : SocketProtocolFamily.INET6);
        }
        return transport.socketChannelFactory().newChannel();
    }

    private void connectRegistered(ChannelFuture registered, Backend b, long start) {
        Channel ch = registered.channel();
        if (!registered.isSuccess()) {
            ch.unsafe().closeForcibly();
            connectFailed(b, registered.cause(), System.nanoTime() - start);
            return;
        }
        ch.connect(b.socketAddress()).addListener((ChannelFuture done) -> onConnectResult(done, b, start));
    }

    private static int timeoutMillis(long millis) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, millis));
    }

    private void onConnectResult(ChannelFuture f, Backend b, long start) {
        long elapsed = System.nanoTime() - start;
        if (f.isSuccess()) {
            notifyConnected(b, elapsed);
            Channel ch = f.channel();
            if (closing) { // the client left while we were connecting
                b.stats().active.decrementAndGet();
                ch.close();
                return;
            }
            backend = b;
            backendChannel = ch;
            b.stats().totalConnections.increment();
            ch.closeFuture().addListener(x -> channelClosed(false));
            down = new Relay(this, ch, vip.stats().bytesOut, spliceAfter);
            ByteBuf header = ProxyProtocolHeader.encode(config.proxyProtocol(), client.remoteAddress(),
                    client.localAddress(), ch.alloc());
            if (header != null) {
                ch.writeAndFlush(header, ch.voidPromise());
            }
            up.start(ch, b.stats().bytesOut);
            down.start(client, b.stats().bytesIn);
            startTimer();
            return;
        }
        f.channel().close(); // what Bootstrap's CLOSE_ON_FAILURE did
        connectFailed(b, f.cause(), elapsed);
    }

    private void connectFailed(Backend b, Throwable cause, long elapsed) {
        b.stats().active.decrementAndGet();
        b.stats().connectFailures.increment();
        anyConnectFailed = true;
        tried.add(b);
        notifyConnectFailed(b, cause, elapsed);
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
                connect(next);
                return;
            }
        }
        refuse();
    }

    private void notifyConnected(Backend b, long elapsed) {
        client.attr(Vip.BACKEND).set(b); // lets the control loop find this backend's connections
        try {
            events.connected(vip, b, elapsed);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip.name(), b, e);
        }
    }

    private void notifyConnectFailed(Backend b, Throwable cause, long elapsed) {
        try {
            events.connectFailed(vip, b, cause, elapsed);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip.name(), b, e);
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
                    client.remoteAddress());
        }
        closing = true;
        reset(client);
    }

    // ---- the connection timer: idle timeout and response timeout -------------------------------

    private void startTimer() {
        if (watch == null && idleNanos >= LateIdleTimers.MIN_IDLE_NANOS) {
            // Most connections end long before their idle timeout: a timer per connection (a
            // scheduled task in the loop's priority queue, cancelled at close) is wasted on them.
            // The loop arms timers for the connections still open once a second instead.
            LateIdleTimers.add(this, client.eventLoop());
            return;
        }
        long now = System.nanoTime();
        long next = idleNanos > 0 ? now + idleNanos : NO_TIMER;
        if (watch != null) {
            next = Math.min(next, watch.nextCheck(now, up, down));
        }
        armTimer(next);
    }

    /** {@link LateIdleTimers}: this connection has lived about a second; give it its idle timer. */
    void armIdleTimerLate() {
        if (!closing && !released) {
            armTimer(lastActivityNanos + idleNanos);
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
        timer = client.eventLoop().schedule(onTimer, Math.max(0, at - System.nanoTime()), NANOSECONDS);
    }

    private void onTimer() {
        timer = null;
        timerAt = NO_TIMER;
        if (closing) {
            return;
        }
        long now = System.nanoTime();
        long next = NO_TIMER;
        if (idleNanos > 0) {
            long quiet = now - lastActivityNanos;
            // Spliced bytes never reach the JVM: ask the kernel when each spliced source last received data.
            quiet = Math.min(quiet, splicedQuietNanos(up));
            quiet = Math.min(quiet, splicedQuietNanos(down));
            if (quiet >= idleNanos) {
                closeIdle();
                return;
            }
            next = now + idleNanos - quiet;
        }
        if (watch != null) {
            long waited = watch.check(now, up, down, client.isWritable());
            if (waited >= 0) {
                notifyResponseTimedOut(waited);
            }
            next = Math.min(next, watch.nextCheck(now, up, down));
        }
        armTimer(next);
    }

    private void closeIdle() {
        log.debug("connection idle vip={} client={} backend={} idle_ms={}", vip.name(), client.remoteAddress(),
                backend, NANOSECONDS.toMillis(idleNanos));
        closing = true;
        accountSpliced();
        client.close();
        backendChannel.close();
    }

    private void notifyResponseTimedOut(long waited) {
        if (log.isDebugEnabled()) {
            log.debug("backend response timeout vip={} backend={} client={} waited_ms={} mode={}", vip.name(),
                    backend, client.remoteAddress(), NANOSECONDS.toMillis(waited),
                    watch.everyRequest() ? "every_request" : "first_response");
        }
        try {
            events.responseTimedOut(vip, backend, waited);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", vip.name(), backend, e);
        }
    }

    private static long splicedQuietNanos(Relay r) {
        if (r == null || !r.splicing() || !(r.source() instanceof EpollSocketChannel ch) || !ch.isOpen()) {
            return Long.MAX_VALUE;
        }
        long millis = TcpInfo.lastDataRecvMillis(ch.fd().intValue());
        return millis < 0 ? Long.MAX_VALUE : MILLISECONDS.toNanos(millis);
    }

    // ---- teardown ------------------------------------------------------------------------------

    /** Whether the direction other than {@code r} has finished (its target's output is shut down). */
    boolean otherDirectionDone(Relay r) {
        Relay other = r == up ? down : up;
        return other != null && other.outputDone();
    }

    /** A direction shut its target's output down; when both have, the connection is complete. */
    void directionDone() {
        if (closing || !up.outputDone() || down == null || !down.outputDone()) {
            return;
        }
        closing = true;
        client.close();
        backendChannel.close();
    }

    /** An error on {@code ch} (a channel of this connection, or a stale connect attempt). */
    void exceptionCaught(Channel ch, Throwable cause) {
        if (ch == client || ch == backendChannel) {
            abort(cause);
        }
    }

    /** Tears the connection down with RST on both sides. Idempotent. */
    void abort(Throwable cause) {
        if (closing) {
            return;
        }
        closing = true;
        if (log.isDebugEnabled()) {
            log.debug("connection reset vip={} client={} backend={} cause=\"{}\"", vip.name(), client.remoteAddress(),
                    backend, cause);
        }
        accountSpliced();
        // Arm SO_LINGER=0 on both before closing either: closing one runs channelClosed, which
        // closes the other at once, and that close must already be a reset.
        lingerZero(client);
        if (backendChannel != null) {
            lingerZero(backendChannel);
            backendChannel.close();
        }
        client.close();
    }

    private void accountSpliced() {
        up.accountSpliced();
        if (down != null) {
            down.accountSpliced();
        }
    }

    private void channelClosed(boolean clientSide) {
        if (clientSide) {
            clientClosed = true;
        } else {
            backendClosed = true;
        }
        Channel other = clientSide ? backendChannel : client;
        Relay from = outOf(clientSide);
        Relay into = into(clientSide);
        if (!closing && !(clientSide ? clientCloseRequested : backendCloseRequested) && into != null && into.outputDone()
                && from != null && !from.inputDone() && !from.splicing()) {
            // Nobody asked for this close and our output to this channel was already shut: the
            // peer's EOF closed it (Relay.finishOutput turned half-closure off for this case, so
            // Netty closes at EOF instead of a shutdown(SHUT_RD) that fails with ENOTCONN and a
            // stack-trace exception). Every byte it sent was read first: finish its direction.
            from.onSourceEof();
            maybeRelease();
            return;
        }
        if (!closing) {
            // One side went away without an error reaching us. Unless both directions had
            // finished, the stream was cut: make the other peer see that (RST, not FIN).
            closing = true;
            accountSpliced();
            if (other != null) {
                if (up.outputDone() && down != null && down.outputDone()) {
                    other.close();
                } else {
                    reset(other);
                }
            }
        } else if (other != null) {
            other.close();
        }
        maybeRelease();
    }

    private void maybeRelease() {
        if (released || !clientClosed || (backendChannel != null && !backendClosed)) {
            return;
        }
        released = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        vip.connections().remove(client);
        vip.stats().active.decrementAndGet();
        if (backend != null) {
            backend.stats().active.decrementAndGet();
        }
        up.release();
        if (down != null) {
            down.release();
        }
    }

    /** Closes {@code ch} with SO_LINGER=0 so its peer gets RST. */
    static void reset(Channel ch) {
        lingerZero(ch);
        ch.close();
    }

    /** Makes the next close of {@code ch} send RST instead of FIN. */
    private static void lingerZero(Channel ch) {
        if (!ch.isOpen()) {
            return;
        }
        try {
            ch.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException ignored) {
            // the socket is already dead (reset by the peer); a plain close is all that is left
        }
    }
}
