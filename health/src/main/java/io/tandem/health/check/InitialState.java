package io.tandem.health.check;

/**
 * How a check starts, before its first result (HAProxy {@code init-state}).
 */
public enum InitialState {
    /**
     * Unknown until evidence arrives: the first pass marks the backend {@link CheckState#UP} at
     * once; failures count toward {@code fall}, and {@code fall} consecutive failures mark it
     * {@link CheckState#DOWN}. Use for backends that must prove themselves before taking
     * traffic (newly discovered ones, with the {@code PENDING_FIRST_CHECK} flag set meanwhile).
     */
    PENDING,
    /**
     * Starts {@link CheckState#UP}, as if {@code rise} passes had been seen; {@code fall}
     * consecutive failures are needed to mark it down (HAProxy {@code init-state fully-up}).
     * Use when the backend already takes traffic, e.g. across a reload.
     */
    TRUSTED
}
