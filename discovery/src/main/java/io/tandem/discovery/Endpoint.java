package io.tandem.discovery;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import io.tandem.config.Locality;
import java.util.Optional;

/**
 * One backend as a discovery source reports it.
 *
 * @param weight          relative weight (>= 0; 0 = take no new connections)
 * @param locality        region, zone and rack as far as the source knows them (Marathon: the
 *                        task's Mesos fault domain; Curator: the payload's {@code region},
 *                        {@code zone}, {@code rack}); unknown parts may come from the config's
 *                        CIDR map later
 * @param healthyInSource false when the source itself says the backend is unhealthy
 *                        (Marathon health false) — becomes the {@code UNHEALTHY_IN_SOURCE} flag
 * @param draining        true when the source says it is going away (Marathon TASK_KILLING,
 *                        a Curator instance with {@code enabled: false}) — becomes {@code DRAINING}
 * @param origin          where it came from ({@code static}, {@code zookeeper:/services/orders/id},
 *                        {@code marathon:/app/task-id}), shown by the admin API
 * @param placement       the scheduler's placement of the endpoint's app (Marathon: the app id and
 *                        its {@code constraints}); empty when the source has no such notion
 */
public record Endpoint(HostPort address, int weight, Locality locality, boolean healthyInSource,
                       boolean draining, String origin, Optional<Placement> placement) {
    public Endpoint {
        requireNonNull(address, "address");
        requireNonNull(locality, "locality");
        requireNonNull(origin, "origin");
        requireNonNull(placement, "placement");
        if (weight < 0) {
            throw new IllegalArgumentException("weight: " + weight + " (expected >= 0)");
        }
    }

    /** An endpoint of a source that knows nothing of placement (ZooKeeper, a snapshot). */
    public Endpoint(HostPort address, int weight, Locality locality, boolean healthyInSource, boolean draining,
                    String origin) {
        this(address, weight, locality, healthyInSource, draining, origin, Optional.empty());
    }

    /** An endpoint whose source knows at most its zone. */
    public Endpoint(HostPort address, int weight, Optional<String> zone, boolean healthyInSource, boolean draining,
                    String origin) {
        this(address, weight, new Locality(Optional.empty(), requireNonNull(zone, "zone"), Optional.empty()),
                healthyInSource, draining, origin);
    }

    /** A plain, healthy endpoint of weight 1. */
    public static Endpoint of(HostPort address, String origin) {
        return new Endpoint(address, 1, Locality.UNKNOWN, true, false, origin);
    }

    /** Its zone, when known. */
    public Optional<String> zone() {
        return locality.zone();
    }
}
