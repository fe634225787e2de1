package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The bytes of the netlink address requests, checked against the kernel's struct layouts. */
class NetlinkAddressTest {

    @Test
    void ipv4AddRequestCarriesHeaderIfaddrmsgAndLocalPlusAddressAttributes() {
        byte[] m = NetlinkAddress.message((short) 20, (short) 0x605, 7, 3, new byte[] {(byte) 198, 18, 1, 10}, 0);
        ByteBuffer b = ByteBuffer.wrap(m).order(ByteOrder.nativeOrder());
        assertThat(m).hasSize(16 + 8 + 8 + 8);
        assertThat(b.getInt(0)).as("nlmsg_len").isEqualTo(m.length);
        assertThat(b.getShort(4)).as("RTM_NEWADDR").isEqualTo((short) 20);
        assertThat(b.getShort(6)).isEqualTo((short) 0x605);
        assertThat(b.getInt(8)).as("seq").isEqualTo(7);
        assertThat(m[16]).as("AF_INET").isEqualTo((byte) 2);
        assertThat(m[17]).as("prefix /32").isEqualTo((byte) 32);
        assertThat(b.getInt(20)).as("ifindex").isEqualTo(3);
        assertThat(b.getShort(24)).as("rta_len").isEqualTo((short) 8);
        assertThat(b.getShort(26)).as("IFA_LOCAL").isEqualTo((short) 2);
        assertThat(new byte[] {m[28], m[29], m[30], m[31]}).containsExactly((byte) 198, 18, 1, 10);
        assertThat(b.getShort(34)).as("IFA_ADDRESS").isEqualTo((short) 1);
    }

    @Test
    void aLifetimeAddsCacheinfoWithPreferredAndValidSeconds() {
        byte[] m = NetlinkAddress.message((short) 20, (short) 0x505, 1, 2, new byte[] {10, 0, 0, 1}, 3);
        ByteBuffer b = ByteBuffer.wrap(m).order(ByteOrder.nativeOrder());
        assertThat(m).hasSize(16 + 8 + 8 + 8 + 20);
        assertThat(b.getShort(40)).as("rta_len").isEqualTo((short) 20);
        assertThat(b.getShort(42)).as("IFA_CACHEINFO").isEqualTo((short) 6);
        assertThat(b.getInt(44)).as("ifa_prefered").isEqualTo(3);
        assertThat(b.getInt(48)).as("ifa_valid").isEqualTo(3);
    }

    @Test
    void ipv6RequestIsA128PrefixWithoutDuplicateAddressDetection() {
        byte[] addr = new byte[16];
        addr[15] = 1;
        byte[] m = NetlinkAddress.message((short) 21, (short) 0x5, 1, 2, addr, 0);
        assertThat(m).hasSize(16 + 8 + 20 + 20);
        assertThat(m[16]).as("AF_INET6").isEqualTo((byte) 10);
        assertThat(m[17] & 0xff).isEqualTo(128);
        assertThat(m[18]).as("IFA_F_NODAD").isEqualTo((byte) 2);
    }
}
