package io.tandem.core.admin;

import static java.util.Objects.requireNonNull;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.tandem.config.AdminSettings;
import io.tandem.core.control.NodeControl;
import io.tandem.core.transport.Transport;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's admin HTTP/1.1 API: health and readiness for whoever checks the node, Prometheus
 * metrics, the node's view as JSON, reload and backend drain/disable/enable (see
 * {@code docs/admin-api.md}). Runs on the event-loop group it is given and never blocks it:
 * control-loop futures are awaited asynchronously, and {@link NodeControl#view()} and scrapes
 * run on virtual threads. When {@link AdminSettings#token()} is set, every endpoint but
 * {@code /health} demands {@code Authorization: Bearer <token>}.
 *
 * <p>The caller decides whether to start it at all ({@link AdminSettings#enabled()}).
 */
public final class AdminServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    /** Admin requests carry no meaningful body; anything bigger is a mistake or an attack. */
    static final int MAX_BODY_BYTES = 64 * 1024;
    private static final int IDLE_SECONDS = 60;

    private final Channel serverChannel;
    private final ChannelGroup connections;
    private final ExecutorService offloop;
    private final AtomicBoolean closed = new AtomicBoolean();

    private AdminServer(Channel serverChannel, ChannelGroup connections, ExecutorService offloop) {
        this.serverChannel = serverChannel;
        this.connections = connections;
        this.offloop = offloop;
    }

    /**
     * Binds {@code settings.listen()} and starts serving.
     *
     * @return completes with the running server, or exceptionally with an
     *         {@link IllegalStateException} naming the address when the bind fails
     */
    public static CompletableFuture<AdminServer> start(AdminSettings settings, EventLoopGroup group, Transport transport,
                                                       NodeControl control, PrometheusMeterRegistry registry) {
        requireNonNull(settings, "settings");
        requireNonNull(group, "group");
        requireNonNull(transport, "transport");
        requireNonNull(control, "control");
        requireNonNull(registry, "registry");
        ExecutorService offloop = Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("tandem-admin-", 0).factory());
        AdminRouter router = new AdminRouter(control, registry, offloop, settings.token());
        ChannelGroup connections = new DefaultChannelGroup("tandem-admin", GlobalEventExecutor.INSTANCE);
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.add(ch);
                        ch.pipeline().addLast(
                                new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS),
                                new HttpServerCodec(),
                                new Aggregator(),
                                new AdminHandler(router));
                    }
                });
        CompletableFuture<AdminServer> result = new CompletableFuture<>();
        InetSocketAddress address;
        try {
            address = new InetSocketAddress(settings.listen().host(), settings.listen().port());
        } catch (RuntimeException e) {
            offloop.close();
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "admin.listen: " + settings.listen() + " (cannot resolve: " + e.getMessage() + ")", e));
        }
        b.bind(address).addListener(f -> {
            if (f.isSuccess()) {
                Channel ch = ((io.netty.channel.ChannelFuture) f).channel();
                log.info("admin API listening address={} auth={}", format((InetSocketAddress) ch.localAddress()),
                        settings.token().isPresent() ? "bearer" : "none");
                result.complete(new AdminServer(ch, connections, offloop));
            } else {
                offloop.close();
                result.completeExceptionally(new IllegalStateException("admin.listen: " + settings.listen()
                        + " (cannot bind: " + f.cause().getMessage() + ")", f.cause()));
            }
        });
        return result;
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
