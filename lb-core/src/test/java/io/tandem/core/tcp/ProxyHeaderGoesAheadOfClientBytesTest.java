package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.ProxyProtocolVersion;
import io.tandem.core.testing.LeakWatcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The PROXY protocol header reaches the backend before any client byte: also the bytes the
 * client sent during the connect, and also when the backend takes the header only in parts.
 */
@ExtendWith(LeakWatcher.class)
class ProxyHeaderGoesAheadOfClientBytesTest {
    private static final String HEADER = "PROXY TCP4 198.51.100.7 203.0.113.10 51000 8080\r\n";

    @Test
    void theHeaderPrecedesBytesSentDuringTheConnect() {
        try (TcpHarness h = TcpHarness.builder().proxyProtocol(ProxyProtocolVersion.V1).start()) {
            MemorySocket client = h.accept();
            client.peerSends("payload");
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            assertThat(backend.receivedText()).isEqualTo(HEADER + "payload");
        }
    }

    @Test
    void clientBytesWaitWhileTheBackendHasNotTakenTheWholeHeader() {
        try (TcpHarness h = TcpHarness.builder().proxyProtocol(ProxyProtocolVersion.V1).start()) {
            MemorySocket client = h.accept();
            client.peerSends("payload");
            MemorySocket backend = h.backendSocket(0);
            backend.window(10);
            backend.accept();
            assertThat(backend.receivedText()).isEqualTo(HEADER.substring(0, 10));
            assertThat(client.unread()).as("the client is not read while the header is queued").isEqualTo(7);

            backend.peerTakes(1_000);
            assertThat(backend.receivedText()).isEqualTo(HEADER + "payload");
        }
    }

    @Test
    void theVersion2HeaderCarriesTheClientAndTheBoundAddress() {
        try (TcpHarness h = TcpHarness.builder().proxyProtocol(ProxyProtocolVersion.V2).start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("x");
            byte[] got = backend.received.toByteArray();
            assertThat(got).hasSize(16 + 12 + 1);
            assertThat(got).startsWith(ProxyProtocolHeader.V2_SIGNATURE);
            assertThat(new byte[] {got[16], got[17], got[18], got[19]}).as("source address")
                    .isEqualTo(new byte[] {(byte) 198, 51, 100, 7});
            assertThat(new byte[] {got[20], got[21], got[22], got[23]}).as("destination: the bound address")
                    .isEqualTo(new byte[] {(byte) 203, 0, 113, 10});
            assertThat(got[got.length - 1]).isEqualTo((byte) 'x');
        }
    }
}
