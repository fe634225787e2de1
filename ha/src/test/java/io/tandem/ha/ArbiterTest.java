package io.tandem.ha;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The ownership rules of {@link Arbiter}, driven with explicit times (ms) and no I/O. */
class ArbiterTest {
    private static final Arbiter.Timing T = new Arbiter.Timing(60, 60, 30, 1000, 5000, 600, 60, 50);
    private static final long SESSION = 0x11;

    private long now = 1_000;

    private Arbiter arbiter(boolean preempt) {
        return new Arbiter("a", List.of("b"), Map.of("10.0.0.1", "a", "10.0.0.2", "b"), preempt, T, 1, now);
    }

    private static Lease free(long epoch, String lastHolder, int version) {
        return new Lease(epoch, lastHolder, version, null, 0, -1);
    }

    private static Lease owned(long epoch, String holder, long session) {
        return new Lease(epoch, holder, (int) epoch, holder, session, 0);
    }

    private void connect(Arbiter a, Map<String, Lease> leases) {
        a.zkState(ZkState.CONNECTED, SESSION, now);
        a.cacheReady(now);
        a.leases(leases, now);
    }

    /** b never connected: a's first decision probes it, and ZooKeeper takes the probe at once. */
    private void probeOfTheAbsentPeerWritten(Arbiter a) {
        List<Action> first = a.evaluate(now);
        assertThat(only(first, Action.Claim.class)).isEmpty();
        a.probeWritten("b", only(first, Action.Probe.class).getFirst().nonce(), now);
    }

    private static PeerMessage.Heartbeat hb(boolean zk, Map<String, Long> held) {
        return new PeerMessage.Heartbeat("b", 7, 1, zk, held);
    }

    private static <T extends Action> List<T> only(List<Action> actions, Class<T> type) {
        return actions.stream().filter(type::isInstance).map(type::cast).toList();
    }

    /** {@code actions}, with every {@link Action.CheckZooKeeper} answered at once and what that decides. */
    private List<Action> answered(Arbiter a, List<Action> actions) {
        if (only(actions, Action.CheckZooKeeper.class).isEmpty()) {
            return actions;
        }
        a.zkChecked(true, now);
        List<Action> all = new java.util.ArrayList<>(actions);
        all.addAll(a.evaluate(now));
        return all;
    }

    /** b's link is lost, its probe goes unanswered, and a's claim of 10.0.0.2 (epoch 2) commits. */
    private void tookOverFromB(Arbiter a) {
        a.linkLost("b", "eof", now);
        long nonce = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        a.probeWritten("b", nonce, now);
        now += 60;
        a.evaluate(now);
        a.claimDone("10.0.0.2", OwnershipCause.PEER_DEAD, "b", now, 2, now);
    }

