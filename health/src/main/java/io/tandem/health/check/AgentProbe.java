package io.tandem.health.check;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * One agent exchange (HAProxy {@code agent-check}): connect, send {@code agent-send} if any, read
 * up to the first CR or LF. Passes with the line as its detail; fails when the agent cannot be
 * reached, closes before a line end (HAProxy: "Ignoring incomplete line from agent"), or sends
 * {@value #MAX_LINE} bytes without one (HAProxy's check buffer is as large).
 */
final class AgentProbe extends Probe {

    static final int MAX_LINE = 16 * 1024;

    private final Bootstrap bootstrap;
    private final byte[] send;
    private byte[] received = new byte[128];
    private int length;

    AgentProbe(Bootstrap bootstrap, EventLoop loop, InetSocketAddress address, Duration timeout, byte[] send,
               Consumer<Outcome> done) {
        super(loop, address, timeout, done);
        this.bootstrap = bootstrap;
        this.send = send;
    }

    @Override
    String progress() {
        return ", received " + quoteBytes(received, 0, length, 64) + " without a line end";
    }

    @Override
    Channel open() {
        ChannelFuture f = bootstrap.clone(loop).handler(new Handler()).connect(address);
        f.addListener(fu -> {
            if (!fu.isSuccess()) {
                finish(false, describe(fu.cause()));
            }
        });
        return f.channel();
    }

    private void append(ByteBuf buf) {
        while (buf.isReadable() && !finished()) {
            byte b = buf.readByte();
            if (b == '\r' || b == '\n') {
                finish(true, new String(received, 0, length, StandardCharsets.ISO_8859_1));
                return;
            }
            if (length == MAX_LINE) {
                finish(false, "no line end in the first " + MAX_LINE + " bytes");
                return;
            }
            if (length == received.length) {
                received = Arrays.copyOf(received, Math.min(MAX_LINE, received.length * 2));
            }
            received[length++] = b;
        }
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (send != null && send.length > 0) {
                ctx.writeAndFlush(Unpooled.wrappedBuffer(send)).addListener(fu -> {
                    if (!fu.isSuccess() && !finished()) {
                        finish(false, describe(fu.cause()));
                    }
                });
            }
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (!finished() && msg instanceof ByteBuf buf) {
                    append(buf);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(false, "connection closed before a line end, received " + quoteBytes(received, 0, length, 64));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(false, describe(cause));
        }
    }
}
