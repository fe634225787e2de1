package io.tandem.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** One line per interval on an injected clock, with the count of the lines held back. */
class RateLimitedLogTest {
    private final AtomicLong now = new AtomicLong(-5_000_000_000L); // nanoTime may be negative
    private final RateLimitedLog log = RateLimitedLog.every(Duration.ofSeconds(1), now::get);

    @Test
    void theFirstLineAlwaysPassesEvenOnANegativeClock() {
        assertThat(log.admit()).isZero();
    }

    @Test
    void linesWithinTheIntervalAreHeldBackAndCountedInTheNextOneLetThrough() {
        assertThat(log.admit()).isZero();
        now.addAndGet(100_000_000L);
        assertThat(log.admit()).isEqualTo(-1);
        now.addAndGet(100_000_000L);
        assertThat(log.tryAcquire()).isFalse();
        now.addAndGet(799_999_999L);
        assertThat(log.admit()).as("one nanosecond short of the interval").isEqualTo(-1);
        now.addAndGet(1L);
        assertThat(log.admit()).as("the interval is over: three were held back").isEqualTo(3);
        assertThat(log.admit()).as("and the count starts again").isEqualTo(-1);
        now.addAndGet(10_000_000_000L);
        assertThat(log.admit()).isEqualTo(1);
    }

    @Test
    void theIntervalRunsFromTheLineLetThroughNotFromTheLastAttempt() {
        assertThat(log.tryAcquire()).isTrue();
        for (int i = 0; i < 9; i++) {
            now.addAndGet(100_000_000L);
            assertThat(log.tryAcquire()).isFalse();
        }
        now.addAndGet(100_000_000L);
        assertThat(log.tryAcquire()).isTrue();
    }

    @Test
    void manyThreadsAtOnceLetExactlyOneLineThroughAndLoseNoCount() throws Exception {
        int threads = 8;
        int perThread = 1000;
        CountDownLatch start = new CountDownLatch(1);
        AtomicLong passed = new AtomicLong();
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            all.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    if (log.admit() >= 0) {
                        passed.incrementAndGet();
                    }
                }
            }));
        }
        start.countDown();
        for (Thread t : all) {
            t.join();
        }
        assertThat(passed.get()).isEqualTo(1);
        now.addAndGet(1_000_000_000L);
        assertThat(log.admit()).isEqualTo(threads * perThread - 1L);
    }

    @Test
    void anIntervalMustBePositive() {
        assertThatThrownBy(() -> RateLimitedLog.every(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("interval: PT0S (expected > 0)");
    }
}
