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

    /**
     * Resets the connection if its client connected to {@code local} (this node's side of the
     * client socket), for a VIP that listens on a wildcard address and so takes connections for
     * several addresses, of which one was released. Any thread (the check and the reset run on the
     * connection's own event loop). Connections that cannot tell keep running.
     *
     * @return completes with whether this connection was reset
     */
    default java.util.concurrent.CompletableFuture<Boolean> resetIfArrivedOn(java.net.InetAddress local) {
        return java.util.concurrent.CompletableFuture.completedFuture(false);
    }

    /**
     * The event loop this connection lives on: {@link #describe} is called there only. Null for a
     * connection that cannot describe itself.
     */
    default java.util.concurrent.Executor loop() {
        return null;
    }

    /**
     * What the admin API lists about this connection, or null when it has nothing to show (closing,
     * not admitted). Called on {@link #loop()} only, so it reads the connection's own fields
     * without locks and costs the data path nothing until someone asks.
     */
    default Described describe() {
        return null;
    }

    /**
     * One connection as the admin API lists it: {@code id} (unique on this node while it runs),
     * the client's address (null when unknown), the backend (null while connecting), its age, and
     * the bytes relayed each way so far.
     */
    record Described(long id, java.net.InetSocketAddress client, Backend backend, long ageNanos,
                     long bytesFromClient, long bytesToClient) {
    }
}
