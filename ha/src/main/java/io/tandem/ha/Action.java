package io.tandem.ha;

import java.util.Set;

/** What the {@link Arbiter} asks the node to do. The node executes; the arbiter only decides. */
sealed interface Action {

    /** Compare-and-set the epoch record from {@code seen} to {@code seen.epoch()+1} and create our owner node. */
    record Claim(String vipAddress, OwnershipCause cause, Lease seen, String fromPeer) implements Action {
    }

    /** Renew our own lease in the current session (new epoch, owner node of this session). */
    record Reassert(String vipAddress, Lease seen) implements Action {
    }

    /**
     * Start serving: the lease is ours with {@code epoch}.
     *
     * @param detectMs for a takeover: silence of the dead peer before its link was declared lost
     * @param decideMs for a takeover: from link loss to the committed lease (probe + claim)
     */
    record Serve(String vipAddress, long epoch, OwnershipCause cause, String fromPeer, long detectMs, long decideMs)
            implements Action {
    }

    /** Stop serving. {@code deleteOwner}: a voluntary release also removes our owner node so others may claim at once. */
    record Release(String vipAddress, long epoch, OwnershipCause cause, String detail, boolean deleteOwner)
            implements Action {
    }

    /** Ask {@code peer} through ZooKeeper whether it is alive. */
    record Probe(String peer, long nonce) implements Action {
    }

    /** Close the (silent) inbound link of a peer so it reconnects fresh. */
    record DropLink(String peer) implements Action {
    }

    /** After a freeze: read the epoch records of these addresses directly (not from the cache). */
    record Revalidate(Set<String> vipAddresses) implements Action {
    }

    /**
     * Read {@code vipAddress}'s epoch record directly and report whether ZooKeeper answered
     * ({@link Arbiter#zkChecked}): a voluntary hand-back waits for a fresh answer, since the
     * owner-node delete that lets the preferred owner claim needs ZooKeeper to hear us.
     */
    record CheckZooKeeper(String vipAddress) implements Action {
    }
}
