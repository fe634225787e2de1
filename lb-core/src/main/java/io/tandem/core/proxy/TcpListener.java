package io.tandem.core.proxy;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.util.concurrent.EventExecutor;
import io.tandem.config.HostPort;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.Vip;
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
 * The bound sockets of one TCP VIP. On epoll it is one {@code SO_REUSEPORT} server channel per
 * event loop (the kernel spreads accepts, no shared accept queue) with {@code IP_FREEBIND}, so
 * a standby node can bind a VIP address it does not own yet and accept the moment the address
 * is added; accepted connections stay on the loop that accepted them. On NIO it is a single
 * server channel whose children are spread over the group.
 *
 * <p>Each accepted connection reads the VIP's pool snapshot once and keeps it for its life (a
 * reload or membership change never alters a live connection). Closing the listener stops
 * accepting; established connections are left alone (drain is the caller's decision).
 */
public final class TcpListener {
    private static final Logger log = LoggerFactory.getLogger(TcpListener.class);

    private final Vip vip;
    private final List<Channel> channels;
    private final InetSocketAddress localAddress;

    private TcpListener(Vip vip, List<Channel> channels) {
        this.vip = vip;
        this.channels = List.copyOf(channels);
        this.localAddress = (InetSocketAddress) channels.getFirst().localAddress();
    }

    /**
     * Binds the VIP's listen address: on epoll one SO_REUSEPORT + IP_FREEBIND server channel per
     * event loop of {@code group} (children on the same loop); on NIO one server channel.
     */
    public static CompletableFuture<TcpListener> bind(Vip vip, EventLoopGroup group, Transport transport,
                                                      ConnectionEvents events) {
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

    private static void bindNext(Vip vip, Transport transport, ConnectionEvents events, WarnLimiter warn,
                                 List<EventLoopGroup> groups, int index, InetSocketAddress address,
                                 List<Channel> bound, CompletableFuture<TcpListener> result) {
        EventLoopGroup g = groups.get(index);
        // No TCP_NODELAY child option: Netty 4.2 enables it on every accepted channel already
        // (EpollSocketChannelConfig / NioSocketChannelConfig); a second setsockopt per accept was waste.
        ServerBootstrap b = new ServerBootstrap()
                .group(g, g)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ProxyConnection conn = new ProxyConnection(vip, vip.pool(), transport, events, warn, ch);
                        ch.pipeline().addLast(new RelayHandler(conn, true));
                    }
                });
        if (transport.isEpoll()) {
            b.option(EpollChannelOption.SO_REUSEPORT, true).option(EpollChannelOption.IP_FREEBIND, true);
        }
        b.bind(address).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
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
                TcpListener listener = new TcpListener(vip, bound);
                log.info("listener bound vip={} address={} transport={} sockets={}", vip.name(),
                        listener.localAddress, transport.name(), bound.size());
                result.complete(listener);
            }
        });
    }

    /** The actual bound address (with the real port when the config asked for port 0). */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** Stops accepting. Existing connections are not closed. */
    public CompletableFuture<Void> close() {
        List<CompletableFuture<Void>> all = new ArrayList<>(channels.size());
        for (Channel ch : channels) {
            CompletableFuture<Void> cf = new CompletableFuture<>();
            ch.close().addListener(f -> cf.complete(null));
            all.add(cf);
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> log.info("listener closed vip={} address={}", vip.name(), localAddress));
    }
}
