package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

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
 * The control loop's mutable record of one backend of one VIP: the {@link Backend} the data
 * path sees, its health flags and its recent transitions. Confined to the control loop thread.
 */
final class BackendState {
    private static final int RECENT_TRANSITIONS = 16;

    private Backend backend;
    private final String origin;
    private final EnumSet<HealthFlag> flags = EnumSet.noneOf(HealthFlag.class);
    private final Deque<TransitionView> recent = new ArrayDeque<>();

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

    Set<HealthFlag> flags() {
        return EnumSet.copyOf(flags.isEmpty() ? EnumSet.noneOf(HealthFlag.class) : flags);
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
}
