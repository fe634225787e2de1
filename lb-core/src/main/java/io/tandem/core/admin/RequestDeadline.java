package io.tandem.core.admin;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes a connection whose request does not arrive whole in time (slowloris: a header byte a
 * second keeps an idle timer from ever firing). Armed by the first bytes of a request, disarmed
 * by {@link AdminHandler} when the request is complete. Sits first in the pipeline; all state is
 * confined to the channel's event loop.
 */
final class RequestDeadline extends ChannelDuplexHandler {
    private static final Logger log = LoggerFactory.getLogger(RequestDeadline.class);

    private final long timeoutNanos;
    private ChannelHandlerContext ctx;
    private ScheduledFuture<?> deadline;

    RequestDeadline(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (deadline == null) {
            deadline = ctx.executor().schedule(this::expire, timeoutNanos, TimeUnit.NANOSECONDS);
        }
        ctx.fireChannelRead(msg);
    }

    /** The request being read is complete; the next bytes start a new deadline. */
    void requestComplete() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }

    private void expire() {
        deadline = null;
        log.debug("admin request too slow, closing remote={} timeout_ms={}", ctx.channel().remoteAddress(),
                TimeUnit.NANOSECONDS.toMillis(timeoutNanos));
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        requestComplete();
        ctx.fireChannelInactive();
    }
}
