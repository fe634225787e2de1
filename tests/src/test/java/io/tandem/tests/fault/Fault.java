package io.tandem.tests.fault;

import java.io.IOException;
import java.time.Instant;

/**
 * One fault on one backend, made by {@link Faults#fault}. {@link #apply()} switches it on and
 * returns the instant it is in effect (the "fault instant" scenarios measure from);
 * {@link #clear()} switches it off and is idempotent; {@link #close()} clears, so a fault in a
 * try-with-resources never outlives its test.
 */
public interface Fault extends AutoCloseable {
    FaultKind kind();

    /** What it acts on, e.g. {@code b2@127.0.0.1:40123(pid 4242)}. */
    String target();

    /**
     * True when a new connection to the faulty backend already fails at connect time (refused or
     * timed out), so the load balancer can still retry it elsewhere before any client byte is
     * sent. False when the connect succeeds and the fault shows only afterwards (a hung process, or
     * any fault behind a proxy that accepts connections itself): then a client can lose the
     * connections made before the backend is ejected.
     */
    boolean visibleAtConnect();

    Instant apply() throws IOException;

    void clear() throws IOException;

    boolean active();

    @Override
    default void close() throws IOException {
        clear();
    }
}
