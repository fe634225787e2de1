package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.anyClient;
import static io.tandem.core.policy.TestBackends.backends;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class RoundRobinIsSafeUnderConcurrentPicksTest {
    private static final int THREADS = 4;
    private static final int PICKS_PER_THREAD = 20_000;

    @Test
    void fourThreadsPickWithoutErrorsAndTheSharedCursorKeepsCountsExact() throws Exception {
        List<Backend> backends = backends(4);
        Policy policy = Policies.create(PolicyKind.ROUND_ROBIN, backends);
        Map<Backend, LongAdder> counts = new ConcurrentHashMap<>();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                futures.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < PICKS_PER_THREAD; i++) {
                        counts.computeIfAbsent(policy.pick(anyClient(), List.of()), b -> new LongAdder()).increment();
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(30, TimeUnit.SECONDS);   // rethrows any exception from a picker
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(counts).containsOnlyKeys(backends);
        // 80 000 consecutive cursor values over 4 backends: exactly a quarter each, if no
        // increment was lost or duplicated.
        assertThat(counts.values()).allSatisfy(c -> assertThat(c.sum()).isEqualTo(THREADS * PICKS_PER_THREAD / 4));
    }
}