    /** a holds 10.0.0.1 at epoch 1, b holds 10.0.0.2 at epoch 1, link up. */
    private Arbiter steadyPair(boolean preempt) {
        Arbiter a = arbiter(preempt);
        connect(a, Map.of("10.0.0.1", free(0, null, -1), "10.0.0.2", owned(1, "b", 0x22)));
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now);
        a.evaluate(now);
        a.claimDone("10.0.0.1", OwnershipCause.PREFERRED, null, now, 1, now);
        a.leases(Map.of("10.0.0.1", owned(1, "a", SESSION), "10.0.0.2", owned(1, "b", 0x22)), now);
        a.evaluate(now);
        return a;
    }

    @Test
    void preferredOwnerClaimsAFreeAddressAtOnceAndOthersOnlyAfterTheClaimDelay() {
        Arbiter a = arbiter(false);
        connect(a, Map.of("10.0.0.1", free(0, null, -1), "10.0.0.2", free(0, null, -1)));
        probeOfTheAbsentPeerWritten(a);

        List<Action.Claim> first = only(a.evaluate(now), Action.Claim.class);
        assertThat(first).extracting(Action.Claim::vipAddress).containsExactly("10.0.0.1");
        assertThat(first.getFirst().cause()).isEqualTo(OwnershipCause.PREFERRED);

        now += 999;
        assertThat(only(a.evaluate(now), Action.Claim.class)).isEmpty();
        now += 1;
        List<Action.Claim> late = only(a.evaluate(now), Action.Claim.class);
        assertThat(late).extracting(Action.Claim::vipAddress, Action.Claim::cause)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.2", OwnershipCause.FREE_LEASE));
    }

    @Test
    void committedClaimIsServedWithItsEpochOnce() {
        Arbiter a = arbiter(false);
        connect(a, Map.of("10.0.0.1", free(4, "b", 4), "10.0.0.2", owned(1, "b", 0x22)));
        a.evaluate(now);
        a.claimDone("10.0.0.1", OwnershipCause.PREFERRED, null, now, 5, now);

        List<Action.Serve> serve = only(a.evaluate(now), Action.Serve.class);
        assertThat(serve).extracting(Action.Serve::vipAddress, Action.Serve::epoch)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.1", 5L));
        assertThat(only(a.evaluate(now), Action.Serve.class)).isEmpty();
        assertThat(a.heldEpochs()).containsExactly(Map.entry("10.0.0.1", 5L));
    }

    @Test
    void aFreeAddressThatAnUpPeerSaysItServesIsNeverClaimed() {
        Arbiter a = arbiter(false);
        a.heartbeat("b", hb(false, Map.of("10.0.0.1", 3L)), now);
        connect(a, Map.of("10.0.0.1", free(3, "b", 3), "10.0.0.2", free(0, null, -1)));
        assertThat(only(a.evaluate(now), Action.Claim.class)).isEmpty();
        now += 5_000;
        a.heartbeat("b", hb(false, Map.of("10.0.0.1", 3L)), now);
        assertThat(only(a.evaluate(now), Action.Claim.class)).extracting(Action.Claim::vipAddress)
                .containsExactly("10.0.0.2");
    }

    @Test
    void higherEpochInZooKeeperFencesAHeldAddressAtOnce() {
        Arbiter a = steadyPair(false);
        a.leases(Map.of("10.0.0.1", owned(2, "b", 0x22), "10.0.0.2", owned(1, "b", 0x22)), now);
        List<Action.Release> r = only(a.evaluate(now), Action.Release.class);
        assertThat(r).extracting(Action.Release::vipAddress, Action.Release::cause)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.1", OwnershipCause.FENCED));
        assertThat(r.getFirst().deleteOwner()).isFalse();
        assertThat(a.heldEpochs()).isEmpty();
    }

    @Test
    void peerHeartbeatWithHigherEpochFencesEvenWithoutZooKeeper() {
        Arbiter a = steadyPair(false);
        a.zkState(ZkState.SUSPENDED, 0, now);
        a.heartbeat("b", hb(false, Map.of("10.0.0.1", 2L, "10.0.0.2", 1L)), now);
        assertThat(only(a.evaluate(now), Action.Release.class)).extracting(Action.Release::cause)
                .containsExactly(OwnershipCause.FENCED);
    }

    @Test
    void ownReassertSeenInTheCacheBeforeItsCompletionIsNotAFence() {
        Arbiter a = steadyPair(false);
        a.leases(Map.of("10.0.0.1", owned(2, "a", SESSION), "10.0.0.2", owned(1, "b", 0x22)), now);
        assertThat(only(a.evaluate(now), Action.Release.class)).isEmpty();
    }

    @Test
    void withoutZooKeeperButWithThePeerUpHeldAddressesStayAndNothingIsClaimed() {
        Arbiter a = steadyPair(false);
        a.zkState(ZkState.SUSPENDED, 0, now);
        for (int i = 0; i < 100; i++) {
            now += 20;
            a.heartbeat("b", hb(false, Map.of("10.0.0.2", 1L)), now);
            List<Action> actions = a.evaluate(now);
            assertThat(only(actions, Action.Release.class)).isEmpty();
            assertThat(only(actions, Action.Claim.class)).isEmpty();
        }
        a.zkState(ZkState.LOST, 0, now);
        now += 20;
        a.heartbeat("b", hb(false, Map.of("10.0.0.2", 1L)), now);
        assertThat(a.evaluate(now)).isEmpty();
        assertThat(a.heldEpochs()).containsOnlyKeys("10.0.0.1");
    }

    @Test
    void cutOffFromZooKeeperAndEveryPeerReleasesEverythingAfterTheIsolationGrace() {
        Arbiter a = steadyPair(false);
        a.zkState(ZkState.SUSPENDED, 0, now);
        a.linkLost("b", "eof", now);
        now += 29;
        assertThat(only(a.evaluate(now), Action.Release.class)).isEmpty();
        now += 1;
        assertThat(only(a.evaluate(now), Action.Release.class)).extracting(Action.Release::cause)
                .containsExactly(OwnershipCause.ISOLATED);
    }

    @Test
    void lostPeerIsProbedAndItsAddressTakenOverWhenTheProbeGoesUnanswered() {
        Arbiter a = steadyPair(false);
        long lastHb = now;
        now += 3;
        a.linkLost("b", "eof", now);
        long down = now;
        List<Action.Probe> probes = only(a.evaluate(now), Action.Probe.class);
        assertThat(probes).extracting(Action.Probe::peer).containsExactly("b");
        now += 4;
        a.probeWritten("b", probes.getFirst().nonce(), now);
        now += 59;
        assertThat(only(a.evaluate(now), Action.Claim.class)).isEmpty();
        now += 1;
        List<Action.Claim> claims = only(a.evaluate(now), Action.Claim.class);
        assertThat(claims).extracting(Action.Claim::vipAddress, Action.Claim::cause, Action.Claim::fromPeer)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.2", OwnershipCause.PEER_DEAD, "b"));
        assertThat(claims.getFirst().seen().owner()).isEqualTo("b");

        now += 5;
        a.claimDone("10.0.0.2", OwnershipCause.PEER_DEAD, "b", now - 5, 2, now);
        Action.Serve serve = only(a.evaluate(now), Action.Serve.class).getFirst();
        assertThat(serve.detectMs()).isEqualTo(3);
        assertThat(serve.decideMs()).isEqualTo(now - down);
        assertThat(lastHb).isLessThan(down);
    }

    @Test
    void aLostPeerIsNotDeclaredDeadBeforeAnIsolatedPeerWouldHaveDroppedItsAddresses() {
        Arbiter a = new Arbiter("a", List.of("b"), Map.of("10.0.0.1", "a", "10.0.0.2", "b"), false,
                new Arbiter.Timing(60, 60, 160, 1000, 5000, 600, 60, 200), 1, now);
        connect(a, Map.of("10.0.0.1", owned(1, "a", SESSION), "10.0.0.2", owned(1, "b", 0x22)));
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now);
        a.evaluate(now);
        a.linkLost("b", "eof", now);
        long down = now;
        long nonce = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        a.probeWritten("b", nonce, now + 2);
        now = down + 199;
        assertThat(only(a.evaluate(now), Action.Claim.class)).isEmpty();
        now = down + 200;
        assertThat(only(a.evaluate(now), Action.Claim.class)).extracting(Action.Claim::cause)
                .containsExactly(OwnershipCause.PEER_DEAD);
    }

    @Test
    void aRefusedPeerLinkPortWithTheProbeWrittenIsProofOfDeathWithoutWaitingForTheProbeTimeout() {
        Arbiter a = new Arbiter("a", List.of("b"), Map.of("10.0.0.1", "a", "10.0.0.2", "b"), false,
                new Arbiter.Timing(60, 60, 160, 1000, 5000, 600, 60, 200), 1, now);
        connect(a, Map.of("10.0.0.1", owned(1, "a", SESSION), "10.0.0.2", owned(1, "b", 0x22)));
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now);
        a.evaluate(now);
        a.linkLost("b", "eof", now);
        long nonce = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        now += 1;
        a.refused("b", now);
        assertThat(only(a.evaluate(now), Action.Claim.class)).as("not before ZooKeeper took our probe").isEmpty();
        now += 3;
        a.probeWritten("b", nonce, now);
        assertThat(only(a.evaluate(now), Action.Claim.class)).extracting(Action.Claim::cause)
                .containsExactly(OwnershipCause.PEER_DEAD);
        assertThat(a.peer("b").deadProof).contains("refused");
    }

    @Test
    void aProbeZooKeeperTookOnlyAfterAnOutageIsReplacedByAFreshOneInsteadOfStartingTheAnswerWindow() {
        Arbiter a = steadyPair(false);
        a.linkLost("b", "heartbeat_timeout", now);
        long stale = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        now += 2_000; // cut off from ZooKeeper all along; Curator writes the probe on reconnect
        a.probeWritten("b", stale, now);
        List<Action.Probe> fresh = only(a.evaluate(now), Action.Probe.class);
        assertThat(fresh).as("a new probe, not a verdict clock started on the old one").hasSize(1);
        assertThat(fresh.getFirst().nonce()).isNotEqualTo(stale);
        now += 100;
        assertThat(only(a.evaluate(now), Action.Claim.class)).noneMatch(c -> c.cause() == OwnershipCause.PEER_DEAD);
        a.probeAnswered("b", fresh.getFirst().nonce(), now);
        now += 100;
        assertThat(only(a.evaluate(now), Action.Claim.class)).noneMatch(c -> c.cause() == OwnershipCause.PEER_DEAD);
        assertThat(a.peer("b").probe).isEqualTo(Arbiter.ProbeState.ALIVE);
    }

    @Test
    void aRefusalBeforeTheLinkWentDownOrAfterItCameBackProvesNothing() {
        Arbiter a = steadyPair(false);
        a.refused("b", now); // link up: a refusal now is stale by the time the link drops
        now += 2;
        a.linkLost("b", "eof", now);
        long nonce = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        a.probeWritten("b", nonce, now + 1);
        now += 2;
        assertThat(only(a.evaluate(now), Action.Claim.class)).isEmpty();

        // refused while down, but the peer came back (restarted) before the verdict
        a.refused("b", now);
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now + 1);
        now += 5;
        a.linkLost("b", "eof", now);
        long again = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        a.probeWritten("b", again, now + 1);
        now += 2;
        assertThat(only(a.evaluate(now), Action.Claim.class)).isEmpty();
    }

    @Test
    void aPeerThatNeverConnectedIsNotProvenDeadByARefusal() {
        Arbiter a = arbiter(false);
        connect(a, Map.of("10.0.0.1", owned(1, "a", SESSION), "10.0.0.2", owned(1, "b", 0x22)));
        long nonce = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        a.refused("b", now);
        a.probeWritten("b", nonce, now + 1);
        now += 2;
        assertThat(only(a.evaluate(now), Action.Claim.class)).extracting(Action.Claim::cause)
                .doesNotContain(OwnershipCause.PEER_DEAD);
        assertThat(a.peer("b").probe).isEqualTo(Arbiter.ProbeState.WRITTEN);
    }

    @Test
    void anAnsweredProbeWinsOverALaterRefusal() {
        Arbiter a = steadyPair(false);
        a.linkLost("b", "eof", now);
        long nonce = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        a.probeWritten("b", nonce, now + 1);
        a.probeAnswered("b", nonce, now + 3);
        a.refused("b", now + 4); // alive in ZooKeeper, its link listener broken or firewalled: no takeover
        now += 10;
        assertThat(only(a.evaluate(now), Action.Claim.class)).isEmpty();
        assertThat(a.peer("b").probe).isEqualTo(Arbiter.ProbeState.ALIVE);
    }

    @Test
    void heartbeatsQueuedBehindABusyControlThreadDoNotMarkTheLinkDown() {
        Arbiter a = steadyPair(false);
        a.tick(now);
        now += 300; // the control thread was busy: a heartbeat from 300 ms ago is processed only now
        assertThat(only(a.evaluate(now), Action.DropLink.class)).isEmpty();
        assertThat(a.peer("b").up).isTrue();
        a.tick(now);
        now += 20;
        a.tick(now);
        assertThat(only(a.evaluate(now), Action.DropLink.class)).as("backstop once on time again").hasSize(1);
    }

    @Test
    void answeredProbeMeansNoTakeoverAndTheLostPeerIsProbedAgainLater() {
        Arbiter a = steadyPair(false);
        a.linkLost("b", "eof", now);
        long nonce = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        a.probeWritten("b", nonce, now + 2);
        a.probeAnswered("b", nonce, now + 6);
        now += 500;
        assertThat(a.evaluate(now)).isEmpty();
        now += 200;
        assertThat(only(a.evaluate(now), Action.Probe.class)).hasSize(1);
        assertThat(a.heldEpochs()).containsOnlyKeys("10.0.0.1");
    }

    @Test
    void aProbeZooKeeperDoesNotAcknowledgeWithEveryPeerDownMeansThisNodeIsIsolated() {
        Arbiter a = steadyPair(false);
        now += 61;
        a.linkLost("b", "heartbeat_timeout", now);
        assertThat(only(a.evaluate(now), Action.Probe.class)).hasSize(1);
        now += 29;
        assertThat(only(a.evaluate(now), Action.Release.class)).isEmpty();
        now += 1;
        assertThat(only(a.evaluate(now), Action.Release.class)).extracting(Action.Release::cause)
                .containsExactly(OwnershipCause.ISOLATED);
    }

    @Test
    void aNewSessionReassertsHeldLeasesAndKeepsServing() {
        Arbiter a = steadyPair(false);
        a.zkState(ZkState.LOST, 0, now);
        a.zkState(ZkState.CONNECTED, 0x99, now);
        a.leases(Map.of("10.0.0.1", free(1, "a", 1), "10.0.0.2", owned(1, "b", 0x22)), now);
        List<Action> actions = a.evaluate(now);
        assertThat(only(actions, Action.Reassert.class)).extracting(Action.Reassert::vipAddress).containsExactly("10.0.0.1");
        assertThat(only(actions, Action.Release.class)).isEmpty();
        a.claimDone("10.0.0.1", OwnershipCause.RECOVERED, null, now, 2, now);
        assertThat(only(a.evaluate(now), Action.Serve.class)).isEmpty();
        assertThat(a.heldEpochs()).containsExactly(Map.entry("10.0.0.1", 2L));
    }

    @Test
    void failedClaimIsRetriedOnlyAfterTheBackoff() {
        Arbiter a = arbiter(false);
        connect(a, Map.of("10.0.0.1", free(0, null, -1), "10.0.0.2", owned(1, "b", 0x22)));
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now);
        a.evaluate(now);
        a.claimDone("10.0.0.1", OwnershipCause.PREFERRED, null, now, -1, now);
        now += 59;
        assertThat(only(a.evaluate(now), Action.Claim.class)).isEmpty();
        now += 1;
        assertThat(only(a.evaluate(now), Action.Claim.class)).hasSize(1);
    }

    @Test
    void withoutPreemptionAReturningPreferredOwnerDoesNotGetItsAddressBack() {
        Arbiter a = steadyPair(false);
        tookOverFromB(a);
        a.evaluate(now);
        for (int i = 0; i < 500; i++) {
            now += 20;
            a.heartbeat("b", hb(true, Map.of()), now);
            assertThat(only(a.evaluate(now), Action.Release.class)).isEmpty();
        }
        assertThat(a.heldEpochs()).containsOnlyKeys("10.0.0.1", "10.0.0.2");
    }

    @Test
    void withPreemptionTheAddressIsHandedBackOnceThePreferredOwnerWasBackForTheDelay() {
        Arbiter a = steadyPair(true);
        tookOverFromB(a);
        a.evaluate(now);
        long back = now + 20;
        List<Action.Release> released = List.of();
        while (released.isEmpty() && now < back + 10_000) {
            now += 20;
            a.heartbeat("b", hb(true, Map.of()), now);
            released = only(answered(a, a.evaluate(now)), Action.Release.class);
        }
        assertThat(now - back).isBetween(5000L, 5020L);
        assertThat(released).extracting(Action.Release::vipAddress, Action.Release::cause, Action.Release::deleteOwner)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.2", OwnershipCause.PREEMPTED, true));
    }

    /**
     * Found by the partition nemesis: the preferred owner dies between the hand-back (the holder
     * released the address, PREEMPTED, and deleted its owner znode) and its own claim. The lease
     * is free, its last holder is the survivor itself, its preferred owner is proven dead: the
     * survivor must take it back at once, not after the claim delay (3 s by default; 10 s without
     * an owner in the nemesis run, whose config has 20 s).
     */
    @Test
    void anAddressHandedBackToAPreferredOwnerThatDiesBeforeClaimingItIsTakenBackAtOnce() {
        Arbiter a = steadyPair(true);
        tookOverFromB(a);
        a.leases(Map.of("10.0.0.1", owned(1, "a", SESSION), "10.0.0.2", owned(2, "a", SESSION)), now);
        a.evaluate(now);
        List<Action.Release> released = List.of();
        while (released.isEmpty() && now < 20_000) {
            now += 20;
            a.heartbeat("b", hb(true, Map.of()), now);
            released = only(answered(a, a.evaluate(now)), Action.Release.class);
        }
        assertThat(released).extracting(Action.Release::cause).containsExactly(OwnershipCause.PREEMPTED);
        a.leases(Map.of("10.0.0.1", owned(1, "a", SESSION), "10.0.0.2", free(2, "a", 3)), now);
        // b dies before its claim
        now += 5;
        a.linkLost("b", "eof", now);
        List<Action> probe = a.evaluate(now);
        a.probeWritten("b", only(probe, Action.Probe.class).getFirst().nonce(), now);
        long dead = now;
        List<Action.Claim> claims = List.of();
        while (claims.isEmpty() && now < dead + 2_000) {
            now += 10;
            claims = only(a.evaluate(now), Action.Claim.class);
        }
        assertThat(claims).extracting(Action.Claim::vipAddress).containsExactly("10.0.0.2");
        assertThat(now - dead).as("ms from the preferred owner's death to the claim")
                .isLessThan(T.claimDelay());
    }

    @Test
    void aLateTickRevalidatesHeldAddressesAndKeepsThoseZooKeeperConfirms() {
        Arbiter a = steadyPair(false);
        a.tick(now);
        now += 500;
        assertThat(a.tick(now)).isTrue();
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now); // link still up, but no witness after the freeze
        List<Action> actions = a.evaluate(now);
        assertThat(only(actions, Action.Revalidate.class)).extracting(Action.Revalidate::vipAddresses)
                .containsExactly(java.util.Set.of("10.0.0.1"));
        a.revalidated("10.0.0.1", owned(1, "a", SESSION), now + 3);
        now += 120;
        assertThat(only(a.evaluate(now), Action.Release.class)).isEmpty();
        assertThat(a.heldEpochs()).containsOnlyKeys("10.0.0.1");
    }

    @Test
    void aLateTickWithNoRevalidationReleasesAfterTheProbeTimeout() {
        Arbiter a = steadyPair(false);
        a.tick(now);
        now += 500;
        a.tick(now);
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now);
        a.evaluate(now);
        now += 119;
        assertThat(only(a.evaluate(now), Action.Release.class)).isEmpty();
        now += 1;
        assertThat(only(a.evaluate(now), Action.Release.class)).extracting(Action.Release::cause, Action.Release::detail)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(OwnershipCause.ISOLATED,
                        "frozen and not revalidated in 120ms"));
    }

    @Test
    void aHeartbeatReceivedAfterTheFreezeWitnessesHeldAddresses() {
        Arbiter a = steadyPair(false);
        a.tick(now);
        now += 500;
        a.tick(now);
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now);
        a.evaluate(now);
        now += 20;
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now);
        a.evaluate(now);
        now += 60;
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now);
        a.evaluate(now);
        now += 60;
        a.heartbeat("b", hb(true, Map.of("10.0.0.2", 1L)), now);
        assertThat(only(a.evaluate(now), Action.Release.class)).isEmpty();
    }

    @Test
    void anAddressHandedBackIsNotRecoveredWhileOurOwnerNodeIsStillBeingDeleted() {
        Arbiter a = steadyPair(true);
        tookOverFromB(a);
        a.leases(Map.of("10.0.0.1", owned(1, "a", SESSION), "10.0.0.2", owned(2, "a", SESSION)), now);
        a.evaluate(now);
        long back = now;
        while (now < back + 6000) {
            now += 20;
            a.heartbeat("b", hb(true, Map.of()), now);
            List<Action> actions = answered(a, a.evaluate(now));
            assertThat(only(actions, Action.Claim.class)).as("no RECOVERED claim of a relinquished address").isEmpty();
        }
        assertThat(a.heldEpochs()).containsOnlyKeys("10.0.0.1");
        // once the owner node is gone the preferred owner claims; we would only after the claim delay
        a.leases(Map.of("10.0.0.1", owned(1, "a", SESSION), "10.0.0.2", free(2, "a", 2)), now);
        a.heartbeat("b", hb(true, Map.of()), now);
        assertThat(only(a.evaluate(now), Action.Claim.class)).isEmpty();
    }

    @Test
    void afterShutdownNothingIsClaimedAnyMore() {
        Arbiter a = arbiter(false);
        a.shutdown();
        connect(a, Map.of("10.0.0.1", free(0, null, -1), "10.0.0.2", free(0, null, -1)));
        now += 5_000;
        assertThat(a.evaluate(now)).isEmpty();
    }

    @Test
    void shutdownReleasesEverythingVoluntarily() {
        Arbiter a = steadyPair(false);
        assertThat(only(a.shutdown(), Action.Release.class))
                .extracting(Action.Release::vipAddress, Action.Release::cause, Action.Release::deleteOwner)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.1", OwnershipCause.SHUTDOWN, true));
    }

    @Test
    void aColdStartBeforeThePeerClaimsOnlyOnceItsProbeIsWrittenAndNeverReleasesForIt() {
        // Issue 19: a node up before its peer probes it; the first probe write (creating the peer's
        // parent nodes) outlasted the isolation grace while the claim committed: acquired, released
        // as ISOLATED, re-acquired. Now the claim waits for the probe's write.
        Arbiter a = arbiter(false);
        connect(a, Map.of("10.0.0.1", free(0, null, -1), "10.0.0.2", free(0, null, -1)));
        List<Action> first = a.evaluate(now);
        long nonce = only(first, Action.Probe.class).getFirst().nonce();
        assertThat(only(first, Action.Claim.class)).as("no claim before ZooKeeper took the probe").isEmpty();
        for (int i = 0; i < 4; i++) { // well past the isolation grace (30 ms): a slow first write
            now += 10;
            List<Action> actions = a.evaluate(now);
            assertThat(only(actions, Action.Claim.class)).isEmpty();
            assertThat(only(actions, Action.Release.class)).isEmpty();
        }
        a.probeWritten("b", nonce, now);
        List<Action.Claim> claims = only(a.evaluate(now), Action.Claim.class);
        assertThat(claims).extracting(Action.Claim::vipAddress, Action.Claim::cause)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.1", OwnershipCause.PREFERRED));
        a.claimDone("10.0.0.1", OwnershipCause.PREFERRED, null, now, 1, now);
        assertThat(only(a.evaluate(now), Action.Serve.class)).hasSize(1);
        for (int i = 0; i < 20; i++) {
            now += 10;
            assertThat(only(a.evaluate(now), Action.Release.class)).isEmpty();
        }
        assertThat(a.heldEpochs()).containsOnlyKeys("10.0.0.1");
    }

    @Test
    void aColdStartWithThePeerLinkUpClaimsAtOnce() {
        Arbiter a = arbiter(false);
        connect(a, Map.of("10.0.0.1", free(0, null, -1), "10.0.0.2", free(0, null, -1)));
        a.heartbeat("b", hb(true, Map.of()), now);
        List<Action> actions = a.evaluate(now);
        assertThat(only(actions, Action.Probe.class)).isEmpty();
        assertThat(only(actions, Action.Claim.class)).extracting(Action.Claim::vipAddress).containsExactly("10.0.0.1");
    }

    @Test
    void aPreferredOwnerWhoseLinkFlapsDuringTheHoldDownDoesNotGetItsAddressBackUntilItStaysUp() {
        Arbiter a = steadyPair(true);
        tookOverFromB(a);
        a.evaluate(now);
        // back, then gone again after 4 s (a crash loop), then back for good
        for (int i = 0; i < 200; i++) {
            now += 20;
            a.heartbeat("b", hb(true, Map.of()), now);
            assertThat(only(a.evaluate(now), Action.Release.class)).isEmpty();
        }
        a.linkLost("b", "eof", now);
        long nonce = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        a.probeWritten("b", nonce, now);
        a.probeAnswered("b", nonce, now + 5);
        long back = now + 100;
        List<Action.Release> released = List.of();
        now = back;
        while (released.isEmpty() && now < back + 10_000) {
            a.heartbeat("b", hb(true, Map.of()), now);
            released = only(answered(a, a.evaluate(now)), Action.Release.class);
            now += 20;
        }
        assertThat(now - 20 - back).as("the hold-down counts from the last time the link came up").isBetween(5000L, 5020L);
        assertThat(released).extracting(Action.Release::cause).containsExactly(OwnershipCause.PREEMPTED);
    }

    /**
     * Found by the partition nemesis: a holder whose ZooKeeper traffic is silently dropped (its
     * session still looks connected) handed the address back; the owner-node delete waited for
     * ZooKeeper and nobody served the address for seconds. A hand-back now needs a direct read
     * that came back less than a heartbeat timeout ago.
     */
    @Test
    void aHandBackWaitsForAFreshZooKeeperAnswer() {
        Arbiter a = steadyPair(true);
        tookOverFromB(a);
        a.evaluate(now);
        long back = now + 20;
        List<Action.CheckZooKeeper> checks = List.of();
        while (checks.isEmpty() && now < back + 10_000) {
            now += 20;
            a.heartbeat("b", hb(true, Map.of()), now);
            List<Action> actions = a.evaluate(now);
            assertThat(only(actions, Action.Release.class)).as("no hand-back before ZooKeeper answered").isEmpty();
            checks = only(actions, Action.CheckZooKeeper.class);
        }
        assertThat(now - back).as("the check comes with the hold-down").isBetween(5000L, 5020L);
        assertThat(checks).extracting(Action.CheckZooKeeper::vipAddress).containsExactly("10.0.0.2");
        // the read hangs (a silent cut): no hand-back, and no second read piled up for a while
        long asked = now;
        while (now < asked + 500) {
            now += 20;
            a.heartbeat("b", hb(true, Map.of()), now);
            List<Action> actions = a.evaluate(now);
            assertThat(only(actions, Action.Release.class)).isEmpty();
            assertThat(only(actions, Action.CheckZooKeeper.class)).isEmpty();
        }
        // it fails: asked again at once; an answer that is already stale does not count either
        a.zkChecked(false, now);
        now += 20;
        a.heartbeat("b", hb(true, Map.of()), now);
        assertThat(only(a.evaluate(now), Action.CheckZooKeeper.class)).hasSize(1);
        a.zkChecked(true, now);
        now += 61; // T: heartbeat timeout 60 ms
        a.heartbeat("b", hb(true, Map.of()), now);
        List<Action> stale = a.evaluate(now);
        assertThat(only(stale, Action.Release.class)).as("answer older than the heartbeat timeout").isEmpty();
        assertThat(only(stale, Action.CheckZooKeeper.class)).hasSize(1);
        a.zkChecked(true, now);
        assertThat(only(a.evaluate(now), Action.Release.class))
                .extracting(Action.Release::vipAddress, Action.Release::cause)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.2", OwnershipCause.PREEMPTED));
    }

    @Test
    void aPreferredOwnerWithoutZooKeeperIsNotHandedItsAddress() {
        Arbiter a = steadyPair(true);
        tookOverFromB(a);
        a.evaluate(now);
        for (int i = 0; i < 500; i++) {
            now += 20;
            a.heartbeat("b", hb(false, Map.of()), now);
            assertThat(only(a.evaluate(now), Action.Release.class)).isEmpty();
        }
    }

    @Test
    void theReturningPreferredOwnerClaimsItsHandedBackAddressAtOnce() {
        // b's side of preemption: a held 10.0.0.2 (b's) and handed it back (its owner node deleted)
        Arbiter b = new Arbiter("b", List.of("a"), Map.of("10.0.0.1", "a", "10.0.0.2", "b"), true, T, 1, now);
        b.zkState(ZkState.CONNECTED, 0x22, now);
        b.cacheReady(now);
        b.leases(Map.of("10.0.0.1", owned(1, "a", SESSION), "10.0.0.2", owned(2, "a", SESSION)), now);
        b.heartbeat("a", new PeerMessage.Heartbeat("a", 3, 1, true, Map.of("10.0.0.1", 1L, "10.0.0.2", 2L)), now);
        assertThat(only(b.evaluate(now), Action.Claim.class)).isEmpty();
        now += 5_000;
        b.heartbeat("a", new PeerMessage.Heartbeat("a", 3, 2, true, Map.of("10.0.0.1", 1L)), now);
        b.leases(Map.of("10.0.0.1", owned(1, "a", SESSION), "10.0.0.2", free(2, "a", 2)), now);
        assertThat(only(b.evaluate(now), Action.Claim.class)).extracting(Action.Claim::vipAddress, Action.Claim::cause)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("10.0.0.2", OwnershipCause.PREFERRED));
    }

    @Test
    void aProbeWriteThatNeverReportsBackIsReplacedSoClaimsAreNotHeldBackForGood() {
        Arbiter a = arbiter(false);
        connect(a, Map.of("10.0.0.1", free(0, null, -1), "10.0.0.2", free(0, null, -1)));
        long lost = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        now += 599; // T.reprobeInterval is 600
        assertThat(only(a.evaluate(now), Action.Probe.class)).isEmpty();
        now += 1;
        List<Action.Probe> again = only(a.evaluate(now), Action.Probe.class);
        assertThat(again).extracting(Action.Probe::nonce).doesNotContain(lost).hasSize(1);
        a.probeWritten("b", lost, now); // the lost write's late answer counts for nothing
        assertThat(only(a.evaluate(now), Action.Claim.class)).isEmpty();
        a.probeWritten("b", again.getFirst().nonce(), now);
        assertThat(only(a.evaluate(now), Action.Claim.class)).extracting(Action.Claim::vipAddress)
                .containsExactly("10.0.0.1");
    }

    @Test
    void aPeerDeclaredDeadThatFencesAnAddressWeTookFromItIsAliveAndNotFoughtOver() {
        // Both sides' probes went unanswered (link cut, ZooKeeper slow): each took the other's
        // address. Without this rule each re-claimed at every fence: a war with overlaps until the
        // link came back.
        Arbiter a = steadyPair(false);
        a.linkLost("b", "heartbeat_timeout", now);
        long nonce = only(a.evaluate(now), Action.Probe.class).getFirst().nonce();
        a.probeWritten("b", nonce, now);
        now += 60;
        assertThat(only(a.evaluate(now), Action.Claim.class)).extracting(Action.Claim::cause)
                .containsExactly(OwnershipCause.PEER_DEAD);
        a.claimDone("10.0.0.2", OwnershipCause.PEER_DEAD, "b", now, 2, now);
        a.evaluate(now);
        now += 30;
        // b, alive, took 10.0.0.2 back (epoch 3) and 10.0.0.1 (epoch 2)
        a.leases(Map.of("10.0.0.1", owned(2, "b", 0x22), "10.0.0.2", owned(3, "b", 0x22)), now);
        List<Action.Release> fenced = only(a.evaluate(now), Action.Release.class);
        assertThat(fenced).extracting(Action.Release::cause).containsOnly(OwnershipCause.FENCED).hasSize(2);
        assertThat(a.peer("b").probe).isEqualTo(Arbiter.ProbeState.ALIVE);
        for (int i = 0; i < 20; i++) {
            now += 20;
            assertThat(only(a.evaluate(now), Action.Claim.class)).as("no claim back while b is alive").isEmpty();
        }
    }
}
