package io.tandem.core.vip;

import io.tandem.core.pool.Backend;

/**
 * Passive signals from live traffic, reported by the data path to whoever decides about
 * backend health (the control loop). Called on event loops: implementations must not block
 * and should only record or post.
 */
public interface ConnectionEvents {

    /** A backend connect attempt failed (refused, timed out, unreachable, reset during connect). */
    void connectFailed(Vip vip, Backend backend, Throwable cause, long elapsedNanos);

    /** A backend connect attempt succeeded. */
    void connected(Vip vip, Backend backend, long elapsedNanos);

    /**
     * A connected backend owed an answer and stayed silent for the VIP's
     * {@code outlier_detection.response_timeout}: the client had sent bytes and the backend sent
     * none back since (in {@code FIRST_RESPONSE} mode: none at all on this connection; in
     * {@code EVERY_REQUEST} mode: none since the client's latest unanswered send). The sign of a
     * hung backend (stopped, deadlocked), whose kernel still completes handshakes. Reported at
     * most once per connection and silence: it fires again on the same connection only in
     * {@code EVERY_REQUEST} mode, after the backend answered and then fell silent again. The
     * connection is left open; closing it (e.g. by ejecting the backend with
     * {@code close_on_backend_down}) is the caller's decision.
     *
     * @param waitedNanos how long the backend had been silent when the timeout was noticed
     *                    (at least the timeout; more when the event loop or, in splice mode,
     *                    the kernel-counter polling ran late)
     */
    default void responseTimedOut(Vip vip, Backend backend, long waitedNanos) {
    }

    /**
     * A connected backend ended the connection before sending a byte, after the client had sent
     * some and while the client still had its side open: with a reset ({@code reset}), or an
     * orderly close. Reported only for the kinds of end the VIP's
     * {@code outlier_detection.closed_before_response} counts, at most once per connection.
     */
    default void closedBeforeResponse(Vip vip, Backend backend, boolean reset) {
    }

    /**
     * The backend sent its first byte on a connection after one or more connections it ended
     * unanswered ({@link #closedBeforeResponse}): that streak is over. Not reported otherwise.
     */
    default void answered(Vip vip, Backend backend) {
    }

    /**
     * {@code backend} of {@code vip} leads back into this node, to {@code vip} itself or to a VIP
     * the flow came through ({@link io.tandem.core.vip.SelfLoops}): it can never work for this VIP.
     * Not a failure of the backend's: the connection that would have looped was cut, or never
     * opened. Reported for every such connection; the receiver decides once.
     */
    default void selfLoop(Vip vip, Backend backend) {
    }

    /** Ignores everything. */
    ConnectionEvents NONE = new ConnectionEvents() {
        @Override
        public void connectFailed(Vip vip, Backend backend, Throwable cause, long elapsedNanos) {
        }

        @Override
        public void connected(Vip vip, Backend backend, long elapsedNanos) {
        }
    };
}
