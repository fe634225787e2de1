package io.tandem.health.check;

/**
 * Hears what an agent check found ({@link HealthChecker#watchAgent}). Called on the checker's
 * callback executor, in order when that executor is serial (give it the control loop).
 */
@FunctionalInterface
public interface AgentListener {

    /** The agent's state changed (its effect, its last answer or its reachability), or became known to a new watcher. */
    void onAgent(AgentState state);
}
