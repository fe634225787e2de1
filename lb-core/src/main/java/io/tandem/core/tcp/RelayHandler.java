package io.tandem.core.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * The one handler in each channel of a proxied connection (the client's and the backend's).
 * It routes the channel's events to the connection: what this channel reads belongs to the
 * direction it is the source of; its writability belongs to the direction it is the target of.
 */
final class RelayHandler extends ChannelDuplexHandler {
    private final ProxyConnection conn;
    private final boolean clientSide;

    RelayHandler(ProxyConnection conn, boolean clientSide) {
        this.conn = conn;
        this.clientSide = clientSide;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (clientSide) {
            conn.clientActive();
        }
    }

    /** A backend channel of a failed or abandoned connect attempt is not part of the connection. */
    private boolean stale(ChannelHandlerContext ctx) {
        return !clientSide && ctx.channel() != conn.backendChannel();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Relay out = stale(ctx) ? null : conn.outOf(clientSide);
        if (out != null && msg instanceof ByteBuf buf) {
            out.onRead(buf);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Relay out = stale(ctx) ? null : conn.outOf(clientSide);
        if (out != null) {
            out.onReadComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Relay in = stale(ctx) ? null : conn.into(clientSide);
        if (in != null) {
            in.onTargetWritabilityChanged();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            Relay out = stale(ctx) ? null : conn.outOf(clientSide);
            if (out != null) {
                out.onInputShutdown();
            }
        }
        // ChannelInputShutdownReadComplete and others: nothing to do.
        ReferenceCountUtil.release(evt);
    }

    /**
     * Outbound close() calls (ours and the control loop's) pass here; Netty's own close at EOF
     * does not. That is how the connection tells a peer's EOF from a requested close.
     */
    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (!stale(ctx)) {
            conn.closeRequested(clientSide);
        }
        ctx.close(promise);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        conn.exceptionCaught(ctx.channel(), cause);
    }
}
