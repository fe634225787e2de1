package io.tandem.core.udp;

import static java.util.Objects.requireNonNull;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import io.tandem.config.HostPort;
import io.tandem.config.UdpOptions;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.vip.SelfLoops;
import io.tandem.core.vip.Vip;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bound sockets of one UDP VIP and the sessions behind them. On epoll it binds one
 * {@code SO_REUSEPORT} socket per event loop (the kernel spreads clients over them by a hash of
 * the 4-tuple, so a client always reaches the same socket); on NIO one socket. Each socket owns
 * the sessions of the clients it receives ({@link Sessions}, {@link SessionTable}, confined to its
 * loop); the session limit is shared by the VIP. The session logic is the same on both transports;
 * only the socket side differs ({@link DatagramSockets}: {@link EpollSockets} with batched
 * {@code recvmmsg}/{@code sendmmsg} on native memory, or {@link NioSockets} a datagram at a time).
 *
 * <p>Why a map per event loop and not one Caffeine cache: a session's upstream socket must be
 * closed on its own loop, and Caffeine evicts and expires on another thread (a hop per
 * removal); its size bound is also enforced asynchronously, so a flood could briefly hold more
 * sockets than {@code maxSessions}. A per-loop map with an activity-ordered list gives exact
 * LRU eviction under a hard bound and an O(expired) sweep, with no cross-thread work at all.
 */
public final class UdpListener {
    private static final Logger log = LoggerFactory.getLogger(UdpListener.class);
    /** Socket buffers of the listening sockets (capped by net.core.rmem_max / wmem_max): they absorb bursts of all clients. */
    private static final int LISTENER_SOCKET_BUFFER = 1 << 20;
    /**
     * Datagrams read per {@code recvmmsg} call on epoll (NIO reads one at a time). A property of
     * the socket side, not of a VIP: the config does not set it.
     */
    public static final int RECV_BATCH = 16;

    private final Vip vip;
    private final List<Part> parts;
    private final UdpStats stats;
    private final InetSocketAddress localAddress;
    private final AtomicBoolean closing = new AtomicBoolean();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    /** Opens the socket side of one listening socket on its loop. */
    @FunctionalInterface
    private interface Opener {
        DatagramSockets open(Sessions sessions, IoEventLoop loop, InetSocketAddress address, int socketBuffer)
                throws IOException;
    }

    /** One listening socket: its loop, its sessions, its sockets and their idle sweep. */
    private record Part(IoEventLoop loop, Sessions sessions, DatagramSockets sockets, ScheduledFuture<?> sweeper) {
        /** Closes the sessions (their upstream sockets) and the listening socket. Runs on {@link #loop}. */
        void close() {
            sweeper.cancel(false);
            sessions.closeAll();
            sockets.close();
        }
    }

    private UdpListener(Vip vip, List<Part> parts, UdpStats stats, InetSocketAddress localAddress) {
        this.vip = vip;
        this.parts = List.copyOf(parts);
        this.stats = stats;
        this.localAddress = localAddress;
        SelfLoops.listening(SelfLoops.Proto.UDP, vip, localAddress);
    }

    /**
     * Binds the VIP's listen address ({@code vip.pool().config().listen()}; port 0 picks one), its
     * sessions bounded by {@code options} (the VIP's {@code udp} section as the config reader
     * validated it). Completes on an event loop once every socket is bound, or exceptionally
     * (nothing left bound).
     */
    public static CompletableFuture<UdpListener> bind(Vip vip, EventLoopGroup group, Transport transport,
                                                      ConnectionEvents events, UdpOptions options) {
        return bind(vip, group, transport, events, options, RECV_BATCH);
    }

    /** {@link #bind} with {@code batch} datagrams per {@code recvmmsg} (1..1024; tests and the perf harness). */
    public static CompletableFuture<UdpListener> bind(Vip vip, EventLoopGroup group, Transport transport,
                                                      ConnectionEvents events, UdpOptions options, int batch) {
        requireNonNull(vip, "vip");
        requireNonNull(group, "group");
        requireNonNull(transport, "transport");
        requireNonNull(events, "events");
        requireNonNull(options, "options");
        if (batch < 1 || batch > 1024) {
            throw new IllegalArgumentException("batch: " + batch + " (expected 1..1024)");
        }
        HostPort listen = vip.pool().config().listen();
        InetSocketAddress address = new InetSocketAddress(listen.host(), listen.port());
        List<IoEventLoop> loops = new ArrayList<>();
        for (EventExecutor e : transport.isEpoll() ? group : List.of(group.next())) {
            if (!(e instanceof IoEventLoop loop)) {
                return CompletableFuture.failedFuture(new IllegalArgumentException("udp vip " + vip.name()
                        + ": event loop " + e + " is not an IoEventLoop (expected a MultiThreadIoEventLoopGroup)"));
            }
            loops.add(loop);
        }
        Opener opener;
        if (transport.isEpoll()) {
            if (!EpollSockets.supported(loops.getFirst())) {
                return CompletableFuture.failedFuture(new IllegalStateException("udp vip " + vip.name()
                        + ": the epoll transport needs native access to libc for UDP (--enable-native-access="
                        + "ALL-UNNAMED), or use runtime.transport: nio"));
            }
            opener = EpollSockets::open;
        } else {
            if (!NioSockets.supported(loops.getFirst())) {
                return CompletableFuture.failedFuture(new IllegalArgumentException("udp vip " + vip.name()
                        + ": transport " + transport.name() + " has no NIO event loops"));
            }
            opener = NioSockets::open;
        }
        CompletableFuture<UdpListener> result = new CompletableFuture<>();
        bindNext(vip, loops, 0, address, opener, new UdpStats(), events, options, batch, transport, new ArrayList<>(),
                result);
        return result;
    }

