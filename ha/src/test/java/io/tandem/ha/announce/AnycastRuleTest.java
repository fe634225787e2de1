package io.tandem.ha.announce;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Anycast announces unless the node is cut off from ZooKeeper and every peer for longer than the grace. */
class AnycastRuleTest {
    private static final long GRACE = 250;

    @Test
    void aColdStartAnnouncesOnlyOnceItReachedZooKeeperOrAPeer() {
        AnycastRule r = new AnycastRule();
        assertThat(r.announce(false, false, 0, GRACE)).isFalse();
        assertThat(r.announce(false, false, 10_000, GRACE)).isFalse();
        assertThat(r.announce(true, false, 10_001, GRACE)).isTrue();
    }

    @Test
    void zooKeeperAloneLostOrEveryPeerAloneLostChangesNothing() {
        AnycastRule r = new AnycastRule();
        assertThat(r.announce(true, true, 0, GRACE)).isTrue();
        assertThat(r.announce(false, true, 10_000, GRACE)).as("ZooKeeper down, a peer link up").isTrue();
        assertThat(r.announce(true, false, 20_000, GRACE)).as("every peer down, ZooKeeper up").isTrue();
    }

    @Test
    void isolationWithdrawsAfterTheGraceAndReturnsWithEitherWitness() {
        AnycastRule r = new AnycastRule();
        assertThat(r.announce(true, true, 0, GRACE)).isTrue();
        assertThat(r.announce(false, false, 1_000, GRACE)).as("isolated, within the grace").isTrue();
        assertThat(r.announce(false, false, 1_249, GRACE)).isTrue();
        assertThat(r.announce(false, false, 1_250, GRACE)).as("isolated for the grace").isFalse();
        assertThat(r.announce(false, false, 5_000, GRACE)).isFalse();
        assertThat(r.announce(false, true, 5_001, GRACE)).as("a peer link is back").isTrue();
        assertThat(r.announce(false, false, 6_000, GRACE)).as("a new isolation starts a new grace").isTrue();
    }
}
