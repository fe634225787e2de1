package io.tandem.health.check;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.Consumer;

/** Passes when a TCP connection is established within the timeout (HAProxy plain {@code check}). */
final class TcpConnectProbe extends Probe {

    /** The one handler of every connect probe: nothing is read, so anything that arrives is dropped. */
    static final ChannelHandler IGNORE = new Ignore();

    private final Bootstrap bootstrap;

    /** @param bootstrap bound to {@code loop}, with its handler ({@link #IGNORE}) */
    TcpConnectProbe(Bootstrap bootstrap, EventLoop loop, InetSocketAddress address, Duration timeout,
                    Consumer<Outcome> done) {
        super(loop, address, timeout, done);
        this.bootstrap = bootstrap;
    }

    @Override
    Channel open() {
        ChannelFuture f = bootstrap.connect(address);
        f.addListener(fu -> {
            if (fu.isSuccess()) {
                finish(true, "connected");
            } else {
                finish(false, describe(fu.cause()));
            }
        });
        return f.channel();
    }

    @ChannelHandler.Sharable
    private static final class Ignore extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // The probe has its verdict from the connect future; a late error only ends the channel.
        }
    }
}
