package io.tandem.core.policy;

import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.util.Collection;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Weighted round-robin in nginx's "smooth" order: weights {5,1,1} give
 * {@code a a b a c a a}, not {@code a a a a a b c}, so a heavy backend never receives a burst
 * of back-to-back connections. The order is computed once per snapshot into an immutable
 * schedule (one entry per turn, weights reduced by their gcd) and walked by an atomic cursor,
 * so a pick is one increment and one array read.
 *
 * <p>The schedule is capped at {@value #MAX_SCHEDULE} entries: when the reduced weights sum
 * to more, they are scaled down proportionally (each kept at least 1). Proportions are then
 * approximate, to within about one part in {@value #MAX_SCHEDULE} of the total weight.
 */
final class WeightedRoundRobinPolicy implements Policy {
    static final int MAX_SCHEDULE = 1 << 16;

    private final Backend[] schedule;
    private final AtomicInteger cursor;

    WeightedRoundRobinPolicy(Backend[] backends) {
        this.schedule = buildSchedule(backends);
        // Random start for the same reason as RoundRobinPolicy: frequent rebuilds must not
        // favour the head of the schedule.
        this.cursor = new AtomicInteger(ThreadLocalRandom.current().nextInt(schedule.length));
    }

    @Override
    public Backend pick(InetAddress client, Collection<Backend> tried) {
        int start = Math.floorMod(cursor.getAndIncrement(), schedule.length);
        if (tried.isEmpty()) {
            return schedule[start];
        }
        // Every routable backend appears in the schedule, so one full lap finds any untried one.
        return RoundRobinPolicy.firstUntried(schedule, start, tried);
    }

    /** One cycle of the smooth order; visible for tests. */
    Backend[] schedule() {
        return schedule.clone();
    }

    static Backend[] buildSchedule(Backend[] backends) {
        int n = backends.length;
        int[] weights = reducedWeights(backends);
        int total = 0;
        for (int w : weights) {
            total += w;
        }
        // nginx smooth WRR: every step each backend gains its weight; the richest is picked
        // (ties to the lowest index) and pays the total. O(total * n), done once per snapshot.
        long[] current = new long[n];
        Backend[] schedule = new Backend[total];
        for (int step = 0; step < total; step++) {
            int best = 0;
            for (int i = 0; i < n; i++) {
                current[i] += weights[i];
                if (current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= total;
            schedule[step] = backends[best];
        }
        return schedule;
    }

    private static int[] reducedWeights(Backend[] backends) {
        int n = backends.length;
        int[] weights = new int[n];
        int gcd = 0;
        long sum = 0;
        for (int i = 0; i < n; i++) {
            weights[i] = backends[i].weight();
            gcd = Policies.gcd(gcd, weights[i]);
            sum += weights[i];
        }
        sum /= gcd;
        if (sum <= MAX_SCHEDULE) {
            for (int i = 0; i < n; i++) {
                weights[i] /= gcd;
            }
            return weights;
        }
        // Leave room for the "at least 1" bumps so the capped total stays within MAX_SCHEDULE.
        long budget = Math.max(MAX_SCHEDULE - n, n);
        long rawSum = sum * gcd;
        int gcd2 = 0;
        for (int i = 0; i < n; i++) {
            weights[i] = (int) Math.max(1, weights[i] * budget / rawSum);
            gcd2 = Policies.gcd(gcd2, weights[i]);
        }
        for (int i = 0; i < n; i++) {
            weights[i] /= gcd2;
        }
        return weights;
    }

    @Override
    public String toString() {
        return "WeightedRoundRobinPolicy[schedule=" + schedule.length + "]";
    }
}