    /**
     * Binds the socket of loop {@code index}, on that loop, then the next; the first one learns the
     * port when 0 was asked. On a failure the sockets bound so far are closed.
     */
    private static void bindNext(Vip vip, List<IoEventLoop> loops, int index, InetSocketAddress address,
                                 Opener opener, UdpStats stats, ConnectionEvents events, UdpOptions options,
                                 int batch, Transport transport, List<Part> bound, CompletableFuture<UdpListener> result) {
        if (index == loops.size()) {
            UdpListener listener = new UdpListener(vip, bound, stats, address);
            log.info("udp listener bound vip={} address={} sockets={} transport={} io={} batch={} max_sessions={}",
                    vip.name(), address, bound.size(), transport.name(), transport.isEpoll() ? "epoll" : "nio",
                    transport.isEpoll() ? batch : 1, options.maxSessions());
            result.complete(listener);
            return;
        }
        IoEventLoop loop = loops.get(index);
        try {
            loop.execute(() -> {
                Sessions sessions = new Sessions(vip, options, batch, stats, events);
                DatagramSockets sockets;
                try {
                    sockets = opener.open(sessions, loop, address, LISTENER_SOCKET_BUFFER);
                } catch (Exception | Error e) {
                    closeAll(bound);
                    result.completeExceptionally(e);
                    return;
                }
                sessions.start(sockets);
                long period = sessions.sweepPeriodNanos();
                ScheduledFuture<?> sweeper = loop.scheduleAtFixedRate(() -> sessions.sweep(System.nanoTime()),
                        period, period, TimeUnit.NANOSECONDS);
                bound.add(new Part(loop, sessions, sockets, sweeper));
                InetSocketAddress next = index == 0
                        ? new InetSocketAddress(address.getAddress(), sockets.localAddress().getPort()) : address;
                bindNext(vip, loops, index + 1, next, opener, stats, events, options, batch, transport, bound,
                        result);
            });
        } catch (RejectedExecutionException e) { // the group is shutting down
            closeAll(bound);
            result.completeExceptionally(e);
        }
    }

    /** Closes {@code parts}, each on its loop (a loop already shut down closed its sockets itself). */
    private static List<CompletableFuture<Void>> closeAll(List<Part> parts) {
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (Part p : parts) {
            CompletableFuture<Void> d = new CompletableFuture<>();
            done.add(d);
            try {
                p.loop.execute(() -> {
                    try {
                        p.close();
                    } finally {
                        d.complete(null);
                    }
                });
            } catch (RejectedExecutionException e) {
                d.complete(null);
            }
        }
        return done;
    }

    /** The bound address (the actual port when 0 was configured). */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    public UdpStats stats() {
        return stats;
    }

    /** For tests: the socket side of each listening socket. */
    List<DatagramSockets> sockets() {
        return parts.stream().map(Part::sockets).toList();
    }

    /**
     * Closes every session open now, each on its loop, and keeps listening (the VIP's address was
     * released): completes with how many were closed.
     */
    public CompletableFuture<Integer> endSessions() {
        List<CompletableFuture<Integer>> ends = new java.util.ArrayList<>();
        for (Part p : parts) {
            CompletableFuture<Integer> f = new CompletableFuture<>();
            try {
                p.loop.execute(() -> f.complete(p.sessions.endSessions()));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                f.complete(0); // the loop is shutting down: its sessions go with it
            }
            ends.add(f);
        }
        return CompletableFuture.allOf(ends.toArray(CompletableFuture[]::new))
                .thenApply(v -> ends.stream().mapToInt(CompletableFuture::join).sum());
    }

    /** Closes the listening sockets and every session (their upstream sockets). Idempotent. */
    public CompletableFuture<Void> close() {
        if (!closing.compareAndSet(false, true)) {
            return closed;
        }
        SelfLoops.closed(SelfLoops.Proto.UDP, vip, localAddress);
        CompletableFuture.allOf(closeAll(parts).toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
            log.info("udp listener closed vip={} address={} {}", vip.name(), localAddress, stats);
            closed.complete(null);
        });
        return closed;
    }
}
