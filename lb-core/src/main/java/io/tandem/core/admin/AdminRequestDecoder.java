package io.tandem.core.admin;

import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequestDecoder;
import java.util.List;

/**
 * Netty's request decoder, stricter where request smuggling and confused parsers live. A request
 * it refuses is passed on marked failed with a {@link Refused} cause carrying the status, and the
 * connection closes after that answer (what follows on it cannot be trusted to be framed right).
 */
final class AdminRequestDecoder extends HttpRequestDecoder {

    /** Why a request is refused at the HTTP level, and with which status. */
    static final class Refused extends RuntimeException {
        private final int status;

        Refused(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }

        int status() {
            return status;
        }
    }

    AdminRequestDecoder() {
        super(new HttpDecoderConfig().setStrictLineParsing(true));
    }

    /**
     * Netty drops Content-Length and goes on with the chunked body (RFC 9112 allows it); a server
     * that can be reached by anything refuses the shape outright, as HAProxy and nginx do.
     */
    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
        super.handleTransferEncodingChunkedWithContentLength(message);
        fail(message, new Refused(400, "both Content-Length and Transfer-Encoding (expected one of them)"));
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpMessage msg) {
        // Only chunked is understood: any other coding would leave the body to be read as the
        // next request. Checked here, the first hook that sees the headers.
        List<String> te = msg.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!te.isEmpty() && msg.decoderResult().isSuccess()) {
            boolean chunkedOnly = te.size() == 1
                    && HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(te.getFirst().strip());
            if (!chunkedOnly) {
                fail(msg, new Refused(501, "Transfer-Encoding " + AdminRouter.quoted(String.join(", ", te))
                        + " not implemented (expected chunked or none)"));
            }
        }
        return super.isContentAlwaysEmpty(msg);
    }

    /**
     * The answer to a request the decoder refused. Since Netty 4.2.13 the decoder applies RFC 9112
     * itself before our hooks see the headers: Content-Length beside Transfer-Encoding, and a
     * Transfer-Encoding whose final coding is not chunked (which RFC 9112 section 6.3 answers
     * with 400, not 501), come back as its own exceptions; they keep our wording for the first.
     */
    static Refused refusal(Throwable cause) {
        if (cause instanceof Refused r) {
            return r;
        }
        String message = String.valueOf(cause.getMessage());
        if (message.startsWith("Content-Length are not allowed")) {
            return new Refused(400, "both Content-Length and Transfer-Encoding (expected one of them)");
        }
        if (cause instanceof io.netty.handler.codec.http.TransferEncodingNotAllowedException
                || message.contains("chunked")) {
            return new Refused(400, "Transfer-Encoding refused: " + message
                    + " (expected chunked as the final coding, or none)");
        }
        return new Refused(400, "malformed request: " + message);
    }

    private static void fail(HttpMessage m, Refused why) {
        if (m.decoderResult().isSuccess()) {
            m.setDecoderResult(DecoderResult.failure(why));
        }
    }
}
