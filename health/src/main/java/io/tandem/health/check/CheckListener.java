package io.tandem.health.check;

/**
 * Receives what one watcher of an active check needs to know. Called on the checker's callback
 * executor, in order when that executor is serial (give it the control loop).
 */
@FunctionalInterface
public interface CheckListener {

    /** The check's verdict changed (or, for a new watcher, became known). */
    void onTransition(HealthTransition transition);

    /**
     * Every probe result, for check-latency metrics. Does nothing unless overridden; a listener
     * that does not override it is not called (nor its executor woken) per probe, only on transitions.
     */
    default void onProbe(ProbeResult result) {
    }
}
