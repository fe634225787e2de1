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
    void aStallSuspendsTheProbeRuleForAProbeTimeoutSoOnlyAcknowledgementsCanRenew() {
        d.deadline(Map.of("lb2", false), 1_000);
        // Frozen for 400 ms: a probe written meanwhile went unanswered; the peer may own it now.
        assertThat(d.deadline(Map.of("lb2", false), 1_400)).isLessThanOrEqualTo(1_400);
        assertThat(d.deadline(Map.of("lb2", false), 1_425)).isLessThanOrEqualTo(1_425);
        // probe_timeout (= down window + interval) after the stall ended, the rule is back.
        assertThat(d.deadline(Map.of("lb2", false), 1_500)).isEqualTo(1_500 + DOWN);
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
    void windowsOutOfOrderAreRefused() {
        assertThatThrownBy(() -> new FenceDeadline(50, 75, 25)).hasMessageContaining("down window");
    }
}
