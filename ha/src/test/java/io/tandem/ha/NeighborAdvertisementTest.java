package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The unsolicited NA frame, byte by byte, and its checksum against a known packet. */
class NeighborAdvertisementTest {
    private static final byte[] MAC = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

    @Test
    void theFrameIsAnOverridingNaFromTheVipToAllNodesWithHopLimit255() {
        byte[] vip = InetAddress.ofLiteral("2001:db8::10").getAddress();
        byte[] f = NeighborAdvertisement.frame(MAC, vip);
        assertThat(f).hasSize(86);
        assertThat(Arrays.copyOfRange(f, 0, 6)).containsExactly(0x33, 0x33, 0, 0, 0, 1);
        assertThat(Arrays.copyOfRange(f, 6, 12)).containsExactly(MAC);
        assertThat(f[12] & 0xff).isEqualTo(0x86);
        assertThat(f[13] & 0xff).isEqualTo(0xdd);
        assertThat(f[14] & 0xf0).as("IPv6").isEqualTo(0x60);
        assertThat(((f[18] & 0xff) << 8) | (f[19] & 0xff)).as("payload length").isEqualTo(32);
        assertThat(f[20]).as("ICMPv6").isEqualTo((byte) 58);
        assertThat(f[21] & 0xff).as("hop limit").isEqualTo(255);
        assertThat(Arrays.copyOfRange(f, 22, 38)).containsExactly(vip);
        assertThat(Arrays.copyOfRange(f, 38, 54)).containsExactly(InetAddress.ofLiteral("ff02::1").getAddress());
        assertThat(f[54] & 0xff).as("type: neighbour advertisement").isEqualTo(136);
        assertThat(f[58] & 0xff).as("flags: override only").isEqualTo(0x20);
        assertThat(Arrays.copyOfRange(f, 62, 78)).as("target").containsExactly(vip);
        assertThat(Arrays.copyOfRange(f, 78, 80)).as("option 2, 8 bytes").containsExactly(2, 1);
        assertThat(Arrays.copyOfRange(f, 80, 86)).containsExactly(MAC);
    }

    /** Summing the whole message with its checksum in place gives 0xffff: the receiver's check. */
    @Test
    void theChecksumVerifiesAsTheReceiverComputesIt() {
        byte[] vip = InetAddress.ofLiteral("2001:db8:beef::7").getAddress();
        byte[] f = NeighborAdvertisement.frame(MAC, vip);
        byte[] message = Arrays.copyOfRange(f, 54, 86);
        byte[] src = Arrays.copyOfRange(f, 22, 38);
        byte[] dst = Arrays.copyOfRange(f, 38, 54);
        assertThat(NeighborAdvertisement.checksum(src, dst, message)).as("complement of the full sum").isZero();
        message[10] ^= 1; // any flipped bit breaks it
        assertThat(NeighborAdvertisement.checksum(src, dst, message)).isNotZero();
    }
}
