package io.tandem.health.check;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

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
import java.time.Duration;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * TCP send/expect (HAProxy {@code tcp-check send} + {@code expect string|rstring}): connect,
 * optionally send bytes, then read until the expectation is met, proven impossible, the peer
 * closes, or {@value #MAX_READ} bytes have arrived. A literal expectation is a prefix of the
 * reply and fails as soon as a byte differs; a regex is searched ({@code find}) in the reply
 * read one char per byte (ISO-8859-1, as the config stores the pattern: {@code \xNN} in the
 * regex is byte NN, UTF-8 text in it is its bytes), so anchor it with {@code ^} to match the start.
 */
final class SendExpectProbe extends Probe {

    static final int MAX_READ = 16 * 1024;

    private final Bootstrap bootstrap;
    private final byte[] send;          // null = send nothing (server speaks first)
    private final byte[] expectPrefix;  // null in regex mode
    private final Pattern expectRegex;  // null in prefix mode
    private byte[] received = new byte[256];
    private int length;

    SendExpectProbe(Bootstrap bootstrap, EventLoop loop, InetSocketAddress address, Duration timeout,
                    byte[] send, byte[] expectPrefix, Pattern expectRegex, Consumer<Outcome> done) {
        super(loop, address, timeout, done);
        this.bootstrap = bootstrap;
        this.send = send;
        this.expectPrefix = expectPrefix;
        this.expectRegex = expectRegex;
    }

    @Override
    String progress() {
        return ", received " + quoteBytes(received, 0, length, 64);
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
        int n = Math.min(buf.readableBytes(), MAX_READ - length);
        if (length + n > received.length) {
            received = Arrays.copyOf(received, Math.max(length + n, received.length * 2));
        }
        buf.readBytes(received, length, n);
        length += n;
    }

    private void evaluate() {
        if (expectPrefix != null) {
            int n = Math.min(length, expectPrefix.length);
            if (!Arrays.equals(received, 0, n, expectPrefix, 0, n)) {
                finish(false, "unexpected reply " + quoteBytes(received, 0, length, 64));
            } else if (n == expectPrefix.length) {
                finish(true, "reply matched");
            }
            return;
        }
        if (expectRegex.matcher(new String(received, 0, length, ISO_8859_1)).find()) {
            finish(true, "reply matched");
        } else if (length >= MAX_READ) {
            finish(false, "no match in the first " + MAX_READ + " bytes");
        }
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (send != null && send.length > 0) {
                ctx.writeAndFlush(Unpooled.wrappedBuffer(send)).addListener(fu -> {
                    if (!fu.isSuccess()) {
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
                    evaluate();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(false, "connection closed, received " + quoteBytes(received, 0, length, 64));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(false, describe(cause));
        }
    }
}
