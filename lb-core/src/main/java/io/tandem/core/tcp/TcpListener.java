package io.tandem.core.tcp;

import static java.util.Objects.requireNonNull;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.tandem.config.HostPort;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.vip.SelfLoops;
import io.tandem.core.vip.Vip;
import io.tandem.sys.RateLimitedLog;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bound sockets of one TCP VIP. On epoll the event loops share one listening socket (one
 * accept queue, {@code EPOLLEXCLUSIVE}, connections placed by the loops' live counts:
 * {@link AcceptGroup}), with {@code IP_FREEBIND} so a standby node can bind a VIP address it does
 * not own yet and accept the moment the address is added; on the fallback without the loop's
 * epoll descriptor each loop binds its own {@code SO_REUSEPORT} socket ({@link EpollLoop}). On
 * NIO one server channel on the first loop spreads its connections over the loops. Either way
 * each accepted connection is a {@link TcpConnection} over {@link TcpSocket}s.
 *
 * <p>Each accepted connection reads the VIP's pool snapshot once and keeps it for its life (a
 * reload or membership change never alters a live connection). Closing the listener stops
 * accepting; established connections are left alone (drain is the caller's decision).
 */
public final class TcpListener {
    private static final Logger log = LoggerFactory.getLogger(TcpListener.class);

    private final Vip vip;
    private final List<Acceptor> acceptors;
    private final List<VipOnLoop> loops;
    private final InetSocketAddress localAddress;

    private TcpListener(Vip vip, List<Acceptor> acceptors, List<VipOnLoop> loops, InetSocketAddress localAddress) {
        this.vip = vip;
        this.acceptors = List.copyOf(acceptors);
        this.loops = List.copyOf(loops);
        this.localAddress = localAddress;
        SelfLoops.listening(SelfLoops.Proto.TCP, vip, localAddress);
    }

    /**
     * Binds the VIP's listen address on the loops of {@code group} (all of them serve its
     * connections). Completes once every loop listens, or with the first error (nothing stays bound).
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
        List<IoEventLoop> loops = new ArrayList<>();
        for (EventExecutor loop : group) {
            loops.add((IoEventLoop) loop);
        }
        new Binding(vip, events, address, loops, transport.isEpoll(), result).next(0);
        return result;
    }

    /** Live connections per event loop; read across loops, for tests. */
    int[] liveByLoop() {
        return loops.stream().mapToInt(VipOnLoop::live).toArray();
    }

    /** The actual bound address (with the real port when the config asked for port 0). */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /** Stops accepting. Existing connections are not closed. */
    public CompletableFuture<Void> close() {
        SelfLoops.closed(SelfLoops.Proto.TCP, vip, localAddress);
        List<CompletableFuture<Void>> all = new ArrayList<>(acceptors.size());
        for (Acceptor a : acceptors) {
            all.add(CompletableFuture.runAsync(a::close, a.home.loop.executor));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> log.info("listener closed vip={} address={}", vip.name(), localAddress));
    }

    /**
     * Binding, one loop after the other on each loop's own thread (the first fixes the port when
     * the config says 0, and decides whether the loops share one socket).
     */
    private static final class Binding {
        private final Vip vip;
        private final ConnectionEvents events;
        // Shared by every loop of the listener: a limit storm logs once a second, not per connection.
        private final RateLimitedLog warn = RateLimitedLog.every(Duration.ofSeconds(1));
        private final List<IoEventLoop> loops;
        private final boolean epoll;
        private final CompletableFuture<TcpListener> result;
        private final List<Acceptor> acceptors = new ArrayList<>();
        private final List<VipOnLoop> homes = new ArrayList<>();
        private InetSocketAddress address;
        /** The loops share the first one's socket: their group; null when each has its own (or on one loop). */
        private AcceptGroup group;
        /** NIO: the bound server channel, registered on the first loop once every loop is known. */
        private ServerSocketChannel nioChannel;

        Binding(Vip vip, ConnectionEvents events, InetSocketAddress address, List<IoEventLoop> loops, boolean epoll,
                CompletableFuture<TcpListener> result) {
            this.vip = vip;
            this.events = events;
            this.address = address;
            this.loops = loops;
            this.epoll = epoll;
            this.result = result;
        }

        void next(int index) {
            IoEventLoop loop = loops.get(index);
            loop.execute(() -> {
                try {
                    if (epoll) {
                        bindEpoll(index, EpollLoop.of(loop));
                    } else {
                        bindNio(index, NioLoop.of(loop));
                    }
                } catch (IOException | RuntimeException e) {
                    fail(e);
                    return;
                }
                if (index + 1 < loops.size()) {
                    next(index + 1);
                } else if (nioChannel != null) {
                    loops.getFirst().execute(this::startNio);
                } else {
                    done();
                }
            });
        }

        private void bindEpoll(int index, EpollLoop loop) throws IOException {
            int fd;
            if (index == 0) {
                fd = loop.listen(address);
                InetSocketAddress actual = loop.localAddress(fd);
                address = actual != null ? actual : address;
                // Shared only with more than one loop, and only where EPOLLEXCLUSIVE can be set (the descriptor).
                group = loops.size() > 1 && loop.hasDescriptor() ? new AcceptGroup() : null;
            } else if (group != null) {
                if (!loop.hasDescriptor()) {
                    throw new IllegalStateException("loop " + index + " of a shared accept queue has no epoll descriptor");
                }
                fd = loop.dup(((EpollListener) acceptors.getFirst()).fd());
            } else {
                fd = loop.listen(address); // its own SO_REUSEPORT socket, on the port the first one got
            }
            VipOnLoop home = home(loop);
            acceptors.add(EpollListener.open(home, group, loop, fd));
        }

        private void bindNio(int index, NioLoop loop) throws IOException {
            if (index == 0) {
                nioChannel = NioListener.bind(address);
                address = (InetSocketAddress) nioChannel.getLocalAddress();
                group = new AcceptGroup();
            }
            home(loop);
        }

        private VipOnLoop home(TcpLoop loop) {
            VipOnLoop home = new VipOnLoop(vip, events, warn, address, loop);
            homes.add(home);
            if (group != null) {
                group.add(home);
            }
            return home;
        }

        private void startNio() {
            try {
                acceptors.add(NioListener.open(homes.getFirst(), group, (NioLoop) homes.getFirst().loop, nioChannel));
            } catch (IOException | RuntimeException e) {
                fail(e);
                return;
            }
            done();
        }

        private void done() {
            TcpListener listener = new TcpListener(vip, acceptors, homes, address);
            log.info("listener bound vip={} address={} transport={} loops={} accept_queue={}", vip.name(), address,
                    epoll ? "epoll" : "nio", homes.size(),
                    group == null ? "per-loop" : epoll ? "shared" : "single-acceptor");
            result.complete(listener);
        }

        /** Closes what was bound (each on its loop) and fails the bind. */
        private void fail(Throwable e) {
            for (Acceptor a : acceptors) {
                a.home.loop.executor.execute(a::close);
            }
            if (nioChannel != null && acceptors.isEmpty()) {
                try {
                    nioChannel.close();
                } catch (IOException ignored) {
                    // the bind failed anyway
                }
            }
            result.completeExceptionally(e);
        }
    }
}
