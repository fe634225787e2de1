package io.tandem.health.passive;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * Detects a <em>hung</em> backend at layer 4: one that accepts connections (the kernel does that
 * for a stopped or deadlocked process) but never answers. Opt-in per VIP ({@code response_timeout}),
 * because only the protocol tells whether silence is a fault: after a client's request an HTTP,
 * Redis or Postgres server must answer, while a pub/sub subscriber, a long poll or a blocking
 * pop may legitimately wait for minutes.
 *
 * <p>The data path keeps one {@link Watch} per connection (on the connection's event loop),
 * feeds it byte events and, when {@link Watch#overdue} becomes true, reports a passive failure
 * for the backend (and closes the connection). This class holds only the decision, no I/O.
 */
public final class ResponseTimeoutPolicy {

    /** Which silence counts. */
    public enum Mode {
        /**
         * From the client's first bytes to the backend's first byte, once per connection: the
         * safe default for client-speaks-first protocols (HTTP, Redis, Postgres, MySQL after its
         * greeting...), blind to a backend that hangs later in the connection.
         */
        FIRST_RESPONSE,
        /**
         * After every client send that the backend has not answered since: also catches hangs
         * mid-connection, but only for strict request/response protocols (HTTP/1.1 without long
         * polling, Redis without blocking commands, memcached).
         */
        EVERY_REQUEST,
        /**
         * From the connect to the backend's first byte: for server-speaks-first protocols
         * (SMTP, FTP, POP3/IMAP, SSH, MySQL's greeting), where the client waits in silence.
         */
        SERVER_GREETING
    }

    private static final ResponseTimeoutPolicy DISABLED = new ResponseTimeoutPolicy(Duration.ZERO, Mode.FIRST_RESPONSE);

    private final Duration timeout;
    private final long timeoutNanos;
    private final Mode mode;

    private ResponseTimeoutPolicy(Duration timeout, Mode mode) {
        this.timeout = timeout;
        this.timeoutNanos = timeout.toNanos();
        this.mode = mode;
    }

    /** No response timeout (the default for a VIP). */
    public static ResponseTimeoutPolicy disabled() {
        return DISABLED;
    }

    public static ResponseTimeoutPolicy of(Duration timeout, Mode mode) {
        requireNonNull(timeout, "timeout");
        requireNonNull(mode, "mode");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected > 0)");
        }
        return new ResponseTimeoutPolicy(timeout, mode);
    }

    public boolean enabled() {
        return timeoutNanos > 0;
    }

    public Duration timeout() {
        return timeout;
    }

    public Mode mode() {
        return mode;
    }

    /** A tracker for one proxied connection. Allocate only when {@link #enabled()}. */
    public Watch newWatch() {
        return new Watch();
    }

    /**
     * One connection's "waiting for the backend" clock, in {@link System#nanoTime()} units.
     * Not thread-safe: lives on the connection's event loop. No allocation per event.
     */
    public final class Watch {
        private static final long UNARMED = Long.MAX_VALUE;
        private long armedAt = UNARMED;
        private boolean answered;

        private Watch() {
        }

        /** The backend connection is established. Arms the clock in {@code SERVER_GREETING} mode. */
        public void connected(long nowNanos) {
            if (enabled() && mode == Mode.SERVER_GREETING && !answered && armedAt == UNARMED) {
                armedAt = nowNanos;
            }
        }

        /** Client bytes were written to the backend. Arms the clock if the backend owes an answer. */
        public void clientBytes(long nowNanos) {
            if (!enabled() || armedAt != UNARMED) {
                return; // the deadline counts from the first unanswered byte
            }
            boolean arm = switch (mode) {
                case FIRST_RESPONSE -> !answered;
                case EVERY_REQUEST -> true;
                case SERVER_GREETING -> false;
            };
            if (arm) {
                armedAt = nowNanos;
            }
        }

        /** The backend sent bytes: whatever was owed is answered. */
        public void backendBytes() {
            answered = true;
            armedAt = UNARMED;
        }

        /** Whether the clock is running. */
        public boolean armed() {
            return armedAt != UNARMED;
        }

        /** When the backend is overdue, or {@link Long#MAX_VALUE} if it owes nothing: schedule a timer then. */
        public long deadlineNanos() {
            return armedAt == UNARMED ? UNARMED : armedAt + timeoutNanos;
        }

        /** True once the backend has been silent for the whole timeout while owing an answer. */
        public boolean overdue(long nowNanos) {
            return armedAt != UNARMED && nowNanos - armedAt >= timeoutNanos;
        }

        /** The passive-failure reason to report when overdue. */
        public String reason() {
            return "no response within " + timeout.toMillis() + " ms"
                    + (mode == Mode.SERVER_GREETING ? " of connect" : " of client data");
        }
    }
}
