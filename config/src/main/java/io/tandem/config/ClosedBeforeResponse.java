package io.tandem.config;

/**
 * Which end of a connection by the backend, before it sent a single byte, counts as a passive
 * failure ({@link OutlierDetection#closedBeforeResponse()}). The client must have sent bytes
 * first: a connection the client never used owes nothing, and a server that speaks first sends
 * its greeting before anything else.
 *
 * <p>{@code RESET} (the default): only a reset, which no protocol uses to end a conversation it
 * has not answered; typical of a crashing worker, an accept queue overflowing
 * ({@code tcp_abort_on_overflow}) or a proxy in front of a dead service. {@code RESET_OR_CLOSE}:
 * also an orderly close (FIN) while the client had not closed its side; for request/response
 * protocols only, since a server may rightly close an unfinished request (a slow client, a
 * request it refuses) without a word. {@code OFF}: neither counts.
 */
public enum ClosedBeforeResponse {
    OFF, RESET, RESET_OR_CLOSE;

    /** Whether a reset counts. */
    public boolean resets() {
        return this != OFF;
    }

    /** Whether an orderly close counts. */
    public boolean closes() {
        return this == RESET_OR_CLOSE;
    }
}
