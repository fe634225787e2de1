package io.tandem.ha;

import java.util.List;
import java.util.Map;

/**
 * A read-only snapshot of one node's HA state for the admin API and {@code tandem status}:
 * ZooKeeper connection, each peer link, each VIP address (who ZooKeeper says owns it, whether
 * this node serves it) and the recent ownership changes. Rebuilt by the HA control thread
 * after every change; reading it never blocks.
 */
public record HaView(String nodeId, long incarnation, ZkState zk, long zkSessionId, List<PeerView> peers,
                     List<VipAddressView> vipAddresses, List<OwnershipEvent> recentEvents) {

    public HaView {
        peers = List.copyOf(peers);
        vipAddresses = List.copyOf(vipAddresses);
        recentEvents = List.copyOf(recentEvents);
    }

    /**
     * @param linkUp whether heartbeats arrive from this peer
     * @param lastHeartbeatAgoMs -1 if never
     * @param lastLinkLoss cause of the last loss ("eof", "heartbeat_timeout", ...)
     * @param probe the last probe's state (IDLE, SENT, WRITTEN, ALIVE, DEAD)
     * @param held what the peer last said it serves, with epochs
     */
    public record PeerView(String nodeId, boolean linkUp, long lastHeartbeatAgoMs, String lastLinkLoss, String probe,
                           boolean peerZkConnected, Map<String, Long> held) {
        public PeerView {
            held = Map.copyOf(held);
        }
    }

    /**
     * @param servedHere whether this node holds the lease and serves the address
     * @param epoch this node's epoch when served here, else the epoch ZooKeeper last showed
     * @param zkOwner the node whose ephemeral owner znode exists (null: free or unknown)
     * @param sinceEpochMillis when this node started serving it (-1 when not served here)
     */
    public record VipAddressView(String address, String preferredOwner, boolean servedHere, long epoch, String zkOwner,
                                 long sinceEpochMillis) {
    }

    /** The addresses this node serves. */
    public List<String> servedHere() {
        return vipAddresses.stream().filter(VipAddressView::servedHere).map(VipAddressView::address).toList();
    }
}
