package io.tandem.perf.jmh;

import io.tandem.config.HostPort;
import io.tandem.config.PolicyKind;
import io.tandem.core.policy.Policies;
import io.tandem.core.policy.Policy;
import io.tandem.core.pool.Backend;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
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
 * Cost of one {@link Policy#pick} on the data path's common case (nothing tried yet), single
 * thread. Clients rotate through 1024 addresses so Maglev's table lookups are not all one
 * cached slot; backends carry a random spread of active connections so least-connections and
 * power-of-two compare real numbers. {@code -p kind=MAGLEV -p balance=125} measures Maglev with
 * bounded loads (each pick then reads every backend's counter).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PolicyPickBenchmark {
    private static final int CLIENTS = 1024;

    @Param({"ROUND_ROBIN", "WEIGHTED_ROUND_ROBIN", "LEAST_CONNECTIONS", "POWER_OF_TWO", "MAGLEV"})
    public PolicyKind kind;

    @Param({"10", "100"})
    public int backends;

    /** {@code hash_balance_factor} (MAGLEV only; 0 = plain hashing). */
    @Param({"0"})
    public int balance;

    private Policy policy;
    private InetAddress[] clients;
    private int next;

    @Setup
    public void setUp() throws UnknownHostException {
        SplittableRandom random = new SplittableRandom(42);
        List<Backend> list = new ArrayList<>(backends);
        for (int i = 0; i < backends; i++) {
            Backend b = Backend.of(HostPort.of("127.0." + (i / 250) + "." + (i % 250 + 1), 8000), 1 + random.nextInt(4));
            b.stats().active.set(random.nextInt(100));
            list.add(b);
        }
        policy = Policies.create(kind, list, kind == PolicyKind.MAGLEV ? balance : 0);
        clients = new InetAddress[CLIENTS];
        for (int i = 0; i < CLIENTS; i++) {
            clients[i] = InetAddress.getByAddress(new byte[] {10, 1, (byte) (i >>> 8), (byte) i});
        }
    }

    @Benchmark
    public Backend pick() {
        InetAddress client = clients[next++ & (CLIENTS - 1)];
        return policy.pick(client, List.of());
    }
}
