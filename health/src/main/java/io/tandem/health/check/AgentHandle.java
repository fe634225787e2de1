package io.tandem.health.check;

/** One watcher's hold on a (possibly shared) agent check. Closing the last handle stops it. */
public interface AgentHandle extends AutoCloseable {

    /** The agent's state as last seen by its event loop (a racy read, fine for display). */
    AgentState state();

    /** Stops delivering to this watcher; stops the agent check if it was the last one. Idempotent. */
    @Override
    void close();
}
