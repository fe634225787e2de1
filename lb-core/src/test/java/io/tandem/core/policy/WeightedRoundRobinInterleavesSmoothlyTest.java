package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.pool.Backend;
import java.util.List;
import org.junit.jupiter.api.Test;

class WeightedRoundRobinInterleavesSmoothlyTest {

    @Test
    void heavyBackendIsInterleavedNotBurstedOverRepeatedCycles() {
        Backend heavy = backend(1, 5);
        List<Backend> backends = List.of(heavy, backend(2, 1), backend(3, 1));
        Backend[] schedule = new WeightedRoundRobinPolicy(backends.toArray(new Backend[0])).schedule();

        // nginx's documented order for {5,1,1} is a a b a c a a; repeated, its longest run is 4
        // (the wrap joins "a a" and "a a"), the best possible with 5 of 7 and 2 separators.
        assertThat(List.of(schedule)).containsExactly(heavy, heavy, backends.get(1), heavy, backends.get(2), heavy, heavy);
        assertThat(longestRunOverCycles(schedule, heavy, 3)).isLessThan(heavy.weight());
    }

    @Test
    void noBackendRunsWeightTimesInARowWhenOthersCanBeInterleaved() {
        List<Backend> backends = List.of(backend(1, 4), backend(2, 3), backend(3, 2), backend(4, 1));
        Backend[] schedule = new WeightedRoundRobinPolicy(backends.toArray(new Backend[0])).schedule();

        for (Backend b : backends) {
            if (b.weight() > 1) {
                assertThat(longestRunOverCycles(schedule, b, 3)).as("longest run of %s", b).isLessThan(b.weight());
            }
        }
    }

    private static int longestRunOverCycles(Backend[] schedule, Backend b, int cycles) {
        int longest = 0;
        int run = 0;
        for (int i = 0; i < schedule.length * cycles; i++) {
            run = schedule[i % schedule.length] == b ? run + 1 : 0;
            longest = Math.max(longest, run);
        }
        return longest;
    }
}
