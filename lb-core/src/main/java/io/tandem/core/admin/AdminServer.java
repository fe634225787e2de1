package io.tandem.core.admin;

import static java.util.Objects.requireNonNull;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.tandem.config.AdminSettings;
import io.tandem.core.control.NodeControl;
import io.tandem.core.transport.Transport;
import io.tandem.sys.RateLimitedLog;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.channels.spi.SelectorProvider;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's admin HTTP/1.1 API: health and readiness for whoever checks the node, Prometheus
 * metrics, the node's view as JSON, reload and backend drain/disable/enable (see
 * {@code docs/admin-api.md}). Runs on the event-loop group it is given and never blocks it:
 * control-loop futures are awaited asynchronously, {@link NodeControl#view()} runs on virtual
 * threads and scrapes on one platform thread. When {@link AdminSettings#token()} is set, every
 * endpoint but {@code /health} demands {@code Authorization: Bearer <token>}.
 *
 * <p>Strict about HTTP, since anything on the host (or a browser on it) can reach it: HTTP/1.0
 * and 1.1 only (505), no {@code Transfer-Encoding} but {@code chunked} (400 when chunked is not final, 501 for another coding before it), never both
 * {@code Content-Length} and {@code Transfer-Encoding} (400), a request must arrive whole within
 * {@link Limits#requestTimeout} (slowloris), idle connections close after
 * {@link Limits#idleTimeout}, and at most {@link Limits#maxConnections} are open at once (more
 * are closed on accept). The Host and browser guards are in {@link AdminRouter}.
 *
 * <p>The token and the allowed host names change at run time through {@link #update}; the
 * listen address and {@code enabled} need a restart.
 *
 * <p>The caller decides whether to start it at all ({@link AdminSettings#enabled()}).
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    /** Admin requests carry no meaningful body; anything bigger is a mistake or an attack. */
    static final int MAX_BODY_BYTES = 64 * 1024;

    /**
     * Connection limits.
     *
     * @param requestTimeout from a request's first byte to its last, else the connection closes
     * @param idleTimeout    a keep-alive connection with nothing to read or write closes after this
     * @param maxConnections open admin connections at most; one more is closed on accept
     */
    record Limits(Duration requestTimeout, Duration idleTimeout, int maxConnections) {
        static final Limits DEFAULTS = new Limits(Duration.ofSeconds(10), Duration.ofSeconds(30), 256);
    }

    private final Channel serverChannel;
    private final ChannelGroup connections;
    private final ExecutorService offloop;
    private final ExecutorService scrapes;
    private final AdminRouter router;
    private final AtomicBoolean closed = new AtomicBoolean();
    private AdminSettings settings; // guarded by this

    private AdminServer(Channel serverChannel, ChannelGroup connections, ExecutorService offloop,
                        ExecutorService scrapes, AdminRouter router, AdminSettings settings) {
        this.serverChannel = serverChannel;
        this.connections = connections;
        this.offloop = offloop;
        this.scrapes = scrapes;
        this.router = router;
        this.settings = settings;
    }

    /**
     * Binds {@code settings.listen()} and starts serving.
     *
     * @return completes with the running server, or exceptionally with an
     *         {@link IllegalStateException} naming the address when the bind fails
     */
    public static CompletableFuture<AdminServer> start(AdminSettings settings, EventLoopGroup group, Transport transport,
                                                       NodeControl control, PrometheusMeterRegistry registry) {
        return start(settings, group, transport, control, registry, Limits.DEFAULTS);
    }

    static CompletableFuture<AdminServer> start(AdminSettings settings, EventLoopGroup group, Transport transport,
                                                NodeControl control, PrometheusMeterRegistry registry, Limits limits) {
        requireNonNull(settings, "settings");
        requireNonNull(group, "group");
        requireNonNull(transport, "transport");
        requireNonNull(control, "control");
        requireNonNull(registry, "registry");
        requireNonNull(limits, "limits");
        InetSocketAddress address;
        try {
            address = new InetSocketAddress(settings.listen().host(), settings.listen().port());
            if (address.isUnresolved()) {
                throw new IllegalArgumentException("unknown host " + settings.listen().host());
            }
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "admin.listen: " + settings.listen() + " (cannot resolve: " + e.getMessage() + ")", e));
        }
        ExecutorService offloop = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("tandem-admin-", 0).factory());
        ExecutorService scrapes = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().name("tandem-admin-scrape").daemon(true).factory());
        AdminRouter router = new AdminRouter(control, registry, offloop, scrapes, settings);
        ChannelGroup connections = new DefaultChannelGroup("tandem-admin", GlobalEventExecutor.INSTANCE);
        AtomicInteger open = new AtomicInteger();
        // A connection flood logs one line a second, not one per connection.
        RateLimitedLog refusedWarn = RateLimitedLog.every(Duration.ofSeconds(1));
        // The socket of the listen address's family: 0.0.0.0 must not also bind [::] (a dual-stack
        // socket would, and an operator who wrote an IPv4 address did not ask for IPv6).
        SocketProtocolFamily family = address.getAddress() instanceof Inet4Address
                ? SocketProtocolFamily.INET : SocketProtocolFamily.INET6;
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channelFactory(serverChannelFactory(transport, family))
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (open.incrementAndGet() > limits.maxConnections()) {
                            open.decrementAndGet();
                            long held = refusedWarn.admit();
                            if (held >= 0) {
                                log.warn("admin connection refused remote={} reason=\"{} connections open (max)\" "
                                        + "suppressed_since_last={}", ch.remoteAddress(), limits.maxConnections(), held);
                            }
                            ch.config().setOption(ChannelOption.SO_LINGER, 0);
                            ch.close();
                            return;
                        }
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        connections.add(ch);
                        RequestDeadline deadline = new RequestDeadline(limits.requestTimeout());
                        ch.pipeline().addLast(
                                deadline,
                                new IdleStateHandler(0, 0, limits.idleTimeout().toMillis(), TimeUnit.MILLISECONDS),
                                new HttpResponseEncoder(),
                                new AdminRequestDecoder(),
                                new Aggregator(),
                                new AdminHandler(router, deadline));
                    }
                });
        CompletableFuture<AdminServer> result = new CompletableFuture<>();
        b.bind(address).addListener(f -> {
            if (f.isSuccess()) {
                Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
                log.info("admin API listening address={} auth={} allowed_hosts={}",
                        format((InetSocketAddress) ch.localAddress()),
                        settings.token().isPresent() ? "bearer" : "none", settings.allowedHosts());
                result.complete(new AdminServer(ch, connections, offloop, scrapes, router, settings));
            } else {
                offloop.close();
                scrapes.shutdownNow();
                result.completeExceptionally(new IllegalStateException("admin.listen: " + settings.listen()
                        + " (cannot bind: " + f.cause().getMessage() + ")", f.cause()));
            }
        });
        return result;
    }

    private static ChannelFactory<ServerChannel> serverChannelFactory(Transport transport, SocketProtocolFamily family) {
        if (transport.serverChannel() == EpollServerSocketChannel.class) {
            return () -> new EpollServerSocketChannel(family);
        }
        if (transport.serverChannel() == NioServerSocketChannel.class) {
            return () -> new NioServerSocketChannel(SelectorProvider.provider(), family);
        }
        return new ReflectiveChannelFactory<>(transport.serverChannel());
    }

    /**
     * Applies what of the admin section can change on a running node: the token (the old one is
     * refused from the next request on) and the allowed host names. A changed {@code listen} or
     * {@code enabled} is only logged here: it needs a restart, which the reload reports. A token
     * removed while the API listens on a non-loopback address is kept: dropping it would open the
     * API to the network until the restart that moves it to loopback.
     */
    public synchronized void update(AdminSettings next) {
        requireNonNull(next, "next");
        AdminSettings prev = settings;
        AdminSettings applied = next;
        if (next.token().isEmpty() && prev.token().isPresent()
                && !localAddress().getAddress().isLoopbackAddress()) {
            log.warn("admin token kept listen={} reason=\"the API listens on a non-loopback address; removing the"
                    + " token needs a restart\"", format(localAddress()));
            applied = new AdminSettings(next.enabled(), next.listen(), prev.token(), next.allowedHosts());
        }
        router.update(applied);
        settings = applied;
        if (!prev.token().equals(applied.token())) {
            log.info("admin token rotated auth={}", applied.token().isPresent() ? "bearer" : "none");
        }
        if (!prev.allowedHosts().equals(applied.allowedHosts())) {
            log.info("admin allowed hosts changed allowed_hosts={}", applied.allowedHosts());
        }
        if (!prev.sameListener(next)) {
            log.warn("admin listener unchanged until restart serving={} configured_listen={} configured_enabled={}",
                    format(localAddress()), next.listen(), next.enabled());
        }
    }

    /** The bound address (useful with port 0). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** Stops accepting, closes open admin connections. Idempotent; never shuts the group down. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        var closing = serverChannel.close();
        var closingAll = connections.close();
        if (!serverChannel.eventLoop().inEventLoop()) {
            closing.awaitUninterruptibly(5, TimeUnit.SECONDS);
            closingAll.awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        offloop.shutdownNow();
        scrapes.shutdownNow();
        log.info("admin API closed");
    }

    private static String format(InetSocketAddress a) {
        String host = a.getHostString();
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + a.getPort() : host + ":" + a.getPort();
    }

    /** Answers an oversized body through the handler, so it stays in order and is JSON. */
    private static final class Aggregator extends HttpObjectAggregator {
        Aggregator() {
            super(MAX_BODY_BYTES);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            ctx.fireUserEventTriggered(AdminHandler.TooLarge.INSTANCE);
        }
    }
}
