package io.tandem.core.tcp;

import io.tandem.config.OutlierDetection;
import io.tandem.config.ResponseTimeoutMode;
import io.tandem.config.VipConfig;

/**
 * Hung-backend detection for one proxied connection ({@code outlier_detection.response_timeout}):
 * is the backend silent while it owes the client an answer? A stopped or deadlocked backend
 * still completes handshakes (its kernel does), so only this silence gives it away.
 *
 * <p>The backend owes an answer from the client's first bytes that it has not answered: in
 * {@code FIRST_RESPONSE} mode only until its first byte on the connection, in
 * {@code EVERY_REQUEST} mode again after every client send that follows its last answer. A
 * connection whose client never sends owes nothing, so server-speaks-first protocols and idle
 * pooled connections never time out. A timeout is reported once per silence; the connection is
 * left alone (the control loop decides what to do with the backend and its connections).
 *
 * <p>Every relayed byte, copied or spliced, passes through the connection's own calls, which
 * tell the watch as they happen ({@link #clientSent}, {@link #backendSent}: no allocation, a few
 * field writes); the connection's single timer runs {@link #check} at {@link #nextCheck}.
 * Confined to the connection's event loop.
 */
final class ResponseWatch {
    static final long NONE = Long.MAX_VALUE;

    private final long timeoutNanos;
    private final boolean everyRequest;
    /** Start of the silence: the client's first send the backend has not answered, or NONE. */
    private long since = NONE;
    /** The backend sent something on this connection. */
    private boolean answered;
    /** The current silence was reported. */
    private boolean reported;

    ResponseWatch(long timeoutNanos, boolean everyRequest) {
        this.timeoutNanos = timeoutNanos;
        this.everyRequest = everyRequest;
    }

    /** A watch for a connection of a VIP with {@code config}, or null when the VIP has no response timeout. */
    static ResponseWatch of(VipConfig config) {
        OutlierDetection od = config.health().outlierDetection();
        long timeout = od.responseTimeout().toNanos();
        return timeout > 0 ? new ResponseWatch(timeout, od.responseTimeoutMode() == ResponseTimeoutMode.EVERY_REQUEST)
                : null;
    }

    boolean everyRequest() {
        return everyRequest;
    }

    /** The client's bytes were read and sent to the backend at {@code now}. */
    void clientSent(long now) {
        if ((everyRequest || !answered) && since == NONE) {
            since = now;
        }
    }

    /** The backend sent bytes (or its FIN): whatever it owed is answered and a new silence may begin. */
    void backendSent() {
        answered = true;
        since = NONE;
        reported = false;
    }

    /**
     * Returns how long the backend has been silent when that is a timeout to report now (at most
     * once per silence), else -1.
     *
     * @param clientWritable false while the client is not taking the bytes already relayed to it:
     *                       the backend may have answered into buffers we do not read, so the
     *                       clock restarts instead of blaming it
     */
    long check(long now, boolean clientWritable) {
        if (since == NONE || reported) {
            return -1;
        }
        if (!clientWritable) {
            since = now;
            return -1;
        }
        long waited = now - since;
        if (waited < timeoutNanos) {
            return -1;
        }
        reported = true;
        return waited;
    }

    /** When {@link #check} should next run, or {@link #NONE} when only a relayed byte can change anything. */
    long nextCheck() {
        return since != NONE && !reported ? since + timeoutNanos : NONE;
    }
}
