package io.tandem.core.proxy;

import io.tandem.core.pool.Backend;
import io.tandem.core.vip.Vip;

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
