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
    void heartbeatEchoesSurviveTheWire() throws IOException {
        var hb = new PeerMessage.Heartbeat("lb1", 42, 7, true, Map.of("10.0.0.1", 3L),
                Map.of("lb2", new PeerMessage.Echo(99, 1234), "lb3", new PeerMessage.Echo(5, 6)));
        assertThat(roundTrip(hb)).isEqualTo(hb);
    }

    /** A heartbeat from a node that predates the echoes (the frame ends after the claims) still reads. */
    @Test
    void aHeartbeatWithoutEchoesFromAnOlderNodeReadsWithNone() throws IOException {
        var hb = new PeerMessage.Heartbeat("lb1", 42, 7, true, Map.of("10.0.0.1", 3L),
                Map.of("lb2", new PeerMessage.Echo(99, 1234)));
        byte[] frame = PeerCodec.encode(hb);
        int echoBytes = 4 + 2 + 3 + 8 + 8; // count, "lb2" as modified UTF-8, incarnation, sequence
        byte[] old = java.util.Arrays.copyOf(frame, frame.length - echoBytes);
        int len = old.length - 4;
        old[0] = (byte) (len >>> 24);
        old[1] = (byte) (len >>> 16);
        old[2] = (byte) (len >>> 8);
        old[3] = (byte) len;
        PeerMessage read = PeerCodec.read(new DataInputStream(new ByteArrayInputStream(old)));
        assertThat(read).isEqualTo(new PeerMessage.Heartbeat("lb1", 42, 7, true, Map.of("10.0.0.1", 3L)));
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
