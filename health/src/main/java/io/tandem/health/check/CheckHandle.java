package io.tandem.health.check;

/**
 * One watcher's hold on a (possibly shared) active check. Closing the last handle of a check
 * stops its probes.
 */
public interface CheckHandle extends AutoCloseable {

    /**
     * The shared check's current state as last seen by its event loop (a racy read, fine for
     * display). {@code PENDING} until a verdict exists.
     */
    CheckState state();

    /** Stops delivering to this watcher; stops the probes if it was the last one. Idempotent. */
    @Override
    void close();
}
