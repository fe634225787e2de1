package io.tandem.discovery;

import java.util.Map;
import java.util.Set;

/**
 * A producer of {@code service name -> endpoints}. A source pushes <em>whole</em> snapshots of
 * the services it knows (never deltas), so a missed callback can never leave a stale diff; the
 * control loop merges sources, debounces and diffs against its pools.
 *
 * <p>Lifecycle (Curator style): {@code LATENT -> STARTED -> CLOSED}; {@link #start} at most once,
 * {@link #close} idempotent. Callbacks may arrive on any thread and must not block: the
 * listener is expected to post to the control loop.
 */
public interface DiscoverySource extends AutoCloseable {

    /** A short unique name for logs and the admin API, e.g. {@code zookeeper} or {@code marathon}. */
    String name();

    /** Starts producing snapshots to {@code listener}. */
    void start(Listener listener);

    /** The source's health as the admin API shows it. Safe to call from any thread. */
    SourceState state();

    /** The source's live counters (the node exports them as {@code tandem_discovery_*} metrics). */
    SourceStats stats();

    @Override
    void close();

    /** Receives snapshots. */
    @FunctionalInterface
    interface Listener {
        /**
         * The complete current membership of every service this source knows. A service absent
         * from the map has no endpoints in this source. {@code stale} is true when the source has
         * lost its upstream (ZooKeeper SUSPENDED/LOST, Marathon stream down) and is repeating the
         * last known membership, which must be kept, never emptied.
         */
        void onSnapshot(DiscoverySource source, Map<String, Set<Endpoint>> services, boolean stale);
    }
}
