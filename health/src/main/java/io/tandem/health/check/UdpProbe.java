package io.tandem.health.check;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * UDP send/expect on a <em>connected</em> datagram channel: send one datagram, pass when a reply
 * arrives (starting with the expected bytes, if given). Connecting the socket makes the kernel
 * report an ICMP port-unreachable as {@code PortUnreachableException} on the next read, so a
 * closed port fails in about a millisecond instead of waiting for the timeout. Silence (a
 * firewall dropping, a hung server) still costs the whole timeout: UDP has no other signal.
 */
final class UdpProbe extends Probe {

    private final Bootstrap bootstrap;
    private final byte[] send;
    private final byte[] expectPrefix;  // null = any reply passes

    UdpProbe(Bootstrap bootstrap, EventLoop loop, InetSocketAddress address, Duration timeout,
             byte[] send, byte[] expectPrefix, Consumer<Outcome> done) {
        super(loop, address, timeout, done);
        this.bootstrap = bootstrap;
        this.send = send;
        this.expectPrefix = expectPrefix;
    }

    @Override
    String progress() {
        return " (no reply)";
    }

    @Override
    Channel open() {
        ChannelFuture f = bootstrap.clone(loop).handler(new Handler()).connect(address);
        f.addListener(fu -> {
            if (!fu.isSuccess()) {
                finish(false, describe(fu.cause()));
                return;
            }
            f.channel().writeAndFlush(Unpooled.wrappedBuffer(send)).addListener(wf -> {
                if (!wf.isSuccess()) {
                    finish(false, describe(wf.cause()));
                }
            });
        });
        return f.channel();
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (finished()) {
                    return;
                }
                ByteBuf content = msg instanceof DatagramPacket p ? p.content() : msg instanceof ByteBuf b ? b : null;
                if (content == null) {
                    return;
                }
                if (expectPrefix == null) {
                    finish(true, "reply received");
                } else if (content.readableBytes() >= expectPrefix.length
                        && ByteBufUtil.equals(content, content.readerIndex(), Unpooled.wrappedBuffer(expectPrefix), 0,
                        expectPrefix.length)) {
                    finish(true, "reply matched");
                } else {
                    finish(false, "unexpected reply " + quoteBytes(ByteBufUtil.getBytes(content, content.readerIndex(),
                            Math.min(content.readableBytes(), 65)), 64));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(false, describe(cause));
        }
    }
}
