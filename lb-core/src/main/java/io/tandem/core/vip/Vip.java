package io.tandem.core.vip;

import static java.util.Objects.requireNonNull;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.util.AttributeKey;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A VIP at run time: the one volatile reference to its current {@link BackendPool} (written
 * only by the control loop, read once per new connection by the data path), its counters,
 * and the set of live client channels (for drain on shutdown and for closing connections to
 * an ejected backend).
 */
public final class Vip {
    /**
     * Set by the data path on a client channel once its backend is connected, so the control loop
     * can find (and close) the connections of one backend: drain deadline, close on backend down.
     */
    public static final AttributeKey<Backend> BACKEND = AttributeKey.valueOf("tandem.backend");

    private final String name;
    private final VipStats stats = new VipStats();
    private final Set<Channel> connections = ConcurrentHashMap.newKeySet();
    private volatile BackendPool pool;

    public Vip(String name, BackendPool initial) {
        this.name = requireNonNull(name, "name");
        this.pool = requireNonNull(initial, "initial");
    }

    public String name() {
        return name;
    }

    /** The current snapshot. Read it once per connection and keep it. */
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

    /** Live frontend (client-side) channels of this VIP. The data path adds and removes them. */
    public Set<Channel> connections() {
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
        for (Channel ch : connections) {
            if (backend.equals(ch.attr(BACKEND).get())) {
                n++;
                ch.eventLoop().execute(() -> {
                    if (ch.isOpen()) {
                        ch.config().setOption(ChannelOption.SO_LINGER, 0);
                        ch.close();
                    }
                });
            }
        }
        return n;
    }

    /** Connections currently proxied to {@code backend}. */
    public int connectionsTo(Backend backend) {
        int n = 0;
        for (Channel ch : connections) {
            if (backend.equals(ch.attr(BACKEND).get())) {
                n++;
            }
        }
        return n;
    }
}
