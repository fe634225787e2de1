package io.tandem.core.udp;

import static java.util.Objects.requireNonNull;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.concurrent.EventExecutor;
import io.tandem.config.HostPort;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.SelfLoops;
import io.tandem.core.vip.Vip;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bound sockets of one UDP VIP and the sessions behind them. On epoll it binds one
 * {@code SO_REUSEPORT} socket per event loop (the kernel spreads clients over them by a hash
 * of the 4-tuple, so a client always reaches the same socket) and reads with {@code recvmmsg};
 * on NIO one socket. On epoll the sockets are raw ({@link RawListener}: no Netty channel,
 * recvmmsg/sendmmsg on native batches, see perf/UDP.md session 3); on NIO they are Netty datagram channels
 * ({@link ListenerHandler} in their pipeline). Each socket owns the sessions of the clients it receives
 * ({@link SessionTable}, confined to its loop); the session limit is shared by the VIP.
 *
 * <p>Why a map per event loop and not one Caffeine cache: a session's upstream channel must be
 * closed on its own loop, and Caffeine evicts and expires on another thread (a hop per
 * removal); its size bound is also enforced asynchronously, so a flood could briefly hold more
 * sockets than {@code maxSessions}. A per-loop map with an activity-ordered list gives exact
 * LRU eviction under a hard bound and an O(expired) sweep, with no cross-thread work at all.
 */
public final class UdpListener {
    private static final Logger log = LoggerFactory.getLogger(UdpListener.class);
    /** Socket buffers of the listening sockets (capped by net.core.rmem_max / wmem_max): they absorb bursts of all clients. */
    private static final int LISTENER_SOCKET_BUFFER = 1 << 20;

    private final Vip vip;
    private final List<Channel> channels;
    private final List<ListenerHandler> handlers;
    private final UdpStats stats;
    private final InetSocketAddress localAddress;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    /** channels: one per handler on the channel path, empty when the listening sockets are raw. */
    private UdpListener(Vip vip, List<Channel> channels, List<ListenerHandler> handlers, UdpStats stats,
                        InetSocketAddress localAddress) {
        this.vip = vip;
        this.channels = List.copyOf(channels);
        this.handlers = List.copyOf(handlers);
        this.stats = stats;
        this.localAddress = localAddress;
        SelfLoops.listening(SelfLoops.Proto.UDP, vip, localAddress);
    }

    /**
     * Binds the VIP's listen address ({@code vip.pool().config().listen()}; port 0 picks one).
     * Completes on an event loop once every socket is bound, or exceptionally (nothing left bound).
     */
    public static CompletableFuture<UdpListener> bind(Vip vip, EventLoopGroup group, Transport transport,
                                                      ConnectionEvents events, UdpSettings settings) {
        requireNonNull(vip, "vip");
        requireNonNull(group, "group");
        requireNonNull(transport, "transport");
        requireNonNull(events, "events");
        requireNonNull(settings, "settings");
        HostPort listen = vip.pool().config().listen();
        InetSocketAddress address = new InetSocketAddress(listen.host(), listen.port());
        List<EventLoop> loops = new ArrayList<>();
        if (transport.isEpoll()) {
            for (EventExecutor e : group) {
                loops.add((EventLoop) e);
            }
        } else {
            loops.add(group.next());
        }
        UdpStats stats = new UdpStats();
        ChannelFactory<? extends Channel> upstreamFactory = new ReflectiveChannelFactory<>(transport.datagramChannel());
        if (transport.isEpoll()) {
            if (!RawListener.supported(loops.getFirst())) {
                return CompletableFuture.failedFuture(new IllegalStateException("udp vip " + vip.name()
                        + ": the epoll transport needs native access to libc for UDP (--enable-native-access="
                        + "ALL-UNNAMED), or use runtime.transport: nio"));
            }
            return bindRaw(vip, loops, address, transport, settings, stats, events, upstreamFactory);
        }
        List<Channel> channels = new ArrayList<>();
        List<ListenerHandler> handlers = new ArrayList<>();
        CompletableFuture<UdpListener> result = new CompletableFuture<>();

        // Bind the first socket to learn the port (when 0 was asked), then the others on the same port.
        ListenerHandler firstHandler = new ListenerHandler(vip, settings, stats, events, loops.getFirst(), upstreamFactory);
        bindOne(transport, settings, loops.getFirst(), firstHandler, address).addListener((ChannelFuture first) -> {
            if (!first.isSuccess()) {
                result.completeExceptionally(first.cause());
                return;
            }
            channels.add(first.channel());
            handlers.add(firstHandler);
            InetSocketAddress bound = new InetSocketAddress(address.getAddress(),
                    ((InetSocketAddress) first.channel().localAddress()).getPort());
            bindRest(transport, settings, loops, 1, bound, vip, stats, events, upstreamFactory, channels, handlers,
                    result);
        });
        return result;
    }

