package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HealthCheckSpec;
import io.tandem.core.control.NodeView.TransitionView;
import io.tandem.core.pool.Backend;
import io.tandem.health.HealthFlag;
import io.tandem.health.check.CheckHandle;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;

/**
 * The control loop's mutable record of one backend of one VIP: the {@link Backend} the data
 * path sees, its health flags, its active check and its recent transitions. Confined to the
 * control loop thread.
 */
final class BackendState {
    private static final int RECENT_TRANSITIONS = 16;

    private Backend backend;
    private final String origin;
    private final EnumSet<HealthFlag> flags = EnumSet.noneOf(HealthFlag.class);
    private final Deque<TransitionView> recent = new ArrayDeque<>();
    /** When the backend last became eligible (slow start); null while it is not. */
    Instant eligibleSince;
    /** The active check this backend is watched by, and the spec it was started with. */
    CheckHandle check;
    HealthCheckSpec checkSpec;
    /** Who wants DRAINING: the operator, the discovery source, or both (the flag is either). */
    boolean operatorDraining;
    boolean sourceDraining;
    /** When the data path saw the first connect failure of the current streak (detection latency). */
    Instant firstFailureAt;
    /** Closes the remaining connections when an operator drain's deadline passes. */
    ScheduledFuture<?> drainDeadline;

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

    void stopCheck() {
        if (check != null) {
            check.close();
            check = null;
            checkSpec = null;
        }
    }
}
