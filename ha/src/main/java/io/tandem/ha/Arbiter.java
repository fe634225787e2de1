package io.tandem.ha;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HaConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The ownership decisions of one node, as a pure state machine: inputs are ZooKeeper's state and
 * leases, peer heartbeats and link losses, probe and claim outcomes, each stamped with a
 * monotonic time in milliseconds; {@link #evaluate(long)} returns what to do. No I/O, no clock,
 * no threads: {@link HaNode} calls it from its single control thread, tests call it directly.
 *
 * <p>The rules (docs/ha.md explains why):
 * <ol>
 *   <li><b>Fence</b>: a held address whose epoch is lower than any epoch seen for it (ZooKeeper
 *       record, a peer's heartbeat, a fresh read) is released at once, whatever else holds.
 *   <li><b>Without ZooKeeper</b> (SUSPENDED, LOST): claim nothing; keep held addresses while at
 *       least one peer link is up (the peer's heartbeat is the second witness that it does not
 *       serve them); with no peer link either, release everything after the isolation grace.
 *   <li><b>With ZooKeeper</b>: a lost peer is probed through ZooKeeper; once the probe is
 *       written, a refused connection to the peer's link port proves it dead at once; otherwise,
 *       unanswered within the probe timeout it is dead and its addresses are taken over with epoch + 1 (which fences
 *       it should it be alive after all). A probe this node cannot even write within the
 *       isolation grace, with every peer link down, means this node is the isolated one: it
 *       releases everything.
 *   <li>Free addresses go to their preferred owner at once, to anyone else after the claim delay,
 *       never to a node while an up peer says it serves the address, and nothing is claimed while
 *       every peer link is down and a probe is not written yet (it would be released again).
 *   <li>After a new session, held leases are re-asserted with a new epoch.
 *   <li>A tick that comes much later than scheduled means this node was frozen: held addresses
 *       are revalidated by a direct read or a fresh peer heartbeat, or released.
 * </ol>
 */
final class Arbiter {

    /**
     * Timings in milliseconds. {@code deadAfterLoss}: a lost peer is declared dead no sooner than
     * this after its link loss, so that a node cut off from both ZooKeeper and its peers (which
     * drops everything {@code isolationGrace} after <em>its</em> link loss) is gone first, with a
     * margin of two heartbeat intervals for the two sides noticing the loss at different times.
     */
    record Timing(long heartbeatTimeout, long probeTimeout, long isolationGrace, long claimDelay,
                  long preemptDelay, long reprobeInterval, long retryBackoff, long deadAfterLoss) {
        static Timing of(HaConfig s) {
            long interval = s.heartbeatInterval().toMillis();
            return new Timing(s.heartbeatTimeout().toMillis(), s.probeTimeout().toMillis(),
                    s.isolationGrace().toMillis(), s.claimDelay().toMillis(), s.preemptDelay().toMillis(),
                    Math.max(500, 10 * s.heartbeatTimeout().toMillis()), Math.max(20, s.probeTimeout().toMillis()),
                    s.isolationGrace().toMillis() + 2 * interval);
        }

        /** A control thread later than this was frozen long enough for a peer to have taken over. */
        long freezeThreshold() {
            return heartbeatTimeout + probeTimeout;
        }
    }

    enum ProbeState { IDLE, SENT, WRITTEN, ALIVE, DEAD }

    record Held(long epoch, long since, OwnershipCause cause) {
    }

    private record Seen(long epoch, String node, String source) {
    }

    static final class Peer {
        final String id;
        boolean up;
        long upSince = -1;
        long lastHeartbeatAt = -1;
        PeerMessage.Heartbeat heartbeat;
        long downAt = -1;
        String downCause = "never connected";
        ProbeState probe = ProbeState.IDLE;
        long nonce;
        long probeSentAt = -1;
        long probeWrittenAt = -1;
        long verdictAt = -1;
        long refusedAt = -1;
        String deadProof = "";

        Peer(String id) {
            this.id = id;
        }

        boolean claims(String vipAddress) {
            return up && heartbeat != null && heartbeat.held().containsKey(vipAddress);
        }
    }

    private final String me;
    private final List<String> vipAddresses;
    private final Map<String, String> preferred;
    private final boolean preempt;
    /** When a direct ZooKeeper read last answered ({@link #zkChecked}); -1: never. */
    private long zkAnsweredAt = -1;
    /** When the outstanding direct read was asked for; -1: none outstanding. */
    private long zkCheckSentAt = -1;
    private final Timing t;

    private ZkState zk = ZkState.NOT_STARTED;
    private long zkSince;
    private long sessionId;
    private boolean cacheReady;
    private Map<String, Lease> leases = Map.of();

    private final Map<String, Peer> peers = new LinkedHashMap<>();
    private long lastPeerDownAt = -1;

    private final Map<String, Held> held = new TreeMap<>();
    private final Map<String, Seen> knownEpoch = new HashMap<>();
    private final Set<String> inflight = new HashSet<>();
    private final Map<String, Long> retryAt = new HashMap<>();
    private final Map<String, Long> freeSince = new HashMap<>();
    private final List<Action> pending = new ArrayList<>();
    /** Given up voluntarily: our owner znode is being deleted, so it must not count as "ours, recover it". */
    private final Set<String> relinquished = new HashSet<>();
    private boolean stopped;
    private long nextNonce;

    private long lastTick = -1;
    private long frozenAt = -1;
    private final Set<String> suspect = new TreeSet<>();

    /** {@code nonceBase} must differ between incarnations of a node so its probes are never mistaken for old ones. */
    Arbiter(String me, List<String> peerIds, Map<String, String> preferred, boolean preempt, Timing timing,
            long nonceBase, long now) {
        this.nextNonce = nonceBase;
        this.me = requireNonNull(me, "me");
        this.preferred = Map.copyOf(preferred);
        this.vipAddresses = List.copyOf(new TreeSet<>(preferred.keySet()));
        this.preempt = preempt;
        this.t = requireNonNull(timing, "timing");
        this.zkSince = now;
        for (String p : peerIds) {
            peers.put(p, new Peer(p));
        }
    }

    // ---------------------------------------------------------------- inputs

    void zkState(ZkState state, long session, long now) {
        if (state != zk) {
            zk = state;
            zkSince = now;
        }
        if (state == ZkState.CONNECTED) {
            sessionId = session;
        }
    }

    /**
     * A direct read asked for by {@link Action.CheckZooKeeper} came back ({@code answered}) or
     * failed: only an answer proves ZooKeeper hears this node now. A silent cut (packets dropped,
     * not yet noticed: the session still looks CONNECTED until the client's read timeout) shows
     * as a read that fails late.
     */
    void zkChecked(boolean answered, long now) {
        zkCheckSentAt = -1;
        if (answered) {
            zkAnsweredAt = now;
        }
    }

    void cacheReady(long now) {
        cacheReady = true;
    }

    void leases(Map<String, Lease> current, long now) {
        leases = Map.copyOf(current);
        current.forEach((vipAddress, l) -> observe(vipAddress, l.epoch(), l.holder(), "ZooKeeper"));
    }

    void heartbeat(String peerId, PeerMessage.Heartbeat hb, long now) {
        Peer p = peers.get(peerId);
        if (p == null) {
            return;
        }
        if (!p.up) {
            p.up = true;
            p.upSince = now;
            p.probe = ProbeState.IDLE;
            p.refusedAt = -1;
        }
        p.lastHeartbeatAt = now;
        p.heartbeat = hb;
        hb.held().forEach((vipAddress, epoch) -> observe(vipAddress, epoch, peerId, "heartbeat"));
    }

    void linkLost(String peerId, String cause, long now) {
        Peer p = peers.get(peerId);
        if (p != null && p.up) {
            markDown(p, cause, now);
        }
    }

    /** A connection to the peer's link port was refused after its link went down: its process is gone. */
    void refused(String peerId, long now) {
        Peer p = peers.get(peerId);
        if (p != null && !p.up && p.downAt >= 0 && now >= p.downAt) {
            p.refusedAt = now;
        }
    }

    void probeWritten(String peerId, long nonce, long now) {
        Peer p = peers.get(peerId);
        if (p != null && p.probe == ProbeState.SENT && p.nonce == nonce) {
            if (now - p.probeSentAt > t.freezeThreshold()) {
                // Written only now: we were cut off from ZooKeeper meanwhile (Curator retried it on
                // reconnect). The peer's answer window would start while our own view is still
                // catching up; a node back from isolation must not judge its peer on that. Ask again.
                p.probe = ProbeState.IDLE;
                return;
            }
            p.probe = ProbeState.WRITTEN;
            p.probeWrittenAt = now;
        }
    }

    void probeAnswered(String peerId, long nonce, long now) {
        Peer p = peers.get(peerId);
        if (p != null && !p.up && p.nonce == nonce
                && (p.probe == ProbeState.SENT || p.probe == ProbeState.WRITTEN)) {
            p.probe = ProbeState.ALIVE;
            p.verdictAt = now;
        }
    }

    /** Outcome of a {@link Action.Claim} or {@link Action.Reassert}; {@code epoch} &lt; 0 when it failed. */
    void claimDone(String vipAddress, OwnershipCause cause, String fromPeer, long startedAt, long epoch, long now) {
        inflight.remove(vipAddress);
        if (epoch < 0) {
            retryAt.put(vipAddress, now + t.retryBackoff());
            return;
        }
        observe(vipAddress, epoch, me, "claim");
        Held h = held.get(vipAddress);
        if (h != null) {
            held.put(vipAddress, new Held(epoch, h.since(), h.cause()));
            return;
        }
        held.put(vipAddress, new Held(epoch, now, cause));
        freeSince.remove(vipAddress);
        long detect = -1;
        long decide = -1;
        Peer p = fromPeer == null ? null : peers.get(fromPeer);
        if (p != null && p.downAt >= 0) {
            detect = p.lastHeartbeatAt >= 0 ? Math.max(0, p.downAt - p.lastHeartbeatAt) : -1;
            decide = now - p.downAt;
        }
        pending.add(new Action.Serve(vipAddress, epoch, cause, fromPeer, detect, decide));
    }

    /** Fresh epoch record read after a freeze; {@code fresh} null when the read failed. */
    void revalidated(String vipAddress, Lease fresh, long now) {
        if (fresh == null) {
            return;
        }
        observe(vipAddress, fresh.epoch(), fresh.holder(), "direct read");
        Held h = held.get(vipAddress);
        if (h != null && fresh.epoch() == h.epoch() && me.equals(fresh.holder())) {
            suspect.remove(vipAddress);
        }
    }

    /** Adding the address failed: give the lease up so another node can serve it. */
    void addressFailed(String vipAddress, long now) {
        Held h = held.remove(vipAddress);
        if (h != null) {
            relinquished.add(vipAddress);
            pending.add(new Action.Release(vipAddress, h.epoch(), OwnershipCause.ADDRESS_FAILED, "address add failed",
                    true));
            retryAt.put(vipAddress, now + 10 * t.claimDelay());
        }
    }

    /** Called every heartbeat interval; a late tick means the node was frozen. Returns true if so. */
    boolean tick(long now) {
        boolean frozen = lastTick >= 0 && now - lastTick > t.freezeThreshold() && !held.isEmpty();
        lastTick = now;
        if (frozen) {
            frozenAt = now;
            suspect.clear();
            suspect.addAll(held.keySet());
            pending.add(new Action.Revalidate(Set.copyOf(suspect)));
        }
        return frozen;
    }

    /** Releases everything now (not voluntarily: our owner nodes stay, so we may recover them). */
    void releaseAll(OwnershipCause cause, String detail) {
        releaseAll(pending, cause, detail);
    }

    /** Releases everything (voluntarily, deleting our owner nodes). */
    List<Action> shutdown() {
        stopped = true;
        List<Action> out = new ArrayList<>();
        for (String vipAddress : List.copyOf(held.keySet())) {
            release(out, vipAddress, OwnershipCause.SHUTDOWN, "node closing");
        }
        return out;
    }

    // ---------------------------------------------------------------- decisions

    List<Action> evaluate(long now) {
        List<Action> out = new ArrayList<>(pending);
        pending.clear();
        if (stopped) {
            return out;
        }

        // The link's reader notices silence exactly (socket read timeout); this is a backstop for
        // a stuck reader, generous so that heartbeats queued behind a busy control thread don't trip it.
        boolean onTime = lastTick < 0 || now - lastTick <= t.heartbeatTimeout();
        for (Peer p : peers.values()) {
            if (onTime && p.up && now - p.lastHeartbeatAt > 3 * t.heartbeatTimeout()) {
                markDown(p, "heartbeat_timeout", now);
                out.add(new Action.DropLink(p.id));
            }
        }

        fence(out, now);

        boolean anyPeerUp = peers.values().stream().anyMatch(p -> p.up);
        if (frozenAt >= 0) {
            boolean witnessed = peers.values().stream().anyMatch(p -> p.up && p.lastHeartbeatAt > frozenAt);
            suspect.retainAll(held.keySet());
            if (suspect.isEmpty() || witnessed) {
                suspect.clear();
                frozenAt = -1;
            } else if (now - frozenAt >= t.freezeThreshold()) {
                for (String vipAddress : List.copyOf(suspect)) {
                    release(out, vipAddress, OwnershipCause.ISOLATED, "frozen and not revalidated in "
                            + t.freezeThreshold() + "ms");
                }
                suspect.clear();
                frozenAt = -1;
            }
        }

        boolean zkOk = zk == ZkState.CONNECTED && cacheReady;
        if (!zkOk) {
            if (!held.isEmpty() && !anyPeerUp) {
                long cutSince = Math.max(zkSince, lastPeerDownAt);
                if (now - cutSince >= t.isolationGrace()) {
                    releaseAll(out, OwnershipCause.ISOLATED, "ZooKeeper " + zk + " and no peer link for "
                            + (now - cutSince) + "ms");
                }
            }
            return out;
        }

        probes(out, anyPeerUp, now);
        reassert(out);
        claims(out, now); // after probes(): a probe sent just now holds the claims back (awaitingProbeWrite)
        if (preempt) {
            preempt(out, now);
        }
        return out;
    }

    private void fence(List<Action> out, long now) {
        for (Map.Entry<String, Held> e : List.copyOf(held.entrySet())) {
            Seen seen = knownEpoch.get(e.getKey());
            // a higher epoch naming us is our own re-assert racing its completion, not a fence
            if (seen != null && seen.epoch() > e.getValue().epoch() && !me.equals(seen.node())) {
                Peer p = peers.get(seen.node());
                if (p != null && p.probe == ProbeState.DEAD && e.getValue().since() >= p.verdictAt) {
                    // A peer we declared dead committed an epoch above one we claimed after that
                    // verdict: it is alive, and the verdict was wrong (both probes unanswered in
                    // time: a slow ZooKeeper with the link cut). Taking the address back would
                    // start a takeover war that lasts until the link returns (seen in
                    // HaPairSystemIT.peerLinkCut… under load). Re-probed after the reprobe interval.
                    p.probe = ProbeState.ALIVE;
                    p.verdictAt = now;
                }
                release(out, e.getKey(), OwnershipCause.FENCED, "epoch " + seen.epoch() + " held by " + seen.node()
                        + " (seen in " + seen.source() + ") > ours " + e.getValue().epoch());
            }
        }
    }

    private void probes(List<Action> out, boolean anyPeerUp, long now) {
        boolean unwritten = false;
        for (Peer p : peers.values()) {
            if (p.up) {
                continue;
            }
            switch (p.probe) {
                case IDLE -> sendProbe(out, p, now);
                case SENT -> {
                    unwritten |= now - p.probeSentAt >= t.isolationGrace();
                    if (now - p.probeSentAt >= t.reprobeInterval()) {
                        // A write that failed (connection loss, an error) never reports back:
                        // without a fresh probe this node would wait for it for good, and claim
                        // nothing meanwhile (awaitingProbeWrite).
                        sendProbe(out, p, now);
                    }
                }
                case WRITTEN -> {
                    if (p.refusedAt >= 0 && p.downAt >= 0 && p.refusedAt >= p.downAt) {
                        // Refused + our probe acknowledged by ZooKeeper: the peer's host is up but
                        // its process is gone, and we are not the isolated one. No need to wait
                        // out the probe or the isolation ordering (a dead process serves nothing).
                        declareDead(p, "peer-link port refused, probe written", now);
                    } else if (now - p.probeWrittenAt >= t.probeTimeout() && now - p.downAt >= t.deadAfterLoss()) {
                        declareDead(p, "probe unanswered for " + (now - p.probeWrittenAt) + "ms", now);
                    }
                }
                case ALIVE -> {
                    if (now - p.verdictAt >= t.reprobeInterval()) {
                        sendProbe(out, p, now);
                    }
                }
                case DEAD -> {
                }
            }
        }
        if (unwritten && !anyPeerUp && !held.isEmpty()) {
            releaseAll(out, OwnershipCause.ISOLATED, "no peer link and ZooKeeper did not acknowledge a probe in "
                    + t.isolationGrace() + "ms");
        }
    }

    private static void declareDead(Peer p, String proof, long now) {
        p.probe = ProbeState.DEAD;
        p.verdictAt = now;
        p.deadProof = proof;
    }

    private void sendProbe(List<Action> out, Peer p, long now) {
        p.probe = ProbeState.SENT;
        p.nonce = nextNonce++;
        p.probeSentAt = now;
        p.probeWrittenAt = -1;
        out.add(new Action.Probe(p.id, p.nonce));
    }

    private void reassert(List<Action> out) {
        for (Map.Entry<String, Held> e : held.entrySet()) {
            String vipAddress = e.getKey();
            if (inflight.contains(vipAddress)) {
                continue;
            }
            Lease l = leases.getOrDefault(vipAddress, Lease.NONE);
            if (l.epoch() == e.getValue().epoch() && me.equals(l.holder())
                    && (!l.ownerLive() || l.ownerSession() != sessionId)) {
                inflight.add(vipAddress);
                out.add(new Action.Reassert(vipAddress, l));
            }
        }
    }

    private void claims(List<Action> out, long now) {
        if (awaitingProbeWrite()) {
            return;
        }
        for (String vipAddress : vipAddresses) {
            if (held.containsKey(vipAddress) || inflight.contains(vipAddress)
                    || retryAt.getOrDefault(vipAddress, 0L) > now) {
                continue;
            }
            if (peers.values().stream().anyMatch(p -> p.claims(vipAddress))) {
                freeSince.remove(vipAddress);
                continue;
            }
            Lease l = leases.getOrDefault(vipAddress, Lease.NONE);
            if (!me.equals(l.owner())) {
                relinquished.remove(vipAddress);
            }
            Seen seen = knownEpoch.get(vipAddress);
            if (seen != null && seen.epoch() > l.epoch()) {
                continue; // our view of ZooKeeper lags what a peer told us: wait for it
            }
            if (l.ownerLive()) {
                freeSince.remove(vipAddress);
                if (l.owner().equals(me)) {
                    if (!relinquished.contains(vipAddress)) {
                        claim(out, vipAddress, OwnershipCause.RECOVERED, l, null);
                    }
                } else {
                    Peer p = peers.get(l.owner());
                    if (p != null && p.probe == ProbeState.DEAD) {
                        claim(out, vipAddress, OwnershipCause.PEER_DEAD, l, p.id);
                    }
                }
                continue;
            }
            if (me.equals(preferred.get(vipAddress))) {
                claim(out, vipAddress, OwnershipCause.PREFERRED, l, null);
                continue;
            }
            Peer last = l.holder() == null ? null : peers.get(l.holder());
            if (last != null && last.probe == ProbeState.DEAD) {
                claim(out, vipAddress, OwnershipCause.PEER_DEAD, l, last.id);
                continue;
            }
            // we held it last (e.g. handed it back, PREEMPTED) and its preferred owner died before
            // claiming it: take it back at once, as from a dead holder. Not for a lease nobody held
            // yet: at a cold start a peer not up yet also reads as dead, and claim_delay is its grace
            Peer pref = peers.get(preferred.get(vipAddress));
            if (me.equals(l.holder()) && pref != null && pref.probe == ProbeState.DEAD) {
                claim(out, vipAddress, OwnershipCause.PEER_DEAD, l, pref.id);
                continue;
            }
            long since = freeSince.computeIfAbsent(vipAddress, k -> now);
            if (now - since >= t.claimDelay()) {
                claim(out, vipAddress, OwnershipCause.FREE_LEASE, l, null);
            }
        }
    }

    /**
     * With no peer link up, a probe ZooKeeper has not acknowledged yet makes {@link #probes} release
     * everything held once the isolation grace has passed: an address claimed meanwhile would be
     * served for a moment and dropped (issue 19: a cold start "acquired, released as ISOLATED within
     * 15–80 ms, re-acquired" — a node up before its peer probes it, and the first probe write, which
     * creates the peer's parent nodes, took longer than the grace while the claim committed). So
     * nothing is claimed until the probe is written; that costs one ZooKeeper write at a cold start,
     * and nothing when a peer link is up (the usual case, and every takeover in a pair: the dead
     * peer's probe is past SENT).
     */
    private boolean awaitingProbeWrite() {
        boolean anyUp = false;
        boolean unwritten = false;
        for (Peer p : peers.values()) {
            anyUp |= p.up;
            unwritten |= !p.up && p.probe == ProbeState.SENT;
        }
        return unwritten && !anyUp;
    }

    private void claim(List<Action> out, String vipAddress, OwnershipCause cause, Lease seen, String fromPeer) {
        inflight.add(vipAddress);
        out.add(new Action.Claim(vipAddress, cause, seen, fromPeer));
    }

    /**
     * Hands an address back to its preferred owner once that owner has been up (link, ZooKeeper)
     * for the hold-down. Only while ZooKeeper demonstrably hears us: the hand-back deletes our
     * owner node, and the preferred owner claims once it is gone, so a hand-back by a node whose
     * ZooKeeper traffic is silently dropped would leave the address unowned until ZooKeeper
     * answers again (the partition nemesis measured 1.5–5 s). A direct read first (one round trip,
     * {@link Action.CheckZooKeeper}); the release follows an answer younger than the heartbeat
     * timeout.
     */
    private void preempt(List<Action> out, long now) {
        for (Map.Entry<String, Held> e : List.copyOf(held.entrySet())) {
            String owner = preferred.get(e.getKey());
            if (me.equals(owner)) {
                continue;
            }
            Peer p = peers.get(owner);
            if (p != null && p.up && p.heartbeat != null && p.heartbeat.zkConnected()
                    && now - p.upSince >= t.preemptDelay() && zkUsable()) {
                if (zkAnsweredAt < 0 || now - zkAnsweredAt > t.heartbeatTimeout()) {
                    // one read at a time; a lost report is replaced after the re-probe interval
                    if (zkCheckSentAt < 0 || now - zkCheckSentAt > t.reprobeInterval()) {
                        zkCheckSentAt = now;
                        out.add(new Action.CheckZooKeeper(e.getKey()));
                    }
                    continue;
                }
                release(out, e.getKey(), OwnershipCause.PREEMPTED, "preferred owner " + owner + " back for "
                        + (now - p.upSince) + "ms, ZooKeeper answered " + (now - zkAnsweredAt) + "ms ago");
            }
        }
    }

    private void releaseAll(List<Action> out, OwnershipCause cause, String detail) {
        for (String vipAddress : List.copyOf(held.keySet())) {
            release(out, vipAddress, cause, detail);
        }
    }

    private void release(List<Action> out, String vipAddress, OwnershipCause cause, String detail) {
        Held h = held.remove(vipAddress);
        if (h == null) {
            return;
        }
        suspect.remove(vipAddress);
        boolean voluntary = cause == OwnershipCause.PREEMPTED || cause == OwnershipCause.SHUTDOWN;
        if (voluntary) {
            relinquished.add(vipAddress);
        }
        out.add(new Action.Release(vipAddress, h.epoch(), cause, detail, voluntary));
    }

    private void markDown(Peer p, String cause, long now) {
        p.up = false;
        p.downAt = now;
        p.downCause = cause;
        p.probe = ProbeState.IDLE;
        p.refusedAt = -1;
        lastPeerDownAt = now;
    }

    private void observe(String vipAddress, long epoch, String node, String source) {
        Seen s = knownEpoch.get(vipAddress);
        if (s == null || epoch > s.epoch()) {
            knownEpoch.put(vipAddress, new Seen(epoch, node, source));
        }
    }

    // ---------------------------------------------------------------- views (for HaView and tests)

    Map<String, Held> held() {
        return Map.copyOf(held);
    }

    Map<String, Long> heldEpochs() {
        Map<String, Long> m = new TreeMap<>();
        held.forEach((k, v) -> m.put(k, v.epoch()));
        return m;
    }

    ZkState zk() {
        return zk;
    }

    long sessionId() {
        return sessionId;
    }

    Peer peer(String id) {
        return peers.get(id);
    }

    List<Peer> peers() {
        return List.copyOf(peers.values());
    }

    Lease lease(String vipAddress) {
        return leases.getOrDefault(vipAddress, Lease.NONE);
    }

    List<String> vipAddresses() {
        return vipAddresses;
    }

    String preferredOwner(String vipAddress) {
        return preferred.get(vipAddress);
    }

    boolean zkUsable() {
        return zk == ZkState.CONNECTED && cacheReady;
    }
}
