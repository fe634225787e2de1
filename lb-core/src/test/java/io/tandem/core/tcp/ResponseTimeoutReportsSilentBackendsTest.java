package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.ResponseTimeoutMode;
import io.tandem.core.testing.LeakWatcher;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A backend that owes the client an answer and stays silent for the response timeout is reported
 * once per silence, and the connection is left open; answers and clients that never send are
 * never reported; in every_request mode each unanswered request starts a new silence.
 */
@ExtendWith(LeakWatcher.class)
class ResponseTimeoutReportsSilentBackendsTest {

    private static TcpHarness watch(ResponseTimeoutMode mode) {
        return TcpHarness.builder().responseTimeout(Duration.ofMillis(250), mode).start();
    }

    @Test
    void aBackendSilentAfterTheClientSentIsReportedOnceAndLeftOpen() {
        try (TcpHarness h = watch(ResponseTimeoutMode.FIRST_RESPONSE)) {
            MemorySocket client = h.accept();
            h.backendSocket(0).accept();
            client.peerSends("request");
            h.advance(249, TimeUnit.MILLISECONDS);
            assertThat(h.events.responseTimedOut).hasValue(0);

            h.advance(1, TimeUnit.MILLISECONDS);
            assertThat(h.events.responseTimedOut).hasValue(1);
            assertThat(h.events.responseWaits).singleElement()
                    .isEqualTo(Duration.ofMillis(250).toNanos());
            h.advance(5, TimeUnit.SECONDS);
            assertThat(h.events.responseTimedOut).as("once per silence").hasValue(1);
            assertThat(client.closed).as("the decision is the control loop's").isFalse();
        }
    }

    @Test
    void anAnswerInTimeIsNeverReported() {
        try (TcpHarness h = watch(ResponseTimeoutMode.FIRST_RESPONSE)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request");
            h.advance(200, TimeUnit.MILLISECONDS);
            backend.peerSends("answer");
            client.peerSends("second request"); // first_response: answered once is enough
            h.advance(5, TimeUnit.SECONDS);
            assertThat(h.events.responseTimedOut).hasValue(0);
        }
    }

    @Test
    void aClientThatNeverSendsIsOwedNothing() {
        try (TcpHarness h = watch(ResponseTimeoutMode.FIRST_RESPONSE)) {
            h.accept();
            h.backendSocket(0).accept();
            h.advance(5, TimeUnit.SECONDS);
            assertThat(h.events.responseTimedOut).hasValue(0);
        }
    }

    @Test
    void everyRequestModeStartsANewSilenceAfterEachAnswer() {
        try (TcpHarness h = watch(ResponseTimeoutMode.EVERY_REQUEST)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("one");
            h.advance(100, TimeUnit.MILLISECONDS);
            backend.peerSends("answer one");
            client.peerSends("two");
            h.advance(249, TimeUnit.MILLISECONDS);
            assertThat(h.events.responseTimedOut).hasValue(0);

            h.advance(1, TimeUnit.MILLISECONDS);
            assertThat(h.events.responseTimedOut).as("the second request went unanswered").hasValue(1);
        }
    }

    @Test
    void aClientNotTakingTheAnswerRestartsTheClockInsteadOfBlamingTheBackend() {
        try (TcpHarness h = watch(ResponseTimeoutMode.EVERY_REQUEST)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.window(2);
            client.peerSends("one");
            backend.peerSends("answer"); // the client takes only "an": the rest waits in the proxy
            client.peerSends("two");
            h.advance(1, TimeUnit.SECONDS);
            assertThat(h.events.responseTimedOut).hasValue(0);
        }
    }
}
