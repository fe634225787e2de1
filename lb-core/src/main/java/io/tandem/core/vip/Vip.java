package io.tandem.core.vip;

import static java.util.Objects.requireNonNull;

import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A VIP at run time: the one volatile reference to its current {@link BackendPool} (written
 * only by the control loop, read once per new connection by the data path), its counters,
 * and the set of live TCP connections (for drain on shutdown and for closing connections to
 * an ejected backend).
 */
public final class Vip {
    private final String name;
    private final VipStats stats = new VipStats();
    private final LocalErrors localErrors;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final ClientTracker clients = new ClientTracker();
    private volatile BackendPool pool;

    public Vip(String name, BackendPool initial) {
        this.name = requireNonNull(name, "name");
        this.pool = requireNonNull(initial, "initial");
        this.localErrors = new LocalErrors(name);
    }

    public String name() {
        return name;
    }

    /**
     * The current snapshot. Read it once per connection and keep it (a retry may look again:
     * {@code TcpConnection#newerSnapshotForRetry}).
     */
    public BackendPool pool() {
        return pool;
    }

    /** Control loop only. */
    public void publish(BackendPool next) {
        this.pool = requireNonNull(next, "next");
    }

    public VipStats stats() {
        return stats;
    }

    /** This node's own resource errors (out of descriptors, memory, ports) on this VIP's data path. */
    public LocalErrors localErrors() {
        return localErrors;
    }

    /** Per-client counters of {@code limits.per_client} (empty until a limit is set). */
    public ClientTracker clients() {
        return clients;
    }

    /** Live TCP connections of this VIP. The data path adds and removes them. */
    public Set<Connection> connections() {
        return connections;
    }

    /**
     * Closes every connection proxied to {@code backend}, with a reset so neither peer mistakes
     * the cut for a complete stream. Safe from any thread (each close runs on its own loop).
     *
     * @return how many connections were closed
     */
    public int closeConnectionsTo(Backend backend) {
        int n = 0;
        for (Connection c : connections) {
            if (backend.equals(c.backend())) {
                n++;
                c.reset();
            }
        }
        return n;
    }

    /** Connections currently proxied to {@code backend}. */
    public int connectionsTo(Backend backend) {
        int n = 0;
        for (Connection c : connections) {
            if (backend.equals(c.backend())) {
                n++;
            }
        }
        return n;
    }
}
