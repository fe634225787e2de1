package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.ClosedBeforeResponse;
import io.tandem.core.testing.LeakWatcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The data path's rule for {@code closed_before_response}: a backend that ends a connection before
 * its first byte, after the client's, is reported (a reset always, a close only in
 * {@code reset-or-close} mode and while the client's side is open); the client's own aborts, a
 * backend that answered, and a connection the client never used are not. An answer after such
 * connections is reported once, to end the streak.
 */
@ExtendWith(LeakWatcher.class)
class BackendEndBeforeAnswerIsReportedTest {

    private static TcpHarness harness(ClosedBeforeResponse mode) {
        return TcpHarness.builder().backends(1).closedBeforeResponse(mode).start();
    }

    @Test
    void aBackendResetAfterTheClientSentIsReportedOnce() {
        try (TcpHarness h = harness(ClosedBeforeResponse.RESET)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request");
            backend.peerResets();
            h.run();
            assertThat(h.events.closedBeforeResponse).containsExactly("reset");
            assertThat(h.backends.getFirst().stats().unansweredStreak.get()).isEqualTo(1);
            h.assertReleased();
        }
    }

    @Test
    void aClientThatResetsIsNotHeldAgainstTheBackend() {
        try (TcpHarness h = harness(ClosedBeforeResponse.RESET_OR_CLOSE)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request");
            client.peerResets();
            h.run();
            assertThat(h.events.closedBeforeResponse).isEmpty();
            h.assertReleased();
        }
    }

    @Test
    void aBackendThatAnsweredAndThenResetIsNotReported() {
        try (TcpHarness h = harness(ClosedBeforeResponse.RESET)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request");
            backend.peerSends("answer");
            backend.peerResets();
            h.run();
            assertThat(h.events.closedBeforeResponse).isEmpty();
        }
    }

    @Test
    void aResetBeforeTheClientSentAnythingIsNotReported() {
        try (TcpHarness h = harness(ClosedBeforeResponse.RESET)) {
            h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            backend.peerResets();
            h.run();
            assertThat(h.events.closedBeforeResponse).isEmpty();
        }
    }

    @Test
    void anOrderlyCloseCountsOnlyInResetOrCloseModeAndOnlyBeforeTheClientsFin() {
        try (TcpHarness h = harness(ClosedBeforeResponse.RESET)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request");
            backend.peerFin();
            h.run();
            assertThat(h.events.closedBeforeResponse).as("reset mode").isEmpty();
        }
        try (TcpHarness h = harness(ClosedBeforeResponse.RESET_OR_CLOSE)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request");
            backend.peerFin();
            h.run();
            assertThat(h.events.closedBeforeResponse).as("reset-or-close mode").containsExactly("close");
        }
        try (TcpHarness h = harness(ClosedBeforeResponse.RESET_OR_CLOSE)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("fire and forget");
            client.peerFin();
            backend.peerFin();
            h.run();
            assertThat(h.events.closedBeforeResponse).as("after the client's FIN").isEmpty();
        }
    }

    @Test
    void offReportsNothing() {
        try (TcpHarness h = harness(ClosedBeforeResponse.OFF)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request");
            backend.peerResets();
            h.run();
            assertThat(h.events.closedBeforeResponse).isEmpty();
        }
    }

    @Test
    void theFirstAnswerAfterUnansweredConnectionsEndsTheStreakAndIsReportedOnce() {
        try (TcpHarness h = harness(ClosedBeforeResponse.RESET)) {
            for (int i = 0; i < 2; i++) {
                MemorySocket client = h.accept();
                MemorySocket backend = h.backendSocket(i);
                backend.accept();
                client.peerSends("request");
                backend.peerResets();
                h.run();
            }
            assertThat(h.backends.getFirst().stats().unansweredStreak.get()).isEqualTo(2);
            for (int i = 2; i < 4; i++) {
                MemorySocket client = h.accept();
                MemorySocket backend = h.backendSocket(i);
                backend.accept();
                client.peerSends("request");
                backend.peerSends("answer");
                h.run();
            }
            assertThat(h.events.answered).as("only the answer that ended a streak").hasValue(1);
            assertThat(h.backends.getFirst().stats().unansweredStreak.get()).isZero();
        }
    }
}
