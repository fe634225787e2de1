package io.tandem.ha;

/**
 * What ZooKeeper says about one VIP address: the persistent epoch record (the fencing token,
 * changed only by a versioned write) and the ephemeral owner node (alive while its holder's
 * session is). Versions are the znode versions the next compare-and-set must match.
 *
 * @param epoch the epoch record's value, 0 when the record does not exist yet
 * @param holder the node named by the epoch record, null when none
 * @param epochVersion the epoch znode's version, -1 when it does not exist
 * @param owner the node named by the ephemeral owner znode, null when there is none
 * @param ownerSession the ZooKeeper session that created the owner znode
 * @param ownerVersion the owner znode's version
 */
record Lease(long epoch, String holder, int epochVersion, String owner, long ownerSession, int ownerVersion) {
    static final Lease NONE = new Lease(0, null, -1, null, 0, -1);

    boolean ownerLive() {
        return owner != null;
    }

    static String epochData(long epoch, String node) {
        return epoch + " " + node;
    }

    static String ownerData(String node, long epoch) {
        return node + " " + epoch;
    }
}
