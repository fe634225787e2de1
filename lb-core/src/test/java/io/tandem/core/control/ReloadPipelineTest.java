package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.core.control.NodeControl.ReloadOutcome;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Reloads run one at a time off the caller's thread, coalesce, and always answer. */
class ReloadPipelineTest {
    private static final Function<Throwable, ReloadOutcome> CRASHED =
            t -> new ReloadOutcome(false, 0, List.of(), List.of("crashed: " + t));

    @Test
    void requestsDuringARunShareOneNextRunThatReadsAgain() throws Exception {
        CountDownLatch firstStarted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        Supplier<ReloadOutcome> run = () -> {
            int n = runs.incrementAndGet();
            if (n == 1) {
                firstStarted.countDown();
                await(release);
            }
            return new ReloadOutcome(true, n, List.of("run " + n), List.of());
        };
        try (ReloadPipeline p = new ReloadPipeline(run, CRASHED)) {
            CompletableFuture<ReloadOutcome> first = p.request();
            assertThat(firstStarted.await(5, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<ReloadOutcome> second = p.request();
            CompletableFuture<ReloadOutcome> third = p.request();
            CompletableFuture<ReloadOutcome> fourth = p.request();
            assertThat(second).isSameAs(third).isSameAs(fourth);
            assertThat(first).isNotDone();
            release.countDown();
            assertThat(first.get(5, TimeUnit.SECONDS).generation()).isEqualTo(1);
            assertThat(second.get(5, TimeUnit.SECONDS).generation()).as("one more run, after the first").isEqualTo(2);
            assertThat(runs.get()).isEqualTo(2);
            // Idle again: the next request starts a run of its own.
            assertThat(p.request().get(5, TimeUnit.SECONDS).generation()).isEqualTo(3);
        }
    }

    @Test
    void runsNeverOverlap() throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        Supplier<ReloadOutcome> run = () -> {
            maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
            try {
                Thread.sleep(5); // a run that takes a while, to give overlaps a chance
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            inside.decrementAndGet();
            return new ReloadOutcome(true, 0, List.of(), List.of());
        };
        try (ReloadPipeline p = new ReloadPipeline(run, CRASHED)) {
            List<CompletableFuture<ReloadOutcome>> all = new java.util.ArrayList<>();
            for (int i = 0; i < 50; i++) {
                all.add(p.request());
                all.add(p.runAlone(run));
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            assertThat(maxInside.get()).isEqualTo(1);
        }
    }

    @Test
    void anErrorThrownByARunIsAnsweredAndTheNextRunWorks() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        Supplier<ReloadOutcome> run = () -> {
            if (runs.incrementAndGet() == 1) {
                throw new OutOfMemoryError("Java heap space");
            }
            return new ReloadOutcome(true, 2, List.of(), List.of());
        };
        try (ReloadPipeline p = new ReloadPipeline(run, CRASHED)) {
            ReloadOutcome o = p.request().get(5, TimeUnit.SECONDS);
            assertThat(o.applied()).isFalse();
            assertThat(o.errors()).singleElement().asString().contains("OutOfMemoryError: Java heap space");
            assertThat(p.request().get(5, TimeUnit.SECONDS).applied()).isTrue();
        }
    }

    @Test
    void aCrashHandlerThatThrowsStillAnswersTheCaller() {
        Supplier<ReloadOutcome> run = () -> {
            throw new IllegalStateException("bug");
        };
        Function<Throwable, ReloadOutcome> failing = t -> {
            throw new OutOfMemoryError("again");
        };
        try (ReloadPipeline p = new ReloadPipeline(run, failing)) {
            assertThatThrownBy(() -> p.request().get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().hasMessage("again");
        }
    }

    @Test
    void closingAnswersWhatIsRunningOrQueuedAndRefusesNewRequests() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        Supplier<ReloadOutcome> run = () -> {
            started.countDown();
            await(new CountDownLatch(1)); // blocks until interrupted
            return new ReloadOutcome(true, 1, List.of(), List.of());
        };
        ReloadPipeline p = new ReloadPipeline(run, CRASHED);
        CompletableFuture<ReloadOutcome> running = p.request();
        assertThat(started.await(5, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<ReloadOutcome> queued = p.request();
        p.close();
        assertThatThrownBy(() -> running.get(5, TimeUnit.SECONDS)).hasMessageContaining("the node is stopping");
        assertThatThrownBy(() -> queued.get(5, TimeUnit.SECONDS)).hasMessageContaining("the node is stopping");
        assertThatThrownBy(() -> p.request().get(5, TimeUnit.SECONDS)).hasMessageContaining("the node is stopping");
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
