package io.tandem.health.check;

import static java.util.Objects.requireNonNull;

import io.tandem.config.CheckTiming;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * The verdict of one active check over time, with HAProxy semantics: {@code rise} consecutive
 * passes mark a backend up, {@code fall} consecutive failures mark it down, and the next check
 * comes after {@code interval} while stably up, {@code fastInterval} while the verdict is
 * undecided or changing (HAProxy {@code fastinter}) and {@code downInterval} while down
 * ({@code downinter}), each plus a random jitter of up to {@code jitter × delay}.
 *
 * <p>Pure and single-threaded: time and randomness are injected, and the owner (the checker's
 * event loop, or a test) feeds it results one at a time. It reports only verdict changes; see
 * {@link CheckState} for the states in between.
 */
public final class CheckStateMachine {

    private final CheckTiming timing;
    private final InstantSource clock;
    private final RandomGenerator random;

    private CheckState state;
    private int passes;        // consecutive passes in the current streak
    private int failures;      // consecutive failures in the current streak
    private Instant streakStart;
    private long results;

    public CheckStateMachine(CheckTiming timing, InitialState initial, InstantSource clock, RandomGenerator random) {
        this.timing = requireNonNull(timing, "timing");
        requireNonNull(initial, "initial");
        this.clock = requireNonNull(clock, "clock");
        this.random = requireNonNull(random, "random");
        if (timing.rise() < 1) {
            throw new IllegalArgumentException("rise: " + timing.rise() + " (expected >= 1)");
        }
        if (timing.fall() < 1) {
            throw new IllegalArgumentException("fall: " + timing.fall() + " (expected >= 1)");
        }
        if (!(timing.jitter() >= 0 && timing.jitter() <= 1)) {
            throw new IllegalArgumentException("jitter: " + timing.jitter() + " (expected 0..1)");
        }
        requirePositive("interval", timing.interval());
        requirePositive("fastInterval", timing.fastInterval());
        requirePositive("downInterval", timing.downInterval());
        requirePositive("timeout", timing.timeout());
        this.state = initial == InitialState.TRUSTED ? CheckState.UP : CheckState.PENDING;
    }

    private static void requirePositive(String name, Duration d) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + ": " + d + " (expected > 0)");
        }
    }

    public CheckState state() {
        return state;
    }

    /** How many results this machine has been fed. */
    public long results() {
        return results;
    }

    public CheckTiming timing() {
        return timing;
    }

    /** Feeds a passing result, seen now. Returns the transition if the verdict changed. */
    public Optional<HealthTransition> pass(String detail) {
        requireNonNull(detail, "detail");
        Instant now = clock.instant();
        results++;
        if (passes == 0) {
            streakStart = now;
        }
        passes++;
        failures = 0;
        return switch (state) {
            case UP -> Optional.empty();
            case GOING_DOWN -> {
                state = CheckState.UP;
                yield Optional.empty();
            }
            case PENDING -> {
                state = CheckState.UP;
                yield Optional.of(new HealthTransition(CheckState.PENDING, CheckState.UP,
                        "first check passed: " + detail, streakStart, now));
            }
            case DOWN, GOING_UP -> {
                if (passes >= timing.rise()) {
                    state = CheckState.UP;
                    yield Optional.of(new HealthTransition(CheckState.DOWN, CheckState.UP,
                            passes + "/" + timing.rise() + " checks passed: " + detail, streakStart, now));
                }
                state = CheckState.GOING_UP;
                yield Optional.empty();
            }
        };
    }

    /** Feeds a failing result, seen now. Returns the transition if the verdict changed. */
    public Optional<HealthTransition> fail(String reason) {
        requireNonNull(reason, "reason");
        Instant now = clock.instant();
        results++;
        if (failures == 0) {
            streakStart = now;
        }
        failures++;
        passes = 0;
        return switch (state) {
            case DOWN -> Optional.empty();
            case GOING_UP -> {
                state = CheckState.DOWN;
                yield Optional.empty();
            }
            case PENDING, UP, GOING_DOWN -> {
                if (failures >= timing.fall()) {
                    CheckState from = state.verdict();
                    state = CheckState.DOWN;
                    yield Optional.of(new HealthTransition(from, CheckState.DOWN,
                            failures + "/" + timing.fall() + " checks failed: " + reason, streakStart, now));
                }
                if (state == CheckState.UP) {
                    state = CheckState.GOING_DOWN;
                }
                yield Optional.empty();
            }
        };
    }

    /** Feeds a result: {@link #pass} or {@link #fail}. */
    public Optional<HealthTransition> result(boolean passed, String detail) {
        return passed ? pass(detail) : fail(detail);
    }

    /**
     * The delay before the next check, without jitter: {@code interval} when stably up,
     * {@code fastInterval} while pending or transitioning (also after a first failure),
     * {@code downInterval} while stably down.
     */
    public Duration baseDelay() {
        return switch (state) {
            case UP -> timing.interval();
            case PENDING, GOING_DOWN, GOING_UP -> timing.fastInterval();
            case DOWN -> timing.downInterval();
        };
    }

    /** {@link #baseDelay()} plus a random jitter in {@code [0, jitter × baseDelay)}. */
    public Duration nextDelay() {
        return withJitter(baseDelay());
    }

    /**
     * The delay before the very first check: a pending backend is checked at once (it takes no
     * traffic until then); a trusted one somewhere within its first interval, so that many
     * checks started together (at boot, on reload) spread out instead of firing in a burst.
     */
    public Duration initialDelay() {
        if (state == CheckState.PENDING) {
            return Duration.ZERO;
        }
        return Duration.ofNanos((long) (random.nextDouble() * baseDelay().toNanos()));
    }

    private Duration withJitter(Duration base) {
        long nanos = base.toNanos();
        long extra = (long) (random.nextDouble() * timing.jitter() * nanos);
        return Duration.ofNanos(nanos + extra);
    }

    @Override
    public String toString() {
        return "CheckStateMachine[state=" + state + ", passes=" + passes + ", failures=" + failures + "]";
    }
}
