package io.tandem.health.check;

/**
 * Where a backend stands with its active check, with HAProxy's vocabulary: the two stable
 * states {@link #UP} and {@link #DOWN}, the two transitional ones in between (HAProxy shows
 * them as "UP 1/3", "DOWN 1/2"), and {@link #PENDING} before any verdict.
 *
 * <p>Only a change of {@linkplain #isUp() verdict} (or leaving {@code PENDING}) is reported as a
 * {@link HealthTransition}: a transitional state still routes like the stable state it came from.
 */
public enum CheckState {
    /** No verdict yet: not checked, or not enough results to decide. */
    PENDING,
    /** Passing: {@code rise} consecutive passes seen (or trusted initially). */
    UP,
    /** Still up, but {@code 1..fall-1} consecutive failures seen: checked at the fast interval. */
    GOING_DOWN,
    /** Failing: {@code fall} consecutive failures seen. */
    DOWN,
    /** Still down, but {@code 1..rise-1} consecutive passes seen: checked at the fast interval. */
    GOING_UP;

    /** True when the backend should take traffic as far as this check is concerned. */
    public boolean isUp() {
        return this == UP || this == GOING_DOWN;
    }

    /** The verdict this state routes as: {@code UP}, {@code DOWN} or {@code PENDING}. */
    public CheckState verdict() {
        return switch (this) {
            case PENDING -> PENDING;
            case UP, GOING_DOWN -> UP;
            case DOWN, GOING_UP -> DOWN;
        };
    }
}
