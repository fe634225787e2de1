package io.tandem.tests.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.tests.fault.FaultKind;
import io.tandem.tests.support.AdminClient.BackendState;
import io.tandem.tests.support.LoadLoop;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A backend process that dies ({@code kill -9}) or hangs ({@code SIGSTOP}) under live client load:
 * it leaves rotation, no connection started after a crash fails, no client stays stuck on a hung
 * backend, and a resumed one ({@code SIGCONT}) comes back through {@code rise}.
 */
class BackendProcessFaultIT extends BackendFaultScenarios {
    @ParameterizedTest(name = "[{0}]")
    @MethodSource("via")
    void killedBackendIsEjectedAndNoConnectionStartedAfterTheKillFails(String via) throws Exception {
        Setup s = setup(via, FaultKind.CRASH, """
                    health_check: {type: tcp, interval: 300ms, timeout: 250ms, fall: 2, rise: 2}
                """);
        Measured m = faultUnderLoad(s, "kill-9", LoadLoop.Options.defaults(), null);
        assertConnectionsAfterTheFaultDidNotFail(m);
    }

    @ParameterizedTest(name = "[{0}]")
    @MethodSource("via")
    void hungBackendIsEjectedNoClientStaysStuckAndAfterSigcontItReturnsThroughRise(String via) throws Exception {
        Setup s = setup(via, FaultKind.HANG, """
                    health_check:
                      type: http
                      path: /healthz
                      interval: 200ms
                      timeout: 300ms
                      fast_interval: 50ms
                      down_interval: 200ms
                      fall: 2
                      rise: 2
                    outlier_detection: {consecutive_failures: 1, response_timeout: 300ms}
                    close_on_backend_down: true
                    slow_start: 1s
                """);
        // A client whose connection is closed under it retries at once on a new one (up to 5 times);
        // an attempt with no answer for 5 s is "stuck", which must never happen.
        LoadLoop.Options opts = LoadLoop.Options.defaults().withAttemptsPerRequest(5)
                .withReadTimeout(Duration.ofSeconds(5));
        Measured m = faultUnderLoad(s, "sigstop", opts, (fault, load) -> {
            long contNanos = System.nanoTime();
            Instant contAt = Instant.now();
            fault.clear(); // SIGCONT (or the toxic removed)
            await("hung backend back in rotation after SIGCONT").atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(20)).until(() -> s.admin().allEligible(VIP));
            BackendState back = s.admin().backend(VIP, s.victimRoute());
            long backMs = back.firstCleared(contAt.minusMillis(2), "FAILED_ACTIVE_CHECK")
                    .or(() -> back.firstCleared(contAt.minusMillis(2), "EJECTED_PASSIVE"))
                    .map(t -> Duration.between(contAt, t.at()).toMillis()).orElse(-1L);
            await("the recovered backend answers clients again").atMost(Duration.ofSeconds(10))
                    .until(() -> load.answersFrom(s.victim().name(), contNanos) >= 3);
            return "cont_to_eligible_ms=" + backMs;
        });
        assertThat(m.stuck()).as("attempts left with no answer for 5 s: %s", m.examples()).isZero();
        assertThat(m.failedRequests()).as("client requests that failed even after retrying: %s", m.examples()).isZero();
        if (!m.visibleAtConnect()) {
            assertThat(m.failedAfterEjection()).as("failures after ejection: %s", m.examples()).isZero();
        }
    }
}
