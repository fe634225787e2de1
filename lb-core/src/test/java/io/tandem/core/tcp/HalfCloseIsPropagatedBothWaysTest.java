package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.testing.LeakWatcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A FIN is passed on as a half-close once every byte before it was written, in either direction,
 * while the other direction stays open; when both directions ended, both sockets are closed
 * gracefully and the counters released.
 */
@ExtendWith(LeakWatcher.class)
class HalfCloseIsPropagatedBothWaysTest {

    @Test
    void theClientsFinReachesTheBackendAfterItsBytesAndTheAnswerStillFlows() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request").peerFin();
            assertThat(backend.receivedText()).isEqualTo("request");
            assertThat(backend.outputShut).as("FIN passed on").isTrue();
            assertThat(client.outputShut || client.closed).as("the other direction is still open").isFalse();

            backend.peerSends("answer").peerFin();
            assertThat(client.receivedText()).isEqualTo("answer");
            assertThat(client.closed && backend.closed).as("both directions done: both closed").isTrue();
            assertThat(client.reset || backend.reset).as("a complete stream ends without a reset").isFalse();
            h.assertReleased();
        }
    }

    @Test
    void theBackendsFinReachesTheClientTheSameWay() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            backend.peerSends("banner").peerFin();
            assertThat(client.receivedText()).isEqualTo("banner");
            assertThat(client.outputShut).isTrue();

            client.peerSends("late bytes").peerFin();
            assertThat(backend.receivedText()).as("the client may still send after the backend finished")
                    .isEqualTo("late bytes");
            assertThat(client.closed && backend.closed).isTrue();
            h.assertReleased();
        }
    }

    @Test
    void aFinWaitsForTheBytesAFullTargetHasNotTakenYet() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.window(2);
            backend.accept();
            client.peerSends("hello").peerFin();
            assertThat(backend.receivedText()).isEqualTo("he");
            assertThat(backend.outputShut).as("no FIN ahead of the bytes it follows").isFalse();

            backend.peerTakes(100);
            assertThat(backend.receivedText()).isEqualTo("hello");
            assertThat(backend.outputShut).isTrue();
        }
    }

    @Test
    void aClientFinDuringTheConnectIsPassedOnOnceConnected() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            client.peerSends("quick").peerFin();
            MemorySocket backend = h.backendSocket(0);
            assertThat(backend.outputShut).isFalse();
            backend.accept();
            assertThat(backend.receivedText()).isEqualTo("quick");
            assertThat(backend.outputShut).isTrue();
        }
    }
}
