package io.tandem.core.admin;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One admin connection. Requests may be answered asynchronously (the control loop completes
 * their futures on its own thread), yet HTTP/1.1 demands responses in request order, so each
 * request takes a slot in a queue and responses are written from the head as they become
 * ready. All fields are confined to the channel's event loop.
 */
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);
    /** Pipelined requests beyond this stop reading from the socket until answers catch up. */
    private static final int MAX_IN_FLIGHT = 16;

    private static final String SEC_FETCH_SITE = "Sec-Fetch-Site";

    /** Fired by the aggregator when a request body is too large. */
    enum TooLarge { INSTANCE }

    private final AdminRouter router;
    private final RequestDeadline deadline;
    private final ArrayDeque<Slot> slots = new ArrayDeque<>();
    private boolean closing;

    AdminHandler(AdminRouter router, RequestDeadline deadline) {
        this.router = router;
        this.deadline = deadline;
    }

    private static final class Slot {
        final HttpVersion version;
        final boolean head;
        final boolean keepAlive;
        AdminResponse response;

        Slot(HttpVersion version, boolean head, boolean keepAlive) {
            this.version = version;
            this.head = head;
            this.keepAlive = keepAlive;
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        deadline.requestComplete();
        if (closing) {
            return; // a request pipelined after "Connection: close" is not answered
        }
        if (req.decoderResult().isFailure()) {
            Throwable cause = req.decoderResult().cause();
            log.debug("admin malformed request remote={} cause=\"{}\"", remote(ctx), cause.toString());
            AdminRequestDecoder.Refused r = AdminRequestDecoder.refusal(cause);
            enqueue(ctx, HttpVersion.HTTP_1_1, false, false, AdminResponse.error(r.status(), r.getMessage()));
            return;
        }
        HttpVersion version = req.protocolVersion();
        if (!version.equals(HttpVersion.HTTP_1_1) && !version.equals(HttpVersion.HTTP_1_0)) {
            enqueue(ctx, HttpVersion.HTTP_1_1, false, false, AdminResponse.error(505, "HTTP version "
                    + AdminRouter.quoted(version.text()) + " not supported (expected HTTP/1.1 or HTTP/1.0)"));
            return;
        }
        var headers = req.headers();
        if (req.protocolVersion().equals(HttpVersion.HTTP_1_1) && !headers.contains(HttpHeaderNames.HOST)) {
            enqueue(ctx, HttpVersion.HTTP_1_1, false, false, AdminResponse.error(400, "missing Host header"));
            return;
        }
        if (headers.getAll(HttpHeaderNames.HOST).size() > 1) {
            enqueue(ctx, HttpVersion.HTTP_1_1, false, false, AdminResponse.error(400, "more than one Host header"));
            return;
        }
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        boolean head = req.method().equals(HttpMethod.HEAD);
        QueryStringDecoder uri = new QueryStringDecoder(req.uri());
        String rawPath = uri.rawPath();
        var request = new AdminRouter.Request(req.method().name(), rawPath, headers.get(HttpHeaderNames.AUTHORIZATION),
                remote(ctx), headers.get(HttpHeaderNames.HOST), headers.get(HttpHeaderNames.ORIGIN),
                headers.get(SEC_FETCH_SITE), headers.get(HttpHeaderNames.CONTENT_TYPE), uri.parameters());
        Slot slot = new Slot(req.protocolVersion(), head, keepAlive);
        add(ctx, slot);
        router.route(request).whenComplete((response, error) -> {
            AdminResponse r = error == null ? response : AdminResponse.error(500, "internal error: " + error);
            if (ctx.executor().inEventLoop()) {
                complete(ctx, slot, r);
            } else {
                try {
                    ctx.executor().execute(() -> complete(ctx, slot, r));
                } catch (RuntimeException e) {
                    log.debug("admin response dropped, event loop gone remote={}", request.remote());
                }
            }
        });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt == TooLarge.INSTANCE) {
            deadline.requestComplete();
            if (!closing) {
                enqueue(ctx, HttpVersion.HTTP_1_1, false, false,
                        AdminResponse.error(413, "request body too large (max "
                                + AdminServer.MAX_BODY_BYTES + " bytes)"));
            }
        } else if (evt instanceof IdleStateEvent) {
            if (slots.isEmpty()) {
                ctx.close();
            }
        } else {
            super.userEventTriggered(ctx, evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("admin connection error remote={} cause=\"{}\"", remote(ctx), cause.toString());
        ctx.close();
    }

    private void enqueue(ChannelHandlerContext ctx, HttpVersion version, boolean head, boolean keepAlive,
                         AdminResponse response) {
        Slot slot = new Slot(version, head, keepAlive);
        add(ctx, slot);
        complete(ctx, slot, response);
    }

    private void add(ChannelHandlerContext ctx, Slot slot) {
        if (!slot.keepAlive) {
            closing = true;
        }
        slots.add(slot);
        if (slots.size() >= MAX_IN_FLIGHT) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void complete(ChannelHandlerContext ctx, Slot slot, AdminResponse response) {
        slot.response = response;
        boolean wrote = false;
        while (!slots.isEmpty() && slots.peek().response != null) {
            Slot s = slots.poll();
            var future = ctx.write(toNetty(s));
            wrote = true;
            if (!s.keepAlive) {
                future.addListener(ChannelFutureListener.CLOSE);
                slots.clear();
                break;
            }
        }
        if (wrote) {
            ctx.flush();
        }
        if (!closing && slots.size() < MAX_IN_FLIGHT && !ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private static FullHttpResponse toNetty(Slot s) {
        AdminResponse r = s.response;
        FullHttpResponse res = new DefaultFullHttpResponse(s.version, HttpResponseStatus.valueOf(r.status()),
                s.head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(r.body()));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        for (Map.Entry<String, String> h : r.headers().entrySet()) {
            res.headers().set(h.getKey(), h.getValue());
        }
        HttpUtil.setKeepAlive(res, s.keepAlive);
        return res;
    }

    private static String remote(ChannelHandlerContext ctx) {
        SocketAddress a = ctx.channel().remoteAddress();
        if (a instanceof InetSocketAddress isa) {
            String host = isa.getHostString();
            return host.indexOf(':') >= 0 ? "[" + host + "]:" + isa.getPort() : host + ":" + isa.getPort();
        }
        return String.valueOf(a);
    }
}
