package io.tandem.core.pool;

import static java.util.Objects.requireNonNull;

import io.tandem.config.SniNames;
import io.tandem.config.SniRouting;
import java.util.List;

/**
 * The backend sets of a VIP with {@code sni} routing, as one snapshot: the server-name matcher and
 * one pool per set (index 0 the VIP's own backends, the default; {@code i + 1} for
 * {@code sni.routes[i]}), each built by the same rules as a whole VIP's (eligibility, panic,
 * slow start, priority levels and zones), so a route behaves like a cluster of its own while its
 * backends stay members of the VIP (one check, one set of counters, one status row each).
 *
 * @param names the matcher of the snapshot's config
 * @param pools one per set; empty when the VIP has no {@code sni}
 * @param hasDefault the VIP has backends of its own (or a service): a hello that no route takes goes
 *                   there; without, it is refused ({@code sni_no_route})
 */
public record SniSets(SniNames names, List<BackendPool> pools, boolean hasDefault) {
    public static final SniSets NONE = new SniSets(SniNames.NONE, List.of(), false);

    public SniSets {
        requireNonNull(names, "names");
        pools = List.copyOf(requireNonNull(pools, "pools"));
    }

    /** The metrics and log name of set {@code set} under {@code sni}. */
    public static String routeName(SniRouting sni, int set) {
        return set == 0 ? SniRouting.DEFAULT_ROUTE : sni.routes().get(set - 1).name();
    }
}
