package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HealthCheckSpec;
import io.tandem.core.control.NodeView.TransitionView;
import io.tandem.core.pool.Backend;
import io.tandem.health.HealthFlag;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The {@link Reconciler}'s mutable record of one backend of one VIP: the {@link Backend} the data
 * path sees, its health flags (each set and cleared by one owner: {@link HealthRules} for checks,
 * ejections and self-loops, {@link BackendSync} for the discovery source's, the operator's
 * actions for theirs), its active check and its recent transitions. Confined to the control
 * loop thread.
 */
final class BackendState {
    private static final int RECENT_TRANSITIONS = 16;

    private Backend backend;
    private final String origin;
    private final EnumSet<HealthFlag> flags = EnumSet.noneOf(HealthFlag.class);
    private final Deque<TransitionView> recent = new ArrayDeque<>();
    /** When the backend last became eligible (slow start); null while it is not. */
    Instant eligibleSince;
    /** The id of the active check watching this backend (0: none), and the spec it was started with. */
    long checkId;
    HealthCheckSpec checkSpec;
    /**
     * The id of the agent check asking this backend's agent (0: none), the spec it was started with,
     * and what the agent has said so far (null until its first exchange ends).
     */
    long agentId;
    io.tandem.config.AgentCheck agentSpec;
    io.tandem.health.check.AgentState agent;
    /** Who wants DRAINING: the operator, the discovery source, or both (the flag is either). */
    boolean operatorDraining;
    boolean sourceDraining;
    /** When the data path saw the first connect failure of the current streak (detection latency). */
    Instant firstFailureAt;
    /**
     * The backend's latency counters as the last latency review read them (the next window is
     * their growth since), and whose counters they were: a replaced backend starts over.
     */
    io.tandem.core.pool.BackendStats latencyStats;
    long latencySeenNanos;
    long latencySeenCount;
    /** An operator drain's deadline timer is set (it cuts the remaining connections). */
    boolean drainDeadline;

    BackendState(Backend backend, String origin) {
        this.backend = requireNonNull(backend, "backend");
        this.origin = requireNonNull(origin, "origin");
    }

    Backend backend() {
        return backend;
    }

    void backend(Backend next) {
        this.backend = requireNonNull(next, "next");
    }

    String origin() {
        return origin;
    }

    boolean eligible() {
        return flags.isEmpty();
    }

    /** Whether an active check watches this backend (else nothing vouches for it: "unchecked"). */
    boolean checked() {
        return checkSpec != null;
    }

    /** The one word for its health an operator reads ({@link NodeView.BackendView#stateOf}). */
    String state() {
        return NodeView.BackendView.stateOf(flags, checked());
    }

    boolean has(HealthFlag flag) {
        return flags.contains(flag);
    }

    Set<HealthFlag> flags() {
        return flags.isEmpty() ? Set.of() : Set.copyOf(flags);
    }

    /**
     * Sets or clears {@code flag}; records a transition when something changed.
     *
     * @return true when the flag changed
     */
    boolean flag(HealthFlag flag, boolean set, String reason, Instant at) {
        boolean changed = set ? flags.add(flag) : flags.remove(flag);
        if (changed) {
            if (recent.size() == RECENT_TRANSITIONS) {
                recent.removeFirst();
            }
            recent.addLast(new TransitionView(at, flag, set, reason));
        }
        return changed;
    }

    List<TransitionView> recentTransitions() {
        return List.copyOf(recent);
    }

    /** Forgets the agent check and what it said; returns its id for the caller to stop (0: there was none). */
    long dropAgent() {
        long id = agentId;
        agentId = 0;
        agentSpec = null;
        agent = null;
        return id;
    }

    /** Forgets the active check; returns its id for the caller to stop (0: there was none). */
    long dropCheck() {
        long id = checkId;
        checkId = 0;
        checkSpec = null;
        return id;
    }
}
