package io.tandem.core.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollSocketChannelConfig;
import io.netty.channel.socket.SocketChannelConfig;
import io.netty.channel.socket.SocketProtocolFamily;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.Vip;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A proxied TCP connection of the channel engine (NIO, and epoll with
 * {@code -Dtandem.tcp.engine=channel}): the client and the backend are Netty channels, each with
 * one {@link RelayHandler}, and two {@link Relay}s move the bytes. Teardown is graceful when both
 * directions finished with a FIN, RST otherwise so neither peer mistakes a cut stream for a
 * complete one.
 *
 * <p>Everything runs on the client channel's event loop (the backend channel is created on it
 * too), so no field needs a lock or volatile. The pool snapshot is read once at accept and kept.
 */
final class ProxyConnection extends ProxiedConnection {
    private static final Logger log = LoggerFactory.getLogger(ProxyConnection.class);

    private final Transport transport;
    private final Channel client;
    private final long spliceAfter;
    private final Relay up;
    /** 0: not set (NIO has no TCP_USER_TIMEOUT). */
    private final int userTimeoutMillis;
    private Relay down;
    private Channel backendChannel;
    private InetAddress clientAddress;
    private boolean clientClosed;
    private boolean backendClosed;
    /** close() was called on the channel through its pipeline (by us or the control loop), not by EOF. */
    private boolean clientCloseRequested;
    private boolean backendCloseRequested;

    ProxyConnection(Vip vip, BackendPool pool, Transport transport, ConnectionEvents events, WarnLimiter warn,
                    Channel client) {
        super(vip, pool, events, warn);
        this.transport = transport;
        this.client = client;
        boolean canSplice = transport.isEpoll() && client instanceof AbstractEpollStreamChannel;
        this.spliceAfter = switch (config.relay()) {
            case COPY -> Relay.NEVER;
            case SPLICE -> canSplice ? 0 : Relay.NEVER;
            case AUTO -> canSplice ? Relay.AUTO_SPLICE_AFTER : Relay.NEVER;
        };
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

    Channel client() {
        return client;
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

    // ---- ProxiedConnection ---------------------------------------------------------------------

    @Override
    EventLoop loop() {
        return client.eventLoop();
    }

    @Override
    Direction up() {
        return up;
    }

    @Override
    Direction down() {
        return down;
    }

    @Override
    boolean clientWritable() {
        return client.isWritable();
    }

    @Override
    InetAddress clientAddress() {
        return clientAddress;
    }

    @Override
    Object clientForLog() {
        return client.remoteAddress();
    }

    @Override
    InetSocketAddress peerAddress() {
        return client.remoteAddress() instanceof InetSocketAddress isa ? isa : null;
    }

    @Override
    void closeClient() {
        client.close();
    }

    @Override
    void resetClient() {
        reset(client);
    }

    @Override
    void closeIdle() {
        accountSpliced();
        client.close();
        backendChannel.close();
    }

    /**
     * Resets the client channel; its close resets the backend too (see {@link #channelClosed}),
     * unless both directions had already finished.
     */
    @Override
    public void reset() {
        client.eventLoop().execute(() -> {
            if (client.isOpen()) {
                lingerZero(client);
                client.close();
            }
        });
    }

    // ---- accept and connect --------------------------------------------------------------------

    void clientActive() {
        if (putOffArrival(this::clientActive)) {
            return; // maybe from one of our own sockets not registered yet: decided a moment later
        }
        if (!admit()) {
            return;
        }
        client.closeFuture().addListener(f -> channelClosed(true));
        if (client.remoteAddress() instanceof InetSocketAddress isa) {
            clientAddress = isa.getAddress();
        }
        start();
    }

    @Override
    void connect(Backend b) {
        attempts++;
        long start = System.nanoTime();
        // No Bootstrap per connect (its option/attribute maps, handler copy and the extra task hop
        // to connect cost per connection; perf/PROFILE.md): the channel is built here, configured
        // with typed setters, registered on the client's loop (synchronous there) and connected.
        // TCP_NODELAY is not set: Netty 4.2 enables it on every socket channel it creates.
        Channel ch;
        try {
            ch = newBackendChannel(b.socketAddress());
        } catch (RuntimeException e) { // out of file descriptors and the like: the node's fault
            connectFailedLocally(b, e);
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
        } catch (RuntimeException e) { // options on a fresh socket: the node's fault too
            ch.unsafe().closeForcibly();
            connectFailedLocally(b, e);
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
            connectFailedLocally(b, registered.cause());
            return;
        }
        ch.connect(b.socketAddress()).addListener((ChannelFuture done) -> onConnectResult(done, b, start));
        if (tracksAttempt() && ch.localAddress() instanceof InetSocketAddress local) {
            // Bound by the connect call, which ran inline on this loop (epoll reads it at connect;
            // NIO only knows it once connected: see onConnectResult).
            connectIssued(b, local);
        }
    }

    private void onConnectResult(ChannelFuture f, Backend b, long start) {
        long elapsed = System.nanoTime() - start;
        if (f.isSuccess()) {
            Channel ch = f.channel();
            if (closing) { // the client left while we were connecting
                connectedTooLate(b, elapsed);
                ch.close();
                return;
            }
            if (tracksAttempt() && ch.localAddress() instanceof InetSocketAddress local) {
                connectIssued(b, local); // NIO: its local address is known from now on (no-op when tracked already)
            }
            connected(b, elapsed);
            backendChannel = ch;
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
                    backend(), cause);
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
        if (!clientClosed || (backendChannel != null && !backendClosed)) {
            return;
        }
        if (release()) {
            up.release();
            if (down != null) {
                down.release();
            }
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
