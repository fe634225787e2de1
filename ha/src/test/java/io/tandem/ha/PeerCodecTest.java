package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.config.HostPort;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PeerCodecTest {
    private static PeerMessage roundTrip(PeerMessage m) throws IOException {
        return PeerCodec.read(new DataInputStream(new ByteArrayInputStream(PeerCodec.encode(m))));
    }

    @Test
    void heartbeatSurvivesTheWireWithItsClaims() throws IOException {
        var hb = new PeerMessage.Heartbeat("lb1", 42, 7, true, Map.of("10.0.0.1", 3L, "fd00::1", 9L));
        assertThat(roundTrip(hb)).isEqualTo(hb);
    }

    @Test
    void backendEjectedSurvivesTheWire() throws IOException {
        var m = new PeerMessage.BackendEjected("lb2", "orders", HostPort.of("198.18.1.5", 8080), "connect refused", 1234);
        assertThat(roundTrip(m)).isEqualTo(m);
    }

    @Test
    void unknownFrameTypeOrOversizedFrameEndsTheConnection() {
        byte[] unknown = {0, 0, 0, 1, 9};
        assertThatThrownBy(() -> PeerCodec.read(new DataInputStream(new ByteArrayInputStream(unknown))))
                .hasMessage("frame type: 9 (expected 1 or 2)");
        byte[] huge = {0x7f, 0, 0, 0};
        assertThatThrownBy(() -> PeerCodec.read(new DataInputStream(new ByteArrayInputStream(huge))))
                .hasMessageStartingWith("frame length: 2130706432");
    }

    @Test
    void cleanEndOfStreamIsAnEof() {
        assertThatThrownBy(() -> PeerCodec.read(new DataInputStream(new ByteArrayInputStream(new byte[0]))))
                .isInstanceOf(EOFException.class);
    }
}
