package io.tandem.core.policy;

import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.util.Collection;

/**
 * Chooses a backend for a new connection. A Policy is an immutable value built for one
 * membership (one {@link io.tandem.core.pool.BackendPool}); membership changes build a new
 * one, never mutate this one. Picks are called concurrently from every event loop, so any
 * per-pick state (a round-robin cursor) must be thread-safe and cheap.
 */
public interface Policy {

    /**
     * Picks a backend for a connection from {@code client}, never one in {@code tried}
     * (backends that already failed for this connection: a retry must go elsewhere).
     *
     * @param client the client's address (used by hashing policies; others may ignore it)
     * @param tried  backends already attempted for this connection; usually empty
     * @return a backend, or {@code null} when every backend is in {@code tried} or the pool is empty
     */
    Backend pick(InetAddress client, Collection<Backend> tried);

    /**
     * Whether {@link #pick} reads its {@code client} argument. When it does not, the data path
     * may pass {@code null} and skip decoding the client's address for every new connection.
     */
    default boolean usesClientAddress() {
        return false;
    }
}
