package io.tandem.ha;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import java.util.Map;
import java.util.TreeMap;

/** What nodes tell each other over the peer link (TCP, length-prefixed frames). */
public sealed interface PeerMessage {

    /** The sending node's id. */
    String nodeId();

    /**
     * Sent every heartbeat interval. Carries the sender's claims so a receiver can fence itself
     * (a higher epoch for an address it serves) and can witness, while ZooKeeper is unreachable,
     * that the sender is <em>not</em> serving an address.
     *
     * @param incarnation changes on every start of the sender (detects restarts)
     * @param sequence increases by one per heartbeat
     * @param zkConnected whether the sender has a live ZooKeeper session (preemption waits for it)
     * @param held the addresses the sender serves, with their epochs
     * @param echoes per node id, the incarnation and sequence of the last heartbeat the sender
     *     received from that node: the receiver learns which of its heartbeats arrived, which
     *     bounds how long it may let packets in under the self-fence ({@link FenceDeadline})
     */
    record Heartbeat(String nodeId, long incarnation, long sequence, boolean zkConnected, Map<String, Long> held,
                     Map<String, Echo> echoes) implements PeerMessage {
        public Heartbeat {
            requireNonNull(nodeId, "nodeId");
            held = Map.copyOf(new TreeMap<>(requireNonNull(held, "held")));
            echoes = Map.copyOf(requireNonNull(echoes, "echoes"));
        }

        /** A heartbeat that acknowledges nothing (as a node before the self-fence sends). */
        public Heartbeat(String nodeId, long incarnation, long sequence, boolean zkConnected, Map<String, Long> held) {
            this(nodeId, incarnation, sequence, zkConnected, held, Map.of());
        }
    }

    /** The last heartbeat received from one node: its incarnation and sequence. */
    record Echo(long incarnation, long sequence) {
    }

    /**
     * Shared health view: the sender's passive detector ejected a backend, so the receiver can
     * re-probe it at once instead of waiting for its own traffic or check interval.
     */
    record BackendEjected(String nodeId, String vipName, HostPort backend, String reason, long atEpochMillis)
            implements PeerMessage {
        public BackendEjected {
            requireNonNull(nodeId, "nodeId");
            requireNonNull(vipName, "vipName");
            requireNonNull(backend, "backend");
            requireNonNull(reason, "reason");
        }
    }
}
