package io.tandem.config;

/**
 * A VIP's fault-domain routing ({@code vips[].locality}).
 *
 * @param zoneAware              prefer backends in the node's zone while that zone's healthy share
 *                               can carry the node's share of the traffic, spill the rest to the
 *                               other zones of the region in proportion to their spare share
 *                               (Envoy zone-aware routing), and leave the region only when it has
 *                               no healthy backend. Off by default (opt-in, as in Envoy).
 * @param minClusterSize         zone-aware routing applies only while the VIP has at least this many
 *                               backends (Envoy {@code min_cluster_size}, default 6): with fewer, one
 *                               failure swings a zone's share too far
 * @param overprovisioningFactor priority levels: a level with this fraction of its backends healthy
 *                               or more still takes all of its traffic (Envoy's overprovisioning
 *                               factor, 1.4: a level at 72 % health gets 100 %, at 50 % gets 70 %)
 */
public record VipLocality(boolean zoneAware, int minClusterSize, double overprovisioningFactor) {
    public static final int DEFAULT_MIN_CLUSTER_SIZE = 6;
    public static final double DEFAULT_OVERPROVISIONING = 1.4;
    public static final VipLocality DEFAULTS = new VipLocality(false, DEFAULT_MIN_CLUSTER_SIZE,
            DEFAULT_OVERPROVISIONING);

    public VipLocality {
        if (minClusterSize < 1) {
            throw new IllegalArgumentException("minClusterSize: " + minClusterSize + " (expected >= 1)");
        }
        if (!(overprovisioningFactor >= 1.0)) {
            throw new IllegalArgumentException("overprovisioningFactor: " + overprovisioningFactor
                    + " (expected >= 1.0)");
        }
    }
}
