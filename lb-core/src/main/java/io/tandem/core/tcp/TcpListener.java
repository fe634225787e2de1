package io.tandem.core.tcp;

import static java.util.Objects.requireNonNull;

import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannelConfig;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.concurrent.EventExecutor;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.config.HostPort;
import io.tandem.core.sys.Errno;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.LocalErrors;
import io.tandem.core.vip.SelfLoops;
import io.tandem.core.vip.Vip;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bound sockets of one TCP VIP, all with {@code IP_FREEBIND}, so a standby node can bind a
 * VIP address it does not own yet and accept the moment the address is added. With the raw
 * engine (the default on epoll) the loops share one listening socket and keep their connection
 * counts close ({@link AcceptQueue}; or one {@code SO_REUSEPORT} socket per loop), the sockets
 * are {@link RawListener}s and connections {@link RawConnection}s. With Netty channels (epoll
 * with {@code -Dtandem.tcp.engine=channel}) it is one {@code SO_REUSEPORT} server channel per
 * loop, children on the loop that accepted them, as {@link ProxyConnection}s; on NIO a single
 * server channel whose children are spread over the group.
 *
 * <p>Each accepted connection reads the VIP's pool snapshot once and keeps it for its life (a
 * reload or membership change never alters a live connection). Closing the listener stops
 * accepting; established connections are left alone (drain is the caller's decision).
 */
public final class TcpListener {
    private static final Logger log = LoggerFactory.getLogger(TcpListener.class);

    private final Vip vip;
    /** Channel engine: the server channels. */
    private final List<Channel> channels;
    /** Raw engine: one listening socket per loop. */
    private final List<RawListener> raw;
    private final InetSocketAddress localAddress;

    private TcpListener(Vip vip, List<Channel> channels, List<RawListener> raw, InetSocketAddress localAddress) {
        this.vip = vip;
        this.channels = List.copyOf(channels);
        this.raw = List.copyOf(raw);
        this.localAddress = localAddress;
        SelfLoops.listening(SelfLoops.Proto.TCP, vip, localAddress);
    }

    /**
     * Binds the VIP's listen address: on epoll one SO_REUSEPORT + IP_FREEBIND server channel per
     * event loop of {@code group} (children on the same loop); on NIO one server channel.
     */
    public static CompletableFuture<TcpListener> bind(Vip vip, EventLoopGroup group, Transport transport,
                                                      ConnectionEvents events) {
        AcceptQueue queue;
        try {
            queue = AcceptQueue.configured();
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        }
        return bind(vip, group, transport, events, queue);
    }

    /**
     * As {@link #bind(Vip, EventLoopGroup, Transport, ConnectionEvents)} with the raw engine's
     * accept queue chosen by the caller (tests run both).
     */
    public static CompletableFuture<TcpListener> bind(Vip vip, EventLoopGroup group, Transport transport,
                                                      ConnectionEvents events, AcceptQueue queue) {
        requireNonNull(vip, "vip");
        requireNonNull(group, "group");
        requireNonNull(transport, "transport");
        requireNonNull(events, "events");
        CompletableFuture<TcpListener> result = new CompletableFuture<>();
        HostPort listen = vip.pool().config().listen();
        InetSocketAddress address;
        try {
            // IP literals (the only thing a listen address should be) resolve without a lookup.
            address = new InetSocketAddress(InetAddress.getByName(listen.host()), listen.port());
        } catch (Exception e) {
            result.completeExceptionally(new IllegalArgumentException(
                    "vip " + vip.name() + " listen: " + listen + " (expected an IP address)", e));
            return result;
        }
        WarnLimiter warn = new WarnLimiter(1, TimeUnit.SECONDS);
        if (transport.rawTcp()) {
            List<IoEventLoop> loops = new ArrayList<>();
            for (EventExecutor loop : group) {
                loops.add((IoEventLoop) loop);
            }
            // Shared only when the loops' epoll descriptors are reachable (EPOLLEXCLUSIVE) and there is more than one.
            AcceptGroup shared = queue == AcceptQueue.SHARED && loops.size() > 1
                    && RawListener.canShare(loops.get(0)) ? new AcceptGroup() : null;
            bindRaw(vip, events, warn, loops, 0, address, new ArrayList<>(), shared, result);
            return result;
        }
        List<EventLoopGroup> parents = new ArrayList<>();
        if (transport.isEpoll()) {
            for (EventExecutor loop : group) {
                parents.add((EventLoopGroup) loop);
            }
        } else {
            parents.add(group);
        }
        bindNext(vip, transport, events, warn, parents, 0, address, new CopyOnWriteArrayList<>(), result);
        return result;
    }

    /** Binds a raw listening socket on each loop in turn (the first fixes the port when the config says 0). */
    private static void bindRaw(Vip vip, ConnectionEvents events, WarnLimiter warn, List<IoEventLoop> loops,
                                int index, InetSocketAddress address, List<RawListener> bound,
                                AcceptGroup shared, CompletableFuture<TcpListener> result) {
        IoEventLoop loop = loops.get(index);
        loop.execute(() -> {
            RawListener l;
            try {
                l = index > 0 && shared != null ? RawListener.share(bound.get(0), loop)
                        : RawListener.bind(vip, loop, address, events, warn, shared);
            } catch (IOException | RuntimeException e) {
                bound.forEach(b -> b.loop.execute(b::close));
                result.completeExceptionally(e);
                return;
            }
            bound.add(l);
            InetSocketAddress actual = l.localAddress();
            if (index + 1 < loops.size()) {
                bindRaw(vip, events, warn, loops, index + 1, new InetSocketAddress(address.getAddress(),
                        actual.getPort()), bound, shared, result);
            } else {
                TcpListener listener = new TcpListener(vip, List.of(), bound, actual);
                log.info("listener bound vip={} address={} transport=epoll engine=raw loops={} accept_queue={}",
                        vip.name(), actual, bound.size(), shared != null ? "shared" : "per-loop");
                result.complete(listener);
            }
        });
    }

    private static void bindNext(Vip vip, Transport transport, ConnectionEvents events, WarnLimiter warn,
                                 List<EventLoopGroup> groups, int index, InetSocketAddress address,
                                 List<Channel> bound, CompletableFuture<TcpListener> result) {
        EventLoopGroup g = groups.get(index);
        // No ServerBootstrap: its acceptor sets every child option per accept and its
        // ChannelInitializer adds and removes itself in every new pipeline (a quarter of the
        // allocations per connection, perf/PROFILE.md). Acceptor does only what a child needs.
        ServerChannel server;
        try {
            // Epoll: a socket of the listen address's family (an IPv4 VIP gets AF_INET, so accepted
            // sockets carry no IPv4-mapped addresses to convert per connection).
            server = transport.isEpoll() && transport.serverChannel() == EpollServerSocketChannel.class
                    ? new EpollServerSocketChannel(address.getAddress() instanceof Inet4Address
                            ? SocketProtocolFamily.INET : SocketProtocolFamily.INET6)
                    : transport.serverChannel().getDeclaredConstructor().newInstance();
            server.config().setOption(ChannelOption.SO_REUSEADDR, true);
            if (transport.isEpoll()) {
                server.config().setOption(EpollChannelOption.SO_REUSEPORT, true);
                server.config().setOption(EpollChannelOption.IP_FREEBIND, true);
                // Accepted sockets inherit SO_KEEPALIVE from the listener on Linux (the kernel
                // clones the listener's flags): one setsockopt per listener instead of per accept.
                ((Socket) ((UnixChannel) server).fd()).setKeepAlive(true);
            }
        } catch (ReflectiveOperationException | IOException | RuntimeException e) {
            bound.forEach(Channel::close);
            result.completeExceptionally(e);
            return;
        }
        server.pipeline().addLast(new Acceptor(vip, transport, events, warn, g, !transport.isEpoll()));
        g.register(server).addListener((ChannelFuture r) -> {
            if (!r.isSuccess()) {
                server.unsafe().closeForcibly();
                bound.forEach(Channel::close);
                result.completeExceptionally(r.cause());
                return;
            }
            server.bind(address).addListener((ChannelFuture f) -> bound(vip, transport, events, warn, groups, index,
                    address, bound, result, f));
        });
    }

    private static void bound(Vip vip, Transport transport, ConnectionEvents events, WarnLimiter warn,
                              List<EventLoopGroup> groups, int index, InetSocketAddress address,
                              List<Channel> bound, CompletableFuture<TcpListener> result, ChannelFuture f) {
        if (!f.isSuccess()) {
            f.channel().close();
            bound.forEach(Channel::close);
            result.completeExceptionally(f.cause());
            return;
        }
        bound.add(f.channel());
        if (index + 1 < groups.size()) {
            // Port 0: every other socket must join the port the first one got.
            int port = ((InetSocketAddress) f.channel().localAddress()).getPort();
            bindNext(vip, transport, events, warn, groups, index + 1,
                    new InetSocketAddress(address.getAddress(), port), bound, result);
        } else {
            TcpListener listener = new TcpListener(vip, bound, List.of(),
                    (InetSocketAddress) bound.getFirst().localAddress());
            log.info("listener bound vip={} address={} transport={} sockets={}", vip.name(),
                    listener.localAddress, transport.name(), bound.size());
            result.complete(listener);
        }
    }

    /**
     * The server channel's only handler: each accepted child gets its connection's
     * {@link RelayHandler} directly and is registered on {@code childGroup} (on epoll the
     * listener's own loop). What ServerBootstrap's acceptor does, minus the generic option and
     * attribute maps and the per-child initializer.
     */
    private static final class Acceptor extends ChannelInboundHandlerAdapter {
        private final Vip vip;
        private final Transport transport;
        private final ConnectionEvents events;
        private final WarnLimiter warn;
        private final EventLoopGroup childGroup;
        /** NIO listeners cannot carry SO_KEEPALIVE: set it on each child. */
        private final boolean keepAlivePerChild;

        Acceptor(Vip vip, Transport transport, ConnectionEvents events, WarnLimiter warn, EventLoopGroup childGroup,
                 boolean keepAlivePerChild) {
            this.vip = vip;
            this.transport = transport;
            this.events = events;
            this.warn = warn;
            this.childGroup = childGroup;
            this.keepAlivePerChild = keepAlivePerChild;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel child = (Channel) msg;
            try {
                SocketChannelConfig cfg = (SocketChannelConfig) child.config();
                cfg.setAutoRead(false);
                cfg.setAllowHalfClosure(true);
                if (keepAlivePerChild) {
                    cfg.setKeepAlive(true);
                }
                ProxyConnection conn = new ProxyConnection(vip, vip.pool(), transport, events, warn, child);
                child.pipeline().addLast(new RelayHandler(conn, true));
                ChannelFuture registered = childGroup.register(child);
                if (registered.isDone()) {
                    closeIfFailed(registered);
                } else {
                    registered.addListener(Acceptor::closeIfFailed);
                }
            } catch (RuntimeException e) {
                child.unsafe().closeForcibly();
                log.warn("accept failed vip={} cause=\"{}\"", vip.name(), e.toString());
            }
        }

        private static void closeIfFailed(io.netty.util.concurrent.Future<? super Void> f) {
            if (!f.isSuccess()) {
                ((ChannelFuture) f).channel().unsafe().closeForcibly();
                log.warn("accepted connection not registered cause=\"{}\"", f.cause().toString());
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // Accept errors (EMFILE, ENFILE): pause accepting for a second rather than spin on
            // a listener that stays readable, as Netty's ServerBootstrap does.
            int local = Errno.local(cause);
            if (local != 0) {
                vip.localErrors().record(LocalErrors.Op.ACCEPT, local, cause, "accepting paused 1 s");
            } else if (warn.tryAcquire()) {
                log.warn("accept error vip={} pausing_ms=1000 cause=\"{}\"", vip.name(), cause.toString());
            }
            ChannelConfig config = ctx.channel().config();
            if (config.isAutoRead()) {
                config.setAutoRead(false);
                ctx.channel().eventLoop().schedule(() -> config.setAutoRead(true), 1, TimeUnit.SECONDS);
            }
        }
    }

    /** Live connections per event loop, raw engine only (empty otherwise); read across loops, for tests. */
    int[] liveByLoop() {
        return raw.stream().mapToInt(RawListener::live).toArray();
    }

    /** The actual bound address (with the real port when the config asked for port 0). */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** Stops accepting. Existing connections are not closed. */
    public CompletableFuture<Void> close() {
        SelfLoops.closed(SelfLoops.Proto.TCP, vip, localAddress);
        List<CompletableFuture<Void>> all = new ArrayList<>(channels.size() + raw.size());
        for (RawListener l : raw) {
            all.add(CompletableFuture.runAsync(l::close, l.loop));
        }
        for (Channel ch : channels) {
            CompletableFuture<Void> cf = new CompletableFuture<>();
            ch.close().addListener(f -> cf.complete(null));
            all.add(cf);
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> log.info("listener closed vip={} address={}", vip.name(), localAddress));
    }
}
