package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
import static io.tandem.core.policy.TestBackends.countPicks;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WeightedRoundRobinHonoursWeightsExactlyTest {

    @Test
    void oneScheduleCycleHoldsEachBackendExactlyWeightTimes() {
        List<Backend> backends = List.of(backend(1, 5), backend(2, 3), backend(3, 1), backend(4, 1));
        WeightedRoundRobinPolicy policy = new WeightedRoundRobinPolicy(backends.toArray(new Backend[0]));

        Backend[] schedule = policy.schedule();

        assertThat(schedule).hasSize(10);
        for (Backend b : backends) {
            assertThat(List.of(schedule)).filteredOn(s -> s == b).hasSize(b.weight());
        }
    }

    @Test
    void anyWindowOfOneCycleOfPicksMatchesTheWeightsExactly() {
        List<Backend> backends = List.of(backend(1, 5), backend(2, 3), backend(3, 1), backend(4, 1));
        Policy policy = Policies.create(PolicyKind.WEIGHTED_ROUND_ROBIN, backends);

        Map<Backend, Integer> counts = countPicks(policy, 10 * 100, List.of());

        for (Backend b : backends) {
            assertThat(counts.get(b)).as("picks of %s", b).isEqualTo(b.weight() * 100);
        }
    }

    @Test
    void weightsAreReducedByTheirGcd() {
        List<Backend> backends = List.of(backend(1, 300), backend(2, 200), backend(3, 100));
        WeightedRoundRobinPolicy policy = new WeightedRoundRobinPolicy(backends.toArray(new Backend[0]));

        assertThat(policy.schedule()).hasSize(6);
    }

    @Test
    void hugeWeightsAreCappedButStayRoughlyProportional() {
        List<Backend> backends = List.of(backend(1, 1_000_000), backend(2, 333_333), backend(3, 1));
        WeightedRoundRobinPolicy policy = new WeightedRoundRobinPolicy(backends.toArray(new Backend[0]));

        Backend[] schedule = policy.schedule();

        assertThat(schedule.length).isLessThanOrEqualTo(WeightedRoundRobinPolicy.MAX_SCHEDULE);
        long heavy = List.of(schedule).stream().filter(s -> s == backends.get(0)).count();
        long medium = List.of(schedule).stream().filter(s -> s == backends.get(1)).count();
        long light = List.of(schedule).stream().filter(s -> s == backends.get(2)).count();
        assertThat((double) heavy / medium).isCloseTo(3.0, org.assertj.core.data.Offset.offset(0.01));
        assertThat(light).as("a tiny weight still gets a turn").isEqualTo(1);
    }
}
