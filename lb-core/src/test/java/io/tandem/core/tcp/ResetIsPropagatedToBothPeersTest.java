package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.testing.LeakWatcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A reset from either peer, or a cut by the control loop, resets both peers: neither mistakes a cut stream for a complete one. */
@ExtendWith(LeakWatcher.class)
class ResetIsPropagatedToBothPeersTest {

    @Test
    void aClientResetResetsTheBackend() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("part of a request");
            client.peerResets();
            assertThat(backend.reset).isTrue();
            assertThat(client.closed).isTrue();
            h.assertReleased();
        }
    }

    @Test
    void aBackendResetResetsTheClient() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            backend.peerSends("part of an answer");
            backend.peerResets();
            assertThat(client.reset).isTrue();
            assertThat(client.receivedText()).isEqualTo("part of an answer");
            h.assertReleased();
        }
    }

    @Test
    void aResetOfASocketNeitherReadNorWrittenIsStillNoticed() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.window(0);
            backend.peerSends("an answer the client is slow to take");
            // The backend is not read (its bytes wait for the client) nor written (nothing for it):
            // its reset is reported once, and must not be lost.
            backend.peerResets();
            assertThat(client.reset).isTrue();
            h.assertReleased();
        }
    }

    @Test
    void aCutFromTheControlLoopResetsBothPeers() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            assertThat(h.vip.closeConnectionsTo(h.backends.get(0))).isEqualTo(1);
            h.run(); // the reset runs on the connection's loop
            assertThat(client.reset).isTrue();
            assertThat(backend.reset).isTrue();
            h.assertReleased();
        }
    }

    @Test
    void aClientResetDuringTheConnectAbandonsTheAttempt() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            client.peerResets();
            assertThat(backend.closed).as("no use finishing the connect").isTrue();
            assertThat(h.events.connectFailed).as("not the backend's failure").hasValue(0);
            h.assertReleased();
        }
    }
}