    private static void bindRest(Transport transport, UdpSettings settings, List<EventLoop> loops, int index,
                                 InetSocketAddress address, Vip vip, UdpStats stats, ConnectionEvents events,
                                 ChannelFactory<? extends Channel> upstreamFactory, List<Channel> channels,
                                 List<ListenerHandler> handlers, CompletableFuture<UdpListener> result) {
        if (index == loops.size()) {
            UdpListener listener = new UdpListener(vip, channels, handlers, stats,
                    (InetSocketAddress) channels.getFirst().localAddress());
            log.info("udp listener bound vip={} address={} sockets={} transport={} batch={} max_sessions={}",
                    vip.name(), listener.localAddress, channels.size(), transport.name(), settings.batch(),
                    settings.maxSessions());
            result.complete(listener);
            return;
        }
        ListenerHandler handler = new ListenerHandler(vip, settings, stats, events, loops.get(index), upstreamFactory);
        bindOne(transport, settings, loops.get(index), handler, address).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                for (int i = 0; i < channels.size(); i++) {
                    ListenerHandler h = handlers.get(i);
                    Channel c = channels.get(i);
                    h.loop.execute(() -> {
                        h.closeAll(); // stops its sweep
                        c.close();
                    });
                }
                result.completeExceptionally(f.cause());
                return;
            }
            channels.add(f.channel());
            handlers.add(handler);
            bindRest(transport, settings, loops, index + 1, address, vip, stats, events, upstreamFactory, channels,
                    handlers, result);
        });
    }

    /**
     * Binds one raw listening socket per loop ({@link RawListener}), each opened on its own loop;
     * the first one learns the port when 0 was asked.
     */
    private static CompletableFuture<UdpListener> bindRaw(Vip vip, List<EventLoop> loops, InetSocketAddress address,
                                                          Transport transport, UdpSettings settings, UdpStats stats,
                                                          ConnectionEvents events,
                                                          ChannelFactory<? extends Channel> upstreamFactory) {
        CompletableFuture<UdpListener> result = new CompletableFuture<>();
        List<ListenerHandler> handlers = new ArrayList<>();
        bindRawRest(vip, loops, 0, address, transport, settings, stats, events, upstreamFactory, handlers, result);
        return result;
    }

    private static void bindRawRest(Vip vip, List<EventLoop> loops, int index, InetSocketAddress address,
                                    Transport transport, UdpSettings settings, UdpStats stats, ConnectionEvents events,
                                    ChannelFactory<? extends Channel> upstreamFactory, List<ListenerHandler> handlers,
                                    CompletableFuture<UdpListener> result) {
        if (index == loops.size()) {
            UdpListener listener = new UdpListener(vip, List.of(), handlers, stats, address);
            log.info("udp listener bound vip={} address={} sockets={} transport={} raw=true batch={} max_sessions={}",
                    vip.name(), address, handlers.size(), transport.name(), settings.batch(), settings.maxSessions());
            result.complete(listener);
            return;
        }
        EventLoop loop = loops.get(index);
        ListenerHandler handler = new ListenerHandler(vip, settings, stats, events, loop, upstreamFactory);
        loop.execute(() -> {
            RawListener raw;
            try {
                raw = RawListener.open(handler, address, LISTENER_SOCKET_BUFFER);
            } catch (Exception | Error e) {
                for (ListenerHandler h : handlers) {
                    h.loop.execute(() -> {
                        h.closeAll(); // stops its sweep
                        h.raw.close();
                    });
                }
                result.completeExceptionally(e);
                return;
            }
            handler.raw = raw;
            handler.startSweeper();
            handlers.add(handler);
            InetSocketAddress bound = index == 0
                    ? new InetSocketAddress(address.getAddress(), raw.localAddress().getPort()) : address;
            bindRawRest(vip, loops, index + 1, bound, transport, settings, stats, events, upstreamFactory, handlers,
                    result);
        });
    }

    private static ChannelFuture bindOne(Transport transport, UdpSettings settings, EventLoop loop,
                                         ListenerHandler handler, InetSocketAddress address) {
        // A receive slot one byte larger than the largest allowed datagram: a datagram that fills
        // its slot was truncated by the kernel and is dropped, never forwarded cut short.
        int slot = settings.maxDatagramSize() + 1;
        int batch = 1;
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(transport.datagramChannel())
                .option(ChannelOption.RCVBUF_ALLOCATOR,
                        new CountingRecvAllocator(slot * batch, Math.max(16, batch * 4), handler.stats.receiveCalls))
                .option(ChannelOption.SO_RCVBUF, LISTENER_SOCKET_BUFFER)
                .option(ChannelOption.SO_SNDBUF, LISTENER_SOCKET_BUFFER)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(LISTENER_SOCKET_BUFFER / 2, LISTENER_SOCKET_BUFFER))
                .handler(handler);
        return b.bind(address);
    }

    /** The bound address (the actual port when 0 was configured). */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** For tests: the per-socket handlers. */
    List<ListenerHandler> handlers() {
        return handlers;
    }

    public UdpStats stats() {
        return stats;
    }

    /** Closes the listening sockets and every session (their upstream sockets). Idempotent. */
    public CompletableFuture<Void> close() {
        if (!closing.compareAndSet(false, true)) {
            return closed;
        }
        SelfLoops.closed(SelfLoops.Proto.UDP, vip, localAddress);
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (int i = 0; i < handlers.size(); i++) {
            Channel ch = channels.isEmpty() ? null : channels.get(i);
            ListenerHandler h = handlers.get(i);
            CompletableFuture<Void> part = new CompletableFuture<>();
            parts.add(part);
            h.loop.execute(() -> {
                h.closeAll();
                if (ch != null) {
                    ch.close().addListener(f -> part.complete(null));
                } else {
                    h.raw.close();
                    part.complete(null);
                }
            });
        }
        CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            log.info("udp listener closed vip={} address={} {}", vip.name(), localAddress, stats);
            closed.complete(null);
        });
        return closed;
    }
}
