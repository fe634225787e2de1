package io.tandem.core.policy;

import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.util.Collection;

/** The policy of a pool with nothing routable: every pick finds no backend. */
enum EmptyPolicy implements Policy {
    INSTANCE;

    @Override
    public Backend pick(InetAddress client, Collection<Backend> tried) {
        return null;
    }

    @Override
    public String toString() {
        return "EmptyPolicy";
    }
}
