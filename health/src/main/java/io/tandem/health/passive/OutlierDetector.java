package io.tandem.health.passive;

import static java.util.Objects.requireNonNull;

import io.tandem.config.OutlierDetection;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Passive outlier detection for one backend set: decides, from failures seen on live traffic
 * (refused or timed-out connects, resets, ICMP unreachable, hung responses), when to eject a
 * backend and for how long. The caller owns the consequences: it sets the
 * {@code EJECTED_PASSIVE} flag on an {@link Outcome#EJECTED} decision, re-probes the backend
 * actively, and clears the flag for the backends {@link #expired()} returns.
 *
 * <p>Repeat offenders are ejected for longer: ejection n lasts {@code base_ejection_time × 2^(n-1)},
 * capped at {@code max_ejection_time} (never below the base); the level drops by one per
 * {@link #DECAY} spent in rotation, and a failure streak whose last failure is older than that is
 * forgotten. At most {@code max_ejection_percent} of the set is ejected at once (rounded down), so
 * a shared cause (a network blip, an overloaded database behind every backend) cannot empty the pool.
 *
 * <p>The settings are the config's own {@link OutlierDetection} record: its defaults are the only ones.
 *
 * <p>Pure and single-threaded (the control loop owns it); time is injected.
 *
 * @param <K> the backend identity (an address, a backend id)
 */
public final class OutlierDetector<K> {

    /** What a failure led to. */
    public enum Outcome {
        /** Newly ejected: set {@code EJECTED_PASSIVE}, re-probe. */
        EJECTED,
        /** Counted; not enough consecutive failures yet. */
        BELOW_THRESHOLD,
        /** Already ejected: failures of connections already in flight are not counted again. */
        ALREADY_EJECTED,
        /** Would be ejected, but the maximum ejected fraction is reached: stays in rotation. */
        CAPPED,
        /** Not in the backend set (e.g. removed while a connection attempt was in flight). */
        NOT_A_MEMBER
    }

    /**
     * The verdict on one failure.
     *
     * @param until               end of the ejection (present for {@code EJECTED} and {@code ALREADY_EJECTED})
     * @param reason              why, for the transition log and the admin API
     * @param firstFailureAt      first failure of the streak (detection latency = decision time − this);
     *                            the time of this failure for {@code ALREADY_EJECTED}/{@code NOT_A_MEMBER}
     * @param consecutiveFailures the streak length including this failure (0 when not counted)
     */
    public record Decision<K>(K backend, Outcome outcome, Optional<Instant> until, String reason,
                              Instant firstFailureAt, int consecutiveFailures) {
        public Decision {
            requireNonNull(backend, "backend");
            requireNonNull(outcome, "outcome");
            requireNonNull(until, "until");
            requireNonNull(reason, "reason");
            requireNonNull(firstFailureAt, "firstFailureAt");
        }

        /** True when this failure ejected the backend (the caller must act). */
        public boolean ejected() {
            return outcome == Outcome.EJECTED;
        }
    }

    private static final class State {
        int failures;
        Instant firstFailure;
        Instant lastFailure;
        int level;              // back-off level: ejections not yet decayed
        Instant inRotationSince;
        Instant ejectedUntil;   // null when in rotation
    }

    /**
     * How long a failure streak and one level of back-off last. Not configurable: Envoy's
     * {@code interval} plays this part, and nobody has needed another value yet.
     */
    public static final Duration DECAY = Duration.ofSeconds(10);

    private final OutlierDetection settings;
    private final InstantSource clock;
    private final Map<K, State> states = new LinkedHashMap<>();
    private int ejected;

    /**
     * @throws IllegalArgumentException when {@code settings} switch passive detection off
     *                                  ({@code consecutive_failures: 0}): then there is no detector
     */
    public OutlierDetector(OutlierDetection settings, InstantSource clock) {
        this.settings = requireNonNull(settings, "settings");
        this.clock = requireNonNull(clock, "clock");
        if (!settings.enabled()) {
            throw new IllegalArgumentException("consecutiveFailures: " + settings.consecutiveFailures()
                    + " (expected >= 1; 0 switches passive detection off)");
        }
    }

    public OutlierDetection settings() {
        return settings;
    }

    /**
     * Sets the backend set: new members start clean, departed ones are forgotten (with their
     * ejection). The set's size is the denominator of {@code maxEjectedFraction}.
     */
    public void setMembers(Collection<K> members) {
        requireNonNull(members, "members");
        Set<K> keep = new HashSet<>(members);
        states.entrySet().removeIf(e -> {
            boolean gone = !keep.contains(e.getKey());
            if (gone && e.getValue().ejectedUntil != null) {
                ejected--;
            }
            return gone;
        });
        Instant now = clock.instant();
        for (K k : members) {
            states.computeIfAbsent(requireNonNull(k, "member"), x -> {
                State s = new State();
                s.inRotationSince = now;
                return s;
            });
        }
    }

    /** Records a failure of {@code backend} seen now and decides whether to eject it. */
    public Decision<K> onFailure(K backend, String reason) {
        requireNonNull(backend, "backend");
        requireNonNull(reason, "reason");
        Instant now = clock.instant();
        State s = states.get(backend);
        if (s == null) {
            return new Decision<>(backend, Outcome.NOT_A_MEMBER, Optional.empty(), "not a member: " + reason, now, 0);
        }
        if (s.ejectedUntil != null) {
            return new Decision<>(backend, Outcome.ALREADY_EJECTED, Optional.of(s.ejectedUntil),
                    "already ejected: " + reason, now, 0);
        }
        if (s.failures > 0 && Duration.between(s.lastFailure, now).compareTo(DECAY) > 0) {
            s.failures = 0; // the previous streak is too old to count
        }
        if (s.failures == 0) {
            s.firstFailure = now;
        }
        s.failures++;
        s.lastFailure = now;
        int threshold = settings.consecutiveFailures();
        if (s.failures < threshold) {
            return new Decision<>(backend, Outcome.BELOW_THRESHOLD, Optional.empty(),
                    s.failures + "/" + threshold + " consecutive failures: " + reason, s.firstFailure, s.failures);
        }
        return ejectUnlessCapped(backend, s, now,
                s.failures + " consecutive failure" + (s.failures == 1 ? "" : "s") + ": " + reason);
    }

    /**
     * Ejects {@code backend} at once, without a failure streak: for a verdict reached over a whole
     * window rather than one connection (a latency outlier). The maximum ejected fraction and the
     * back-off apply as to any ejection, and like any ejection it ends the backend's failure streak.
     */
    public Decision<K> eject(K backend, String reason) {
        requireNonNull(backend, "backend");
        requireNonNull(reason, "reason");
        Instant now = clock.instant();
        State s = states.get(backend);
        if (s == null) {
            return new Decision<>(backend, Outcome.NOT_A_MEMBER, Optional.empty(), "not a member: " + reason, now, 0);
        }
        if (s.ejectedUntil != null) {
            return new Decision<>(backend, Outcome.ALREADY_EJECTED, Optional.of(s.ejectedUntil),
                    "already ejected: " + reason, now, 0);
        }
        Decision<K> d = ejectUnlessCapped(backend, s, now, reason);
        return d.ejected() ? new Decision<>(backend, Outcome.EJECTED, d.until(), d.reason(), now, 0) : d;
    }

    private Decision<K> ejectUnlessCapped(K backend, State s, Instant now, String why) {
        int allowed = maxEjected();
        if (ejected + 1 > allowed) {
            return new Decision<>(backend, Outcome.CAPPED, Optional.empty(),
                    "not ejected, max ejected fraction reached: " + ejected + " of " + states.size()
                            + " ejected (max " + maxEjectedFraction() + " allows " + allowed + "); " + why,
                    s.firstFailure == null ? now : s.firstFailure, s.failures);
        }
        s.level = decayedLevel(s, now) + 1;
        Duration length = ejectionLength(s.level);
        s.ejectedUntil = now.plus(length);
        ejected++;
        int failures = s.failures;
        Instant first = s.firstFailure == null ? now : s.firstFailure;
        s.failures = 0;
        s.firstFailure = null;
        s.lastFailure = null;
        return new Decision<>(backend, Outcome.EJECTED, Optional.of(s.ejectedUntil),
                why + "; ejection #" + s.level + " for " + length.toMillis() + " ms", first, failures);
    }

    /** Records a success (a connect or a response): the failure streak starts over. */
    public void onSuccess(K backend) {
        State s = states.get(requireNonNull(backend, "backend"));
        if (s != null) {
            s.failures = 0;
            s.firstFailure = null;
            s.lastFailure = null;
        }
    }

    /**
     * Ends the ejections whose time is up and returns their backends, soonest first: the caller
     * clears {@code EJECTED_PASSIVE} and re-probes them. Each ejection is reported once. A
     * backend stays ejected until reported here, so call this at {@link #nextExpiry()}.
     */
    public List<K> expired() {
        Instant now = clock.instant();
        List<Map.Entry<K, State>> due = new ArrayList<>();
        for (Map.Entry<K, State> e : states.entrySet()) {
            Instant until = e.getValue().ejectedUntil;
            if (until != null && !until.isAfter(now)) {
                due.add(e);
            }
        }
        due.sort(Comparator.comparing(e -> e.getValue().ejectedUntil));
        List<K> result = new ArrayList<>(due.size());
        for (Map.Entry<K, State> e : due) {
            State s = e.getValue();
            s.ejectedUntil = null;
            s.inRotationSince = now;
            ejected--;
            result.add(e.getKey());
        }
        return result;
    }

    /** When the next ejection ends, if any: schedule {@link #expired()} then. */
    public Optional<Instant> nextExpiry() {
        return states.values().stream().map(s -> s.ejectedUntil).filter(u -> u != null).min(Comparator.naturalOrder());
    }

    public boolean isEjected(K backend) {
        State s = states.get(requireNonNull(backend, "backend"));
        return s != null && s.ejectedUntil != null;
    }

    /** Backends currently ejected. */
    public int ejectedCount() {
        return ejected;
    }

    /** Size of the backend set. */
    public int memberCount() {
        return states.size();
    }

    /** The ejection count that sets the next ejection's length, after decay (0 = clean record). */
    public int backoffLevel(K backend) {
        State s = states.get(requireNonNull(backend, "backend"));
        if (s == null) {
            return 0;
        }
        return s.ejectedUntil != null ? s.level : decayedLevel(s, clock.instant());
    }

    /** How many backends may be ejected at once: {@code floor(fraction × members)}. */
    int maxEjected() {
        return (int) Math.floor(maxEjectedFraction() * states.size() + 1e-9);
    }

    private double maxEjectedFraction() {
        return settings.maxEjectionPercent() / 100.0;
    }

    private int decayedLevel(State s, Instant now) {
        if (s.level == 0) {
            return 0;
        }
        long inRotation = Duration.between(s.inRotationSince, now).toNanos();
        long steps = inRotation / DECAY.toNanos();
        return (int) Math.max(0, s.level - steps);
    }

    private Duration ejectionLength(int level) {
        // The base is never cut short: validation only holds max_ejection_time >= base when the
        // file sets both, and a long base with the default cap must still mean what it says.
        Duration d = settings.baseEjectionTime();
        Duration max = settings.maxEjectionTime().compareTo(d) < 0 ? d : settings.maxEjectionTime();
        for (int i = 1; i < level; i++) {
            d = d.multipliedBy(2);
            if (d.compareTo(max) >= 0) {
                return max;
            }
        }
        return d.compareTo(max) > 0 ? max : d;
    }
}
