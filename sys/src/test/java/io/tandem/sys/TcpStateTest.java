package io.tandem.sys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The compact record of a connection's state: exact round trips, and damaged records refused. */
class TcpStateTest {
    private static final TcpState.Window W = new TcpState.Window(0x80000001, 65_536, 131_072, 64_240, -5);

    private static TcpState v4(byte[] send, int unsent, byte[] recv) {
        return new TcpState(new InetSocketAddress(InetAddress.ofLiteral("198.18.29.100"), 7000),
                new InetSocketAddress(InetAddress.ofLiteral("198.18.29.1"), 54321), 0xfffffff0, 12345,
                TcpState.OPT_TIMESTAMPS | TcpState.OPT_SACK | TcpState.OPT_WSCALE, 1448, 7, 9, -123456, W,
                unsent, send, recv);
    }

    @Test
    void aQuiescentIpv4RecordIs56BytesAndDecodesToTheSameState() throws IOException {
        TcpState s = v4(new byte[0], 0, new byte[0]);
        byte[] record = s.encode();
        assertThat(record).hasSize(56);
        assertThat(TcpState.decode(record)).isEqualTo(s);
        assertThat(s.quiescent()).isTrue();
    }

    @Test
    void queuesAndIpv6RoundTrip() throws IOException {
        byte[] send = new byte[70_000];
        Arrays.fill(send, (byte) 7);
        TcpState s = new TcpState(new InetSocketAddress(InetAddress.ofLiteral("2001:db8::1"), 443),
                new InetSocketAddress(InetAddress.ofLiteral("2001:db8::2"), 40000), 1, 2, 0, 1220, 0, 0, 0, W,
                300, send, new byte[] {1, 2, 3});
        TcpState back = TcpState.decode(s.encode());
        assertThat(back).isEqualTo(s);
        assertThat(back.unsent()).isEqualTo(300);
        assertThat(back.quiescent()).isFalse();
    }

    @Test
    void aRecordDamagedOnTheWayIsRefused() {
        byte[] record = v4(new byte[] {9, 9}, 1, new byte[0]).encode();
        record[20] ^= 1;
        assertThatThrownBy(() -> TcpState.decode(record)).isInstanceOf(IOException.class).hasMessageContaining("damaged");
    }

    @Test
    void aCutRecordIsRefused() {
        byte[] record = v4(new byte[0], 0, new byte[0]).encode();
        assertThatThrownBy(() -> TcpState.decode(Arrays.copyOf(record, 30))).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> TcpState.decode(new byte[3])).isInstanceOf(IOException.class)
                .hasMessageContaining("expected at least 5");
    }

    @Test
    void aStateThatCannotBeRestoredIsRefusedWhenBuilt() {
        assertThatThrownBy(() -> v4(new byte[2], 3, new byte[0])).hasMessageContaining("unsent: 3 (expected 0..2)");
        assertThatThrownBy(() -> new TcpState(new InetSocketAddress(InetAddress.ofLiteral("198.18.0.1"), 1),
                new InetSocketAddress(InetAddress.ofLiteral("2001:db8::2"), 2), 0, 0, 0, 1, 0, 0, 0, W, 0,
                new byte[0], new byte[0])).hasMessageContaining("expected the family of local");
    }

    @Test
    void agingMovesOnlyTheTimestampClockOnWrappingLikeTheKernels() {
        TcpState s = v4(new byte[0], 0, new byte[0]);
        TcpState old = s.aged(1_500);
        assertThat(old.timestamp()).isEqualTo(-123456 + 1_500);
        assertThat(old.sendSeq()).isEqualTo(s.sendSeq());
        assertThat(old.window()).isEqualTo(s.window());
        assertThat(v4(new byte[0], 0, new byte[0]).aged(0)).isEqualTo(s);
        assertThatThrownBy(() -> s.aged(-1)).hasMessageContaining("millis: -1 (expected >= 0)");
    }

    /**
     * The timestamp's lowest bit is the kernel's microsecond-mode flag (Linux 6.7+): aging a
     * millisecond clock by an odd number of milliseconds must not switch the restored socket to
     * microseconds; a microsecond clock ages in microseconds.
     */
    @Test
    void agingKeepsTheTimestampsResolutionBit() {
        TcpState ms = v4(new byte[0], 0, new byte[0]); // -123456: even, milliseconds
        assertThat(ms.aged(1_001).timestamp()).isEqualTo(-123456 + 1_002); // one tick on, still even
        assertThat(ms.aged(1_000).timestamp()).isEqualTo(-123456 + 1_000);
        TcpState us = new TcpState(ms.local(), ms.remote(), 1, 2, TcpState.OPT_TIMESTAMPS, 1448, 7, 7, 1_000_001, W,
                0, new byte[0], new byte[0]);
        assertThat(us.aged(3).timestamp()).isEqualTo(1_003_001);
    }
}
