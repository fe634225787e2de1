package io.tandem.core.vip;

import io.tandem.core.pool.Backend;

/**
 * A live proxied TCP connection, as the control plane sees it: which backend it reached, and a
 * way to cut it. The data path adds each accepted connection to its {@link Vip#connections()}
 * and removes it once both of its sockets are closed.
 */
public interface Connection {

    /** The backend this connection is proxied to; null while it is still connecting. Any thread. */
    Backend backend();

    /**
     * Cuts the connection: both peers get a reset, so neither mistakes the cut for a complete
     * stream. Any thread (the close runs on the connection's own event loop). Idempotent.
     */
    void reset();
}
