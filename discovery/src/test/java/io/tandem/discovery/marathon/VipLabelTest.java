package io.tandem.discovery.marathon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class VipLabelTest {

    @Test
    void namedVipKeepsTheNameVerbatim() {
        assertThat(VipLabel.parse("VIP_0", "/orders:8080"))
                .isEqualTo(new VipLabel(Optional.of("/orders"), Optional.empty(), 8080));
    }

    @Test
    void dottedQuadIsAnAddressVip() {
        assertThat(VipLabel.parse("VIP_1", "10.1.0.10:5432"))
                .isEqualTo(new VipLabel(Optional.empty(), Optional.of(InetAddress.ofLiteral("10.1.0.10")), 5432));
    }

    @Test
    void ipv6IsSplitAtTheLastColonWithOrWithoutBrackets() {
        InetAddress v6 = InetAddress.ofLiteral("fd00::1");
        assertThat(VipLabel.parse("vip", "fd00::1:80").address()).contains(v6);
        assertThat(VipLabel.parse("vip", "[fd00::1]:80").address()).contains(v6);
        assertThat(VipLabel.parse("vip", "[fd00::1]:80").port()).isEqualTo(80);
    }

    @Test
    void nameContainingColonsIsSplitAtTheLastOne() {
        assertThat(VipLabel.parse("VIP_0", "/a:b:9000").name()).contains("/a:b");
    }

    @Test
    void onlyKeysStartingWithVipOrLowercaseVipAreVipKeys() {
        assertThat(VipLabel.isVipKey("VIP_0")).isTrue();
        assertThat(VipLabel.isVipKey("vip_1")).isTrue();
        assertThat(VipLabel.isVipKey("VIPX")).isTrue();
        assertThat(VipLabel.isVipKey("Vip_0")).isFalse();
        assertThat(VipLabel.isVipKey("HAPROXY_0_VHOST")).isFalse();
    }

    @Test
    void brokenValuesAreRejectedWithTheKeyValueAndExpectation() {
        for (String bad : new String[] {"/orders", "/orders:", ":80", "/orders:0", "/orders:70000", "/orders:http",
                "999.1.1.1:80", "[zz::1]:80", ""}) {
            assertThatThrownBy(() -> VipLabel.parse("VIP_0", bad))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("VIP_0: \"" + bad + "\" (expected");
        }
    }
}
