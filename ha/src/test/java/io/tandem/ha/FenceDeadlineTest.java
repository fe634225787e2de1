package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The self-fence's deadline rules ({@link FenceDeadline}) with the defaults' numbers: interval
 * 25 ms, timeout 150 ms, probe_timeout 100 ms → window 200 ms (timeout + probe − 2 intervals),
 * down window 75 ms (probe − interval).
 */
class FenceDeadlineTest {
    private static final long WINDOW = 200;
    private static final long DOWN = 75;
    private static final long INTERVAL = 25;

    private final FenceDeadline d = new FenceDeadline(WINDOW, DOWN, INTERVAL);

    @Test
    void withNoPeerTheNodeMayRenewAWholeWindow() {
        assertThat(d.deadline(Map.of(), 1_000)).isEqualTo(1_000 + WINDOW);
    }

    @Test
    void anAcknowledgedHeartbeatAnchorsTheDeadlineAtItsSendTimeNotAtNow() {
        d.deadline(Map.of("lb2", true), 990);
        d.sent(1, 1_000);
        d.sent(2, 1_025);
        d.acked("lb2", 1);
        // The peer received heartbeat 1 (sent at 1000): it cannot declare the link dead before
        // 1000 + 150 and then waits 100 for its probe: the deadline keeps 50 of margin.
        assertThat(d.deadline(Map.of("lb2", true), 1_010)).isEqualTo(1_000 + WINDOW);
    }

    @Test
    void heartbeatsSentButNotAcknowledgedDoNotMoveTheDeadline() {
        d.deadline(Map.of("lb2", true), 990);
        d.sent(1, 1_000);
        d.acked("lb2", 1);
        for (int seq = 2; seq < 8; seq++) { // a one-way cut: sent, never echoed
            d.sent(seq, 1_000 + 25L * (seq - 1));
            d.deadline(Map.of("lb2", true), 1_000 + 25L * (seq - 1));
        }
        // At 1150 the ack rule still says 1200; the probe rule (answered while running) 1150 + 75.
        assertThat(d.deadline(Map.of("lb2", true), 1_175)).isEqualTo(1_175 + DOWN);
    }

    @Test
    void aPeerWithItsLinkDownBoundsTheDeadlineByTheProbeRule() {
        d.sent(1, 1_000);
        d.acked("lb2", 1);
        assertThat(d.deadline(Map.of("lb2", false), 1_005)).isEqualTo(1_005 + DOWN);
    }

    @Test
    void theEarliestPeerDecides() {
        d.sent(1, 1_000);
        d.sent(2, 1_050);
        d.acked("lb2", 2);
        d.acked("lb3", 1);
        assertThat(d.deadline(Map.of("lb2", true, "lb3", true), 1_060)).isEqualTo(1_000 + WINDOW);
    }

    @Test
    void acknowledgementsOnlyMoveForwardAndUnknownSequencesAreIgnored() {
        d.sent(5, 2_000);
        d.sent(6, 2_025);
        d.acked("lb2", 6);
        d.acked("lb2", 5); // reordered: older
        d.acked("lb2", 77); // never sent by this incarnation
        assertThat(d.deadline(Map.of("lb2", true), 2_030)).isEqualTo(2_025 + WINDOW);
    }

    @Test
    void aStallSuspendsTheProbeRuleUntilTheThreadRanOnTimeForAWholeTakeoverPath() {
        d.deadline(Map.of("lb2", false), 1_000);
        // Frozen for 400 ms: a probe written meanwhile went unanswered; the peer may own it now.
        assertThat(d.deadline(Map.of("lb2", false), 1_400)).isLessThanOrEqualTo(1_400);
        assertThat(d.deadline(Map.of("lb2", false), 1_425)).isLessThanOrEqualTo(1_425);
        for (long t = 1_450; t < 1_650; t += INTERVAL) {
            assertThat(d.deadline(Map.of("lb2", false), t)).isLessThanOrEqualTo(t);
        }
        // timeout + probe_timeout (= window + 2 intervals) of on-time ticks after the stall: back.
        assertThat(d.deadline(Map.of("lb2", false), 1_650)).isEqualTo(1_650 + DOWN);
    }

