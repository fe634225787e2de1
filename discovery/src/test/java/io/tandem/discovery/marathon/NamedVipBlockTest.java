package io.tandem.discovery.marathon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NamedVipBlockTest {

    private static final NamedVipBlock BLOCK = NamedVipBlock.parse("198.18.128.0/17");

    @Test
    void sameNamesGiveSameAddressesWhateverTheOrder() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            names.add("/svc-" + i);
        }
        Map<String, InetAddress> first = BLOCK.allocate(names, List.of()).addresses();
        Random r = new Random(42);
        for (int round = 0; round < 5; round++) {
            Collections.shuffle(names, r);
            assertThat(BLOCK.allocate(names, List.of()).addresses()).isEqualTo(first);
        }
        assertThat(Set.copyOf(first.values())).hasSize(200);
    }

    @Test
    void addressIsStableAcrossInstancesAndPinnedForAKnownName() {
        InetAddress a = NamedVipBlock.parse("198.18.128.0/17").allocate(List.of("/orders"), List.of()).addresses().get("/orders");
        InetAddress b = NamedVipBlock.parse("198.18.128.0/17").allocate(List.of("/orders"), List.of()).addresses().get("/orders");
        assertThat(a).isEqualTo(b);
        assertThat(BLOCK.contains(a)).isTrue();
        // pinned: a change of hash or probing silently moves every named VIP of a running pair
        assertThat(a.getHostAddress()).isEqualTo("198.18.175.99"); // SHA-256("/orders")[0..16) mod 32766 + 198.18.128.1
    }

    @Test
    void unrelatedNamesDoNotMoveAnExistingAllocation() {
        InetAddress alone = BLOCK.allocate(List.of("/orders"), List.of()).addresses().get("/orders");
        InetAddress withOthers = BLOCK.allocate(List.of("/orders", "/users", "/billing"), List.of()).addresses().get("/orders");
        assertThat(withOthers).isEqualTo(alone);
    }

    @Test
    void collisionsInATinyBlockProbeDeterministicallyAndExhaustionIsReported() {
        NamedVipBlock tiny = NamedVipBlock.parse("10.9.0.0/30"); // .1 and .2 usable
        NamedVipBlock.Allocation a = tiny.allocate(List.of("/c", "/a", "/b"), List.of());
        NamedVipBlock.Allocation b = tiny.allocate(List.of("/b", "/c", "/a"), List.of());
        assertThat(a).isEqualTo(b);
        assertThat(a.addresses()).hasSize(2);
        assertThat(a.exhausted()).containsExactly("/c");
        assertThat(a.addresses().values()).extracting(InetAddress::getHostAddress)
                .containsExactlyInAnyOrder("10.9.0.1", "10.9.0.2");
    }

    @Test
    void addressVipsInsideTheBlockAreNeverGivenToANamedVip() {
        NamedVipBlock tiny = NamedVipBlock.parse("10.9.0.0/30");
        NamedVipBlock.Allocation a = tiny.allocate(List.of("/a"), List.of(InetAddress.ofLiteral("10.9.0.1")));
        assertThat(a.addresses().get("/a").getHostAddress()).isEqualTo("10.9.0.2");
    }

    @Test
    void networkAndBroadcastAddressesAreNotUsed() {
        NamedVipBlock tiny = NamedVipBlock.parse("10.9.0.0/30");
        assertThat(tiny.contains(InetAddress.ofLiteral("10.9.0.0"))).isFalse();
        assertThat(tiny.contains(InetAddress.ofLiteral("10.9.0.3"))).isFalse();
    }

    @Test
    void ipv6BlocksWork() {
        NamedVipBlock v6 = NamedVipBlock.parse("fd00:1::/112");
        InetAddress a = v6.allocate(List.of("/orders"), List.of()).addresses().get("/orders");
        assertThat(a.getAddress()).hasSize(16);
        assertThat(v6.contains(a)).isTrue();
    }

    @Test
    void badCidrsAreRejected() {
        for (String bad : new String[] {"198.18.128.0", "198.18.128.1/17", "198.18.128.0/33", "foo/8", "10.0.0.0/x"}) {
            assertThatThrownBy(() -> NamedVipBlock.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expected");
        }
    }
}
