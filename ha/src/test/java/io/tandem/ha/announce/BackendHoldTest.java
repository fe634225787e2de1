package io.tandem.ha.announce;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Withdraw at once without an eligible backend; announce again only after the hold-down; no hold-down at the start. */
class BackendHoldTest {
    private static final long HOLD = 2_000;

    @Test
    void theFirstAnnouncementIsNotHeldDown() {
        BackendHold h = new BackendHold();
        assertThat(h.announce(false, 0, HOLD)).isFalse(); // pending first check: not announced yet
        assertThat(h.reason(0, HOLD)).isEqualTo("no eligible backend");
        assertThat(h.announce(true, 100, HOLD)).isTrue();
        assertThat(h.reason(100, HOLD)).isNull();
    }

    @Test
    void aWithdrawalIsImmediateAndTheReturnWaitsForTheHoldDown() {
        BackendHold h = new BackendHold();
        assertThat(h.announce(true, 0, HOLD)).isTrue();
        assertThat(h.announce(false, 1_000, HOLD)).isFalse();
        assertThat(h.announce(true, 1_100, HOLD)).isFalse();
        assertThat(h.reason(1_600, HOLD)).isEqualTo("hold-down: a backend eligible for 500 ms of 2000 ms");
        assertThat(h.announce(true, 3_099, HOLD)).isFalse();
        assertThat(h.announce(true, 3_100, HOLD)).isTrue();
    }

    @Test
    void aFlappingPoolStaysWithdrawn() {
        BackendHold h = new BackendHold();
        h.announce(true, 0, HOLD);
        long t = 1_000;
        for (int i = 0; i < 10; i++) {
            assertThat(h.announce(false, t, HOLD)).isFalse();
            assertThat(h.announce(true, t + 500, HOLD)).isFalse(); // eligible for 1.5 s at most, then down again
            assertThat(h.announce(true, t + 1_500, HOLD)).isFalse();
            t += 2_000;
        }
        assertThat(h.announce(false, t, HOLD)).isFalse();
        assertThat(h.announce(true, t + 100, HOLD)).isFalse();
        assertThat(h.announce(true, t + 100 + HOLD - 1, HOLD)).isFalse();
        assertThat(h.announce(true, t + 100 + HOLD, HOLD)).isTrue(); // steady for the hold-down: back
    }

    @Test
    void aZeroHoldDownAnnouncesAsSoonAsABackendIsEligible() {
        BackendHold h = new BackendHold();
        h.announce(true, 0, 0);
        assertThat(h.announce(false, 10, 0)).isFalse();
        assertThat(h.announce(true, 20, 0)).isTrue();
    }
}
