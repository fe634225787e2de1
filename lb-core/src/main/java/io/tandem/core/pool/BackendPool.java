package io.tandem.core.pool;

import static java.util.Objects.requireNonNull;

import io.tandem.config.VipConfig;
import io.tandem.core.policy.Policy;
import java.net.InetAddress;
import java.util.Collection;
import java.util.List;

/**
 * The immutable snapshot a new connection reads once and keeps: the VIP's config as of
 * this snapshot, the backends it may route to, and the policy prebuilt over them. Only the
 * control loop builds these; the data path reads one through a single volatile reference
 * ({@link io.tandem.core.vip.Vip#pool()}).
 *
 * @param backends   the routable backends (eligible ones, or every known one in panic mode)
 * @param panic      true when too few backends are eligible and the pool routes to all known ones
 * @param generation increases with every snapshot published for this VIP
 */
public record BackendPool(VipConfig config, List<Backend> backends, Policy policy, boolean panic, long generation) {
    public BackendPool {
        requireNonNull(config, "config");
        backends = List.copyOf(requireNonNull(backends, "backends"));
        requireNonNull(policy, "policy");
    }

    /** See {@link Policy#pick}. */
    public Backend pick(InetAddress client, Collection<Backend> tried) {
        return policy.pick(client, tried);
    }

    public boolean isEmpty() {
        return backends.isEmpty();
    }
}