    /** 2 % CPU: ticks 100 ms apart, with now and then two close together — never on time long enough. */
    @Test
    void aStarvedThreadDoesNotGetTheProbeRuleBackFromTwoTicksCloseTogether() {
        d.deadline(Map.of("lb2", false), 1_000);
        long t = 1_000;
        for (int i = 0; i < 20; i++) {
            t += 100;
            assertThat(d.deadline(Map.of("lb2", false), t)).as("late tick at %d", t).isLessThanOrEqualTo(t);
            assertThat(d.deadline(Map.of("lb2", false), t + 5)).as("close tick at %d", t + 5)
                    .isLessThanOrEqualTo(t + 5);
            t += 5;
        }
    }

    @Test
    void afterAStallAFreshAcknowledgementStillRenews() {
        d.deadline(Map.of("lb2", true), 1_000);
        d.sent(9, 1_400);
        d.acked("lb2", 9); // the peer heard us after the thaw (and its heartbeat carried its claims)
        assertThat(d.deadline(Map.of("lb2", true), 1_420)).isEqualTo(1_400 + WINDOW);
    }

    @Test
    void aStallLongerThanTheDownWindowIsWhatSuspends() {
        d.deadline(Map.of("lb2", false), 1_000);
        assertThat(d.deadline(Map.of("lb2", false), 1_000 + DOWN)).isEqualTo(1_000 + 2 * DOWN);
        assertThat(d.deadline(Map.of("lb2", false), 1_000 + 2 * DOWN + 1)).isLessThanOrEqualTo(1_000 + 2 * DOWN + 1);
    }

    @Test
    void aNodeThatCannotSeeProbesGetsOnlyWhatAcknowledgementsProve() {
        d.sent(1, 1_000);
        d.acked("lb2", 1);
        // Cut off from ZooKeeper: a peer's probe would go unseen, so the probe rule is out.
        assertThat(d.deadline(Map.of("lb2", false), false, 1_010)).isLessThanOrEqualTo(1_010);
        assertThat(d.deadline(Map.of("lb2", true), false, 1_010)).isEqualTo(1_000 + WINDOW);
        assertThat(d.deadline(Map.of(), false, 1_010)).isEqualTo(1_010 + WINDOW);
    }

    /**
     * A node that held nothing for a while (ticking, but never renewing) serves its first address:
     * the ticks it ran are no stall, so it may let packets in at once (found by the nemesis: new
     * owners listed their address for a median 263 ms before accepting).
     */
    @Test
    void ticksWhileHoldingNothingAreNoStall() {
        d.deadline(Map.of("lb2", true), 900); // held an address then, released it since
        for (long t = 1_000; t <= 5_000; t += INTERVAL) {
            d.ran(t);
        }
        assertThat(d.deadline(Map.of("lb2", false), 5_010)).isEqualTo(5_010 + DOWN);
    }

    @Test
    void aPeerIsEchoedOnlyOnceItsLinkHasBeenUpForAWholeTakeoverPath() {
        assertThat(FenceDeadline.mayEcho(false, 1_000, 5_000, 250)).as("link down").isFalse();
        assertThat(FenceDeadline.mayEcho(true, 4_900, 5_000, 250)).as("up again 100 ms ago: a claim may be in flight")
                .isFalse();
        assertThat(FenceDeadline.mayEcho(true, 4_750, 5_000, 250)).as("up for the whole path").isTrue();
        assertThat(FenceDeadline.mayEcho(true, -1, 5_000, 250)).as("never up").isFalse();
    }

    @Test
    void windowsOutOfOrderAreRefused() {
        assertThatThrownBy(() -> new FenceDeadline(50, 75, 25)).hasMessageContaining("down window");
    }
}
