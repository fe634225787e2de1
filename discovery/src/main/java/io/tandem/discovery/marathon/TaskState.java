package io.tandem.discovery.marathon;

import java.util.Locale;
import java.util.Optional;

/**
 * The Mesos {@code TaskState} values Marathon reports, and what each means to a load balancer
 * (reference discovery.md section E).
 */
enum TaskState {
    STAGING(Kind.PENDING),
    STARTING(Kind.PENDING),
    RUNNING(Kind.SERVING),
    KILLING(Kind.DRAINING),
    UNREACHABLE(Kind.UNREACHABLE),
    UNKNOWN(Kind.UNREACHABLE),
    /**
     * Marathon is partition-aware, so Mesos sends the finer states instead of LOST; when LOST
     * does appear it means "may or may not still be running" (marathon-lb keeps it), so it is
     * treated like UNREACHABLE and left to our own checks.
     */
    LOST(Kind.UNREACHABLE),
    FINISHED(Kind.TERMINAL),
    FAILED(Kind.TERMINAL),
    KILLED(Kind.TERMINAL),
    ERROR(Kind.TERMINAL),
    DROPPED(Kind.TERMINAL),
    GONE(Kind.TERMINAL),
    GONE_BY_OPERATOR(Kind.TERMINAL);

    enum Kind {
        /** Not yet serving: not a backend, but remembered so a RUNNING update can patch it. */
        PENDING,
        SERVING,
        /** Going away: a backend that takes no new connections. */
        DRAINING,
        /** May still be serving; kept or removed by {@link MarathonSettings.UnreachablePolicy}. */
        UNREACHABLE,
        /** Gone for good: removed at once. */
        TERMINAL
    }

    private final Kind kind;

    TaskState(Kind kind) {
        this.kind = kind;
    }

    Kind kind() {
        return kind;
    }

    /** Parses {@code TASK_RUNNING} (or {@code RUNNING}, any case). */
    static Optional<TaskState> parse(String mesos) {
        if (mesos == null) {
            return Optional.empty();
        }
        String s = mesos.trim().toUpperCase(Locale.ROOT);
        if (s.startsWith("TASK_")) {
            s = s.substring(5);
        }
        try {
            return Optional.of(valueOf(s));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
