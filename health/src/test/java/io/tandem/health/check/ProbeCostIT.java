package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.CheckTiming;
import io.tandem.config.HealthCheckSpec;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What a probe costs beside its connect (issue 18: several ms of CPU per probe on an idle VIP made
 * short default intervals unaffordable). A listener that hears only transitions — the control
 * loop's — must not be handed every probe result: each hand-off woke the callback thread.
 */
class ProbeCostIT extends CheckerITBase {

    /** 20 ms interval, rise/fall 1: steady passing probes, no transitions after the first. */
    private static final CheckTiming EVERY_20_MS = new CheckTiming(Duration.ofMillis(20), Duration.ofMillis(1000), 1, 1,
            0, Duration.ofMillis(20), Duration.ofMillis(20), CheckTiming.Watch.OFF);

    @ParameterizedTest
    @MethodSource("transports")
    void aTransitionOnlyListenerIsNotWokenPerProbe(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.acceptOnly()) {
            AtomicInteger tasks = new AtomicInteger();
            Executor counting = task -> {
                tasks.incrementAndGet();
                callbacks.execute(task);
            };
            BlockingQueue<HealthTransition> transitions = new LinkedBlockingQueue<>();
            CheckListener onlyTransitions = transitions::add; // a lambda, like the control loop's
            HealthChecker checker = checker(t, counting);
            HealthCheckSpec spec = new HealthCheckSpec.Tcp(EVERY_20_MS, OptionalInt.empty());
            checker.watch(server.address(), spec, InitialState.PENDING, onlyTransitions);
            await().atMost(Duration.ofSeconds(20)).until(() -> checker.probesStarted(server.address(), spec) >= 50);
            assertThat(transitions.poll()).extracting(HealthTransition::to).isEqualTo(CheckState.UP);
            long probes = checker.probesStarted(server.address(), spec);
            // Before: one callback task per probe (>= 50). Now: the first verdict, and nothing per probe.
            assertThat(tasks.get()).as("callback tasks for %d probes", probes).isLessThanOrEqualTo(3);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void aListenerThatWantsProbeResultsStillGetsEach(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.acceptOnly()) {
            Recorder r = new Recorder();
            HealthChecker checker = checker(t);
            HealthCheckSpec spec = new HealthCheckSpec.Tcp(EVERY_20_MS, OptionalInt.empty());
            checker.watch(server.address(), spec, InitialState.PENDING, r);
            assertThat(r.next().to()).isEqualTo(CheckState.UP);
            await().atMost(Duration.ofSeconds(20)).until(() -> r.probes.size() >= 20);
            assertThat(r.probes).allSatisfy(p -> assertThat(p.passed()).isTrue());
        }
    }
}
