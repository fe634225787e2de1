package io.tandem.health.check;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.Consumer;

/** Passes when a TCP connection is established within the timeout (HAProxy plain {@code check}). */
final class TcpConnectProbe extends Probe {

    private final Bootstrap bootstrap;

    TcpConnectProbe(Bootstrap bootstrap, EventLoop loop, InetSocketAddress address, Duration timeout,
                    Consumer<Outcome> done) {
        super(loop, address, timeout, done);
        this.bootstrap = bootstrap;
    }

    @Override
    Channel open() {
        ChannelFuture f = bootstrap.clone(loop).handler(new ChannelInboundHandlerAdapter()).connect(address);
        f.addListener(fu -> {
            if (fu.isSuccess()) {
                finish(true, "connected");
            } else {
                finish(false, describe(fu.cause()));
            }
        });
        return f.channel();
    }
}
