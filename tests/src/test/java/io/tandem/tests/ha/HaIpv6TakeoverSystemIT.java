package io.tandem.tests.ha;

import static io.tandem.tests.ha.PairSystem.VIP10;
import static io.tandem.tests.ha.PairSystem.VIP11;
import static io.tandem.tests.ha.PairSystem.VIP6;
import static io.tandem.tests.ha.PairSystem.attempts;
import static io.tandem.tests.ha.PairSystem.sys;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.tests.ha.PairSystem.Gap;
import io.tandem.tests.ha.PairSystem.Stats;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;

/**
 * An IPv6 VIP through a takeover, with an IPv6 client on the same segment (issue #22 item 7):
 * the pair of {@link HaPairSystemIT} plus VIP {@code [2001:db8::1:10]:80} preferring lb1. lb1 is
 * killed with SIGKILL, so its kernel keeps the address on its interface and would go on
 * answering neighbour solicitations for it: the client reaches lb2 only because lb2's unsolicited
 * neighbour advertisement (Override set) moved the client's neighbour entry to lb2's MAC. The
 * client's entry is read before (lb1's MAC) and after (lb2's MAC).
 */
class HaIpv6TakeoverSystemIT extends PairSystemTest {

    @BeforeAll
    void ipv6() throws Exception {
        pair.enableIpv6();
    }

    @Test
    @Order(1)
    void anIpv6ClientIsServedByTheSurvivorAfterTheOwnerIsKilled() throws Exception {
        pair.startPair("v6a");
        assertThat(pair.hasVip6("lb1")).as("lb1 holds the IPv6 VIP").isTrue();
        assertThat(pair.hasVip6("lb2")).isFalse();
        String vip6 = "[" + VIP6 + "]";
        Child client = pair.clientOf(15_000, vip6 + ":80", VIP11 + ":80");
        await("the IPv6 client is served through lb1").atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> attempts(client, vip6).stream().filter(PairSystem.Attempt::ok).count() >= 10);
        String lb1Mac = pair.mac("lb1");
        String lb2Mac = pair.mac("lb2");
        assertThat(pair.neighbour("client", VIP6)).as("client's neighbour entry for the VIP before").isEqualTo(lb1Mac);

        pair.lb1().signal("KILL");
        long t0 = System.currentTimeMillis();
        assertThat(pair.lb1().waitForExit(Duration.ofSeconds(5))).isTrue();
        await("lb2 serves the IPv6 VIP").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(20))
                .until(() -> pair.served("lb2").equals(Set.of(VIP10, VIP11, VIP6)) && pair.hasVip6("lb2"));
        long owned = System.currentTimeMillis() - t0;
        pair.awaitOkAfter(client, vip6, t0, 20);
        client.kill();
        String after = pair.neighbour("client", VIP6);
        boolean leftover = pair.hasVip6("lb1");
        Gap g = Gap.of(attempts(client, vip6), t0);
        Stats s11 = Stats.of(attempts(client, VIP11));
        sys("ipv6-kill-9", "lb1 killed; lb2 owns %s after %d ms; IPv6 client: longest time between two successes"
                        + " %d ms, unserved %d ms after the kill, failed %d, failed after recovery %d; client's"
                        + " neighbour entry %s -> %s (lb2 %s); killed node still has the address: %s; .11 failed %d",
                VIP6, owned, g.gap(), g.unserved(), g.failedAfterFault(), g.failedAfterRecovery(), lb1Mac, after,
                lb2Mac, leftover, s11.failed());
        assertThat(after).as("client's neighbour entry for the VIP after the takeover (lb2's MAC)").isEqualTo(lb2Mac);
        assertThat(g.gap()).as("client-visible gap on the IPv6 VIP (ms)").isLessThan(3_000);
        assertThat(g.failedAfterRecovery()).as("failures on the IPv6 VIP once it was served again")
                .isLessThanOrEqualTo(2);
        assertThat(s11.failed()).as("failures on .11 (owned by the survivor throughout)").isZero();
    }
}
