package io.tandem.core.pool;

import static java.util.Objects.requireNonNull;

import io.tandem.config.VipConfig;
import io.tandem.core.policy.Policy;
import java.net.InetAddress;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * The immutable snapshot a new connection reads once and keeps: the VIP's config as of
 * this snapshot, the backends it may route to, and the policy prebuilt over them. Only the
 * control loop builds these; the data path reads one through a single volatile reference
 * ({@link io.tandem.core.vip.Vip#pool()}).
 *
 * @param backends   the routable backends (eligible ones, or every known one in panic mode)
 * @param panic      true when too few backends are eligible and the pool routes to all known ones
 * @param generation increases with every snapshot published for this VIP
 * @param cut        backends whose connections are being cut ({@code close_on_backend_down}: down
 *                   by a check or an ejection while the pool routes elsewhere). The control loop
 *                   sweeps their connections after publishing this snapshot; a connection that
 *                   reaches one of them later (it picked from an older snapshot) cuts itself.
 * @param routing    the split by priority level and zone the policy was built from
 *                   ({@link LocalityRouting}); {@link LocalityRouting.Plan#NONE} when not split
 * @param sni        the pools of the VIP's SNI backend sets ({@link SniSets#NONE} without {@code sni});
 *                   this pool itself spans every member (status, panic, cuts)
 */
public record BackendPool(VipConfig config, List<Backend> backends, Policy policy, boolean panic, long generation,
                          Set<Backend> cut, LocalityRouting.Plan routing, SniSets sni) {
    public BackendPool {
        requireNonNull(config, "config");
        backends = List.copyOf(requireNonNull(backends, "backends"));
        requireNonNull(policy, "policy");
        cut = Set.copyOf(requireNonNull(cut, "cut"));
        requireNonNull(routing, "routing");
        requireNonNull(sni, "sni");
    }

    /** A snapshot without SNI backend sets. */
    public BackendPool(VipConfig config, List<Backend> backends, Policy policy, boolean panic, long generation,
                       Set<Backend> cut, LocalityRouting.Plan routing) {
        this(config, backends, policy, panic, generation, cut, routing, SniSets.NONE);
    }

    /**
     * The pool of SNI backend set {@code set} (0: the default), or this pool when the VIP has no
     * {@code sni}.
     */
    public BackendPool sniSet(int set) {
        return sni.pools().isEmpty() ? this : sni.pools().get(set);
    }

    /** A snapshot not split by locality. */
    public BackendPool(VipConfig config, List<Backend> backends, Policy policy, boolean panic, long generation,
                       Set<Backend> cut) {
        this(config, backends, policy, panic, generation, cut, LocalityRouting.Plan.NONE);
    }

    /** A snapshot that cuts nothing. */
    public BackendPool(VipConfig config, List<Backend> backends, Policy policy, boolean panic, long generation) {
        this(config, backends, policy, panic, generation, Set.of());
    }

    /** Whether connections to {@code b} are being cut (see {@link #cut}). */
    public boolean cuts(Backend b) {
        return !cut.isEmpty() && cut.contains(b);
    }

    /** See {@link Policy#pick}. */
    public Backend pick(InetAddress client, Collection<Backend> tried) {
        return policy.pick(client, tried);
    }

    public boolean isEmpty() {
        return backends.isEmpty();
    }
}
