package io.tandem.ha;

/** Why a node acquired or released a VIP address. Logged, counted and shown in {@link HaView}. */
public enum OwnershipCause {
    /** Acquired: the address was free and this node is its preferred owner. */
    PREFERRED,
    /** Acquired: the address was free for the claim delay and its preferred owner did not claim it. */
    FREE_LEASE,
    /** Acquired: the holder's peer link was lost and it did not answer a probe through ZooKeeper (fast takeover). */
    PEER_DEAD,
    /** Acquired again after this node had lost it without anyone else taking it (ZooKeeper came back). */
    RECOVERED,
    /** Released: another node holds the address with a higher epoch (fencing). */
    FENCED,
    /** Released: this node could prove its ownership neither to ZooKeeper nor to a peer. */
    ISOLATED,
    /** Released: handed back to its returning preferred owner (preemption on). */
    PREEMPTED,
    /** Released: adding the address to the interface failed. */
    ADDRESS_FAILED,
    /** Released: the node is shutting down. */
    SHUTDOWN
}
