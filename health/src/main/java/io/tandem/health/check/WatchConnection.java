package io.tandem.health.check;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.function.BiConsumer;

/**
 * A connection held open to a backend between probes, only to hear it end: the kernel answers a
 * process death with FIN or RST on every connection at once, so the check learns of it in
 * microseconds instead of at its next probe (a hung process or a lost host sends nothing: those
 * are still the probes' job). Whatever the backend sends is read and dropped. Confined to one
 * event loop; {@code lost} runs at most once (when the connection ends, or when it cannot be
 * opened), and never after {@link #close}.
 */
final class WatchConnection {
    private final EventLoop loop;
    private final BiConsumer<WatchConnection, String> lost;
    private final Channel channel;
    private boolean connected;
    private boolean done;
    private boolean closed;
    private long connectedAtNanos;

    WatchConnection(Bootstrap bootstrap, EventLoop loop, InetSocketAddress address,
                    BiConsumer<WatchConnection, String> lost) {
        this.loop = loop;
        this.lost = lost;
        ChannelFuture f = bootstrap.clone(loop)
                // An orderly close on our side: the backend sees a normal end, not a reset, when
                // the check stops (the probes' SO_LINGER 0 is for their own short connections).
                .option(ChannelOption.SO_LINGER, -1)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        ReferenceCountUtil.release(msg); // nothing is expected; nothing is kept
                    }

                    @Override
                    public void channelInactive(ChannelHandlerContext ctx) {
                        end("closed by the backend");
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        end(Probe.describe(cause));
                        ctx.close();
                    }
                })
                .connect(address);
        this.channel = f.channel();
        f.addListener(fu -> {
            if (fu.isSuccess()) {
                connected = true;
                connectedAtNanos = System.nanoTime();
            } else if (!done) {
                // Not a verdict, but a question for the probes, asked at once: the watch is opened
                // right after a passing probe, so a refused watch most often means the backend died
                // between the two (a dying process closes its connections and its listener one by
                // one, and a probe sent at the first FIN can still reach the listener). Deferred:
                // the check may still be inside the call that opened this watch.
                done = true;
                String why = "watch connection failed: " + Probe.describe(fu.cause());
                loop.execute(() -> {
                    if (!closed) {
                        lost.accept(this, why);
                    }
                });
            }
        });
    }

    /** True once the watch has ended (lost, failed to connect or closed). */
    boolean ended() {
        return done;
    }

    /** How long the connection had been up, in nanoseconds (0 if it never connected). */
    long livedNanos() {
        return connected ? System.nanoTime() - connectedAtNanos : 0;
    }

    private void end(String why) {
        if (done) {
            return;
        }
        done = true;
        if (connected) {
            lost.accept(this, why);
        }
    }

    /** Closes the watch without reporting it. */
    void close() {
        assert loop.inEventLoop();
        done = true;
        closed = true;
        channel.close();
    }
}
