package io.tandem.health.check;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.tandem.config.HealthCheckSpec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * One HTTP/1.1 request ({@code Connection: close}); passes when the status is in range and, if
 * asked, the body contains a string (searched in the first {@value #MAX_BODY} bytes). Over TLS
 * the server certificate is <em>not</em> verified: a health check asks "does it answer", not
 * "is it who it claims to be", and backends commonly use self-signed certificates.
 */
final class HttpProbe extends Probe {

    static final int MAX_BODY = 64 * 1024;

    private final Bootstrap bootstrap;
    private final HealthCheckSpec.Http spec;
    private final SslContext ssl;           // null for plain HTTP
    private final String needle;            // body substring as ISO-8859-1 of its UTF-8 bytes, or null
    private final byte[] request;           // the encoded request, shared by every probe of the check (never written to)
    private StringBuilder body;
    private int status = -1;

    /** @param request {@link #request(HealthCheckSpec.Http, InetSocketAddress)}, encoded once per check */
    HttpProbe(Bootstrap bootstrap, EventLoop loop, InetSocketAddress address, Duration timeout,
              HealthCheckSpec.Http spec, SslContext ssl, byte[] request, Consumer<Outcome> done) {
        super(loop, address, timeout, done);
        this.bootstrap = bootstrap;
        this.spec = spec;
        this.ssl = ssl;
        this.request = request;
        this.needle = spec.bodyContains().map(s -> new String(s.getBytes(UTF_8), ISO_8859_1)).orElse(null);
    }

    @Override
    String progress() {
        return status < 0 ? " (no response)" : " (status " + status + ", body incomplete)";
    }

    @Override
    Channel open() {
        ChannelFuture f = bootstrap.clone(loop).handler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                if (ssl != null) {
                    ch.pipeline().addLast(ssl.newHandler(ch.alloc(), sniHost(), address.getPort()));
                }
                ch.pipeline().addLast(new ResponseDecoder(spec.method().equals("HEAD")), new ResponseHandler());
            }
        }).connect(address);
        f.addListener(fu -> {
            if (!fu.isSuccess()) {
                finish(false, describe(fu.cause()));
            }
        });
        return f.channel();
    }

    private String sniHost() {
        return spec.host().map(HttpProbe::stripPort).orElse(address.getHostString());
    }

    /**
     * The request every probe of a check sends, encoded once: the same bytes Netty's request
     * encoder wrote per probe before (method, path, then {@code host}, {@code user-agent},
     * {@code accept} and {@code connection: close}). Method, path and host were validated with
     * the config (tokens and visible ASCII).
     */
    static byte[] request(HealthCheckSpec.Http spec, InetSocketAddress address) {
        String r = spec.method() + " " + spec.path() + " HTTP/1.1\r\n"
                + "host: " + hostHeader(spec, address) + "\r\n"
                + "user-agent: tandem-health\r\n"
                + "accept: */*\r\n"
                + "connection: close\r\n\r\n";
        return r.getBytes(ISO_8859_1);
    }

    private static String stripPort(String host) {
        if (host.startsWith("[")) {
            int close = host.indexOf(']');
            return close > 0 ? host.substring(1, close) : host;
        }
        int colon = host.indexOf(':');
        return colon > 0 && host.indexOf(':', colon + 1) < 0 ? host.substring(0, colon) : host;
    }

    private static String hostHeader(HealthCheckSpec.Http spec, InetSocketAddress address) {
        if (spec.host().isPresent()) {
            return spec.host().get();
        }
        String h = address.getHostString();
        if (h.indexOf(':') >= 0) {
            h = "[" + h + "]";
        }
        int port = address.getPort();
        boolean defaultPort = spec.tls() ? port == 443 : port == 80;
        return defaultPort ? h : h + ":" + port;
    }

    /**
     * Netty's response decoder, told (as its client codec tells it) that a response to HEAD has no
     * body whatever its {@code Content-Length}; the request itself is written pre-encoded.
     */
    private static final class ResponseDecoder extends HttpResponseDecoder {
        private final boolean head;

        ResponseDecoder(boolean head) {
            super(4096, 16 * 1024, 8192);
            this.head = head;
        }

        @Override
        protected boolean isContentAlwaysEmpty(HttpMessage msg) {
            boolean informational = msg instanceof HttpResponse r && r.status().code() < 200;
            return (head && !informational) || super.isContentAlwaysEmpty(msg);
        }
    }

    private final class ResponseHandler extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            // With TLS the SslHandler holds this write until the handshake completes.
            ctx.writeAndFlush(Unpooled.wrappedBuffer(request)).addListener(fu -> {
                if (!fu.isSuccess()) {
                    finish(false, describe(fu.cause()));
                }
            });
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (finished()) {
                    return;
                }
                if (msg instanceof HttpResponse r) {
                    if (r.decoderResult().isFailure()) {
                        finish(false, "invalid HTTP response: " + describe(r.decoderResult().cause()));
                        return;
                    }
                    status = r.status().code();
                    if (status < spec.statusMin() || status > spec.statusMax()) {
                        finish(false, "status " + status + " (expected " + spec.statusMin() + ".." + spec.statusMax() + ")");
                        return;
                    }
                    if (needle == null) {
                        finish(true, "status " + status);
                        return;
                    }
                    body = new StringBuilder();
                }
                if (msg instanceof HttpContent c && body != null) {
                    if (body.length() < MAX_BODY) {
                        int n = Math.min(c.content().readableBytes(), MAX_BODY - body.length());
                        body.append(c.content().toString(c.content().readerIndex(), n, ISO_8859_1));
                    }
                    if (body.indexOf(needle) >= 0) {
                        finish(true, "status " + status + ", body matched");
                    } else if (msg instanceof LastHttpContent || body.length() >= MAX_BODY) {
                        finish(false, "status " + status + ", body does not contain "
                                + quote(spec.bodyContains().orElseThrow(), 64));
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(false, status < 0 ? "connection closed before a response" : "connection closed during the body");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish(false, describe(cause));
        }
    }
}
