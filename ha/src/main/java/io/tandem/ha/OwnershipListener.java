package io.tandem.ha;

/**
 * Told when this node starts or stops serving a VIP address. Calls for one address arrive in
 * order, after the address was added to (or removed from) the interface, on a virtual thread of
 * the HA node: post to your own control loop, never block for long.
 */
public interface OwnershipListener {
    void acquired(String address, long epoch, OwnershipCause cause);

    void released(String address, OwnershipCause cause);

    /**
     * A takeover from a dead peer ({@link OwnershipCause#PEER_DEAD}) is served: {@code millis}
     * from the last heartbeat heard from that peer to the address being on this node's interface
     * (silence before the link was declared lost + probe and claim + the address add). Called just
     * before {@link #acquired} for the same address, only when this node heard the peer at all.
     */
    default void takeover(String address, String fromPeer, long millis) {
    }

    /** A peer reported a backend ejected by its passive detector: re-probe it now. */
    default void peerBackendEjected(PeerMessage.BackendEjected message) {
    }

    static OwnershipListener none() {
        return new OwnershipListener() {
            @Override
            public void acquired(String address, long epoch, OwnershipCause cause) {
            }

            @Override
            public void released(String address, OwnershipCause cause) {
            }
        };
    }
}
