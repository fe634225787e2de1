package io.tandem.perf.jmh;

import io.tandem.config.HostPort;
import io.tandem.config.PolicyKind;
import io.tandem.core.policy.Policies;
import io.tandem.core.policy.Policy;
import io.tandem.core.pool.Backend;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Cost of building a policy for a new pool snapshot, which the control loop pays on every
 * membership, health or weight change (slow start changes weights repeatedly). Maglev fills a
 * 65537-slot table; weighted round-robin precomputes its smooth schedule.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class SnapshotBuildBenchmark {

    @Param({"10", "100"})
    public int backends;

    private List<Backend> equalWeights;
    private List<Backend> mixedWeights;

    @Setup
    public void setUp() {
        equalWeights = new ArrayList<>(backends);
        mixedWeights = new ArrayList<>(backends);
        for (int i = 0; i < backends; i++) {
            HostPort address = HostPort.of("127.0." + (i / 250) + "." + (i % 250 + 1), 8000);
            equalWeights.add(Backend.of(address, 1));
            // 1..100 with no common divisor: the longest schedule these weights can give.
            mixedWeights.add(Backend.of(address, 1 + (i * 37) % 100));
        }
    }

    @Benchmark
    public Policy maglev() {
        return Policies.create(PolicyKind.MAGLEV, equalWeights);
    }

    @Benchmark
    public Policy maglevMixedWeights() {
        return Policies.create(PolicyKind.MAGLEV, mixedWeights);
    }

    @Benchmark
    public Policy weightedRoundRobinMixedWeights() {
        return Policies.create(PolicyKind.WEIGHTED_ROUND_ROBIN, mixedWeights);
    }
}
