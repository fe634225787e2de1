package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class GratuitousArpTest {
    @Test
    void frameIsA42ByteBroadcastArpRequestWithSenderAndTargetIpBothTheVip() {
        byte[] mac = HexFormat.ofDelimiter(":").parseHex("02:aa:bb:cc:dd:ee");
        byte[] ip = {(byte) 198, 18, 0, 10};
        byte[] f = GratuitousArp.frame(mac, ip);
        assertThat(HexFormat.of().formatHex(f)).isEqualTo(
                "ffffffffffff" + "02aabbccddee" + "0806"          // ethernet: broadcast, from us, ARP
                        + "0001" + "0800" + "06" + "04" + "0001"  // Ethernet/IPv4, request
                        + "02aabbccddee" + "c612000a"             // sender: our MAC, the VIP
                        + "000000000000" + "c612000a");           // target: unknown MAC, the VIP
    }
}
