package io.tandem.ha;

import java.util.HashMap;
import java.util.Map;

/**
 * Until when this node may let packets in for the addresses it holds (the self-fence's
 * deadline, {@link KernelFence}): the earliest instant at which some peer could have taken one
 * over, minus a margin. Pure: the HA control thread feeds it what it sent and what the peers
 * acknowledged, and asks before each renewal.
 *
 * <p>A peer takes over an address only after both (1) declaring the link dead, no earlier than
 * {@code heartbeat.timeout} after it <em>received</em> our last heartbeat, and (2) a probe through
 * ZooKeeper went unanswered for {@code probe_timeout}. Each gives a lower bound on the takeover,
 * so the later of the two is one too:
 * <ul>
 *   <li>(1) with the peer link up and a heartbeat of ours echoed back by the peer: that
 *       heartbeat's send time + {@code window} ({@code timeout + probe_timeout - interval}).
 *       Anchored on an acknowledged send time, not on "now": heartbeats lost on a one-way cut
 *       do not count.</li>
 *   <li>(2) this thread answers every probe it sees while it runs; a probe not yet seen at a
 *       decision was written no earlier than the decision minus ZooKeeper's watch delay, so the
 *       decision time + {@code probe_timeout - interval} is a bound as long as that delay is
 *       below one interval (the same assumption the takeover itself makes, docs/ha.md). It
 *       needs the node to see probes at all: not while its ZooKeeper session is down or a probe
 *       of its own has gone unacknowledged for longer than {@code downWindow} (cut off from
 *       ZooKeeper); then only bound (1) lets packets in.</li>
 * </ul>
 * Bound (2) holds only while the thread runs without stalls: after a gap between two decisions
 * longer than {@code downWindow}, a probe may have gone unanswered, so bound (2) is suspended
 * until the thread has run on time for {@code window + 2 × interval} (a peer's whole takeover
 * path, {@code heartbeat.timeout + probe_timeout}): a starved thread, late on every tick, never
 * gets it back while starved (the partition nemesis saw a node at 2 % CPU that ran two ticks
 * close together re-open its fence after its peer had taken over). The deadline is the minimum over
 * the peers of the later bound, never more than {@code window} ahead. A process that is frozen, starved or dead renews nothing and its kernel drops the
 * packets by itself once the deadline passes; a healthy node whose link is cut one way keeps
 * its addresses (bound 2, renewed every tick).
 */
final class FenceDeadline {
    private static final int REMEMBERED = 512;

    private final long window;
    private final long downWindow;
    private final long interval;
    private long lastDecision = -1;
    private long suspendedUntil = -1;
    private final long[] sentSeq = new long[REMEMBERED];
    private final long[] sentAt = new long[REMEMBERED];
    private final Map<String, Long> ackedAt = new HashMap<>();
    private final Map<String, Long> ackedSeq = new HashMap<>();

    /**
     * @param window {@code heartbeat.timeout + probe_timeout - heartbeat.interval}, in ms
     * @param downWindow {@code probe_timeout - heartbeat.interval}, in ms (at least 1)
     * @param interval {@code heartbeat.interval}, in ms
     */
    FenceDeadline(long window, long downWindow, long interval) {
        if (window < 1 || downWindow < 1 || downWindow > window) {
            throw new IllegalArgumentException("window " + window + " ms, down window " + downWindow
                    + " ms (expected 1 <= down window <= window)");
        }
        this.window = window;
        this.downWindow = downWindow;
        this.interval = interval;
        java.util.Arrays.fill(sentSeq, -1);
    }

    long window() {
        return window;
    }

    /**
     * Whether to echo a peer's heartbeat back to it (its bound (1)): only once its link has been up
     * for a whole takeover path ({@code heartbeat.timeout + probe_timeout}). A peer declared dead
     * on a probe just before its heartbeats came back may still have a claim in flight; an echo
     * then would let it renew while we take its address (the nemesis saw a node at 2 % CPU accept
     * again after its peer took over). By the time this holds, any such claim has landed and our
     * heartbeats — the same ones that carry the echo — name its new epoch, which the peer fences
     * on before it renews.
     */
    static boolean mayEcho(boolean up, long upSince, long now, long takeoverPath) {
        return up && upSince >= 0 && now - upSince >= takeoverPath;
    }

    /** Records that heartbeat {@code seq} of this incarnation is sent at {@code at} (call before sending). */
    void sent(long seq, long at) {
        int i = (int) (seq % REMEMBERED);
        sentSeq[i] = seq;
        sentAt[i] = at;
    }

    /**
     * A peer echoed our heartbeat {@code seq} (of this incarnation). Unknown or older sequences
     * change nothing: acknowledgements only move forward.
     */
    void acked(String peer, long seq) {
        int i = (int) (seq % REMEMBERED);
        if (seq < 0 || sentSeq[i] != seq) {
            return; // too old to be remembered, or never sent by this incarnation
        }
        Long before = ackedSeq.get(peer);
        if (before == null || seq > before) {
            ackedSeq.put(peer, seq);
            ackedAt.put(peer, sentAt[i]);
        }
    }

    /**
     * The control thread ran at {@code now} (every tick, whether or not the node holds anything):
     * a gap longer than {@code downWindow} since the previous run is a stall.
     */
    void ran(long now) {
        if (lastDecision >= 0 && now - lastDecision > downWindow) {
            suspendedUntil = now + window + 2 * interval; // heartbeat.timeout + probe_timeout
        } else if (suspendedUntil > now && now - lastDecision > 2 * interval) {
            suspendedUntil = now + window + 2 * interval; // still late: not running on time yet
        }
        lastDecision = Math.max(lastDecision, now);
    }

    /**
     * The instant (same clock as {@code now}) until which packets may be let in; at or before
     * {@code now} when nothing may be renewed. Called at every decision (each heartbeat tick);
     * the gaps between calls are how a stall is noticed.
     *
     * @param peers each peer id → whether its link is up at {@code now}
     */
    long deadline(Map<String, Boolean> peers, long now) {
        return deadline(peers, true, now);
    }

    /**
     * @param seesProbes whether this node can see a peer's probe now: its ZooKeeper session is
     *     connected and no probe of its own sits unacknowledged (a node cut off from ZooKeeper
     *     would not see the probe that precedes a takeover, so bound (2) does not hold for it)
     */
    long deadline(Map<String, Boolean> peers, boolean seesProbes, long now) {
        ran(now);
        boolean running = now >= suspendedUntil && seesProbes;
        long deadline = now + window;
        for (Map.Entry<String, Boolean> p : peers.entrySet()) {
            Long acked = ackedAt.get(p.getKey());
            long d = running ? now + downWindow : now; // now: nothing beyond what acks prove
            if (Boolean.TRUE.equals(p.getValue()) && acked != null) {
                d = Math.max(d, acked + window);
            }
            deadline = Math.min(deadline, d);
        }
        return deadline;
    }
}
