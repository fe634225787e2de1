package io.tandem.ha.announce;

/**
 * When a node of an anycast group ({@code ha.announce: {mode: bgp, anycast: true}}) announces its
 * addresses. Every healthy node announces every address; the one rule is isolation, as for leases
 * (docs/ha.md §5, rule 3): a node cut off from ZooKeeper <em>and</em> from every peer for longer
 * than {@code isolationGrace} withdraws, because it cannot tell its own network failure from the
 * others' and the router would keep sending it a share of the clients. ZooKeeper alone being
 * unreachable changes nothing (a peer link up is the witness that this side of the network
 * works). A node that has reached neither since it started does not announce yet. Pure: the
 * caller passes the clock.
 */
final class AnycastRule {
    private long isolatedSinceMs = -1;
    private boolean joined;

    /**
     * Whether to announce now.
     *
     * @param zkConnected this node's ZooKeeper session is connected
     * @param anyPeerLinkUp heartbeats arrive from at least one peer
     */
    boolean announce(boolean zkConnected, boolean anyPeerLinkUp, long nowMs, long isolationGraceMs) {
        if (zkConnected || anyPeerLinkUp) {
            isolatedSinceMs = -1;
            joined = true;
            return true;
        }
        if (!joined) {
            return false; // a cold start announces once it has reached ZooKeeper or a peer, not before
        }
        if (isolatedSinceMs < 0) {
            isolatedSinceMs = nowMs;
        }
        return nowMs - isolatedSinceMs < isolationGraceMs;
    }
}
