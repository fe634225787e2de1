package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.OutlierDetection;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import io.tandem.core.pool.Backend;
import io.tandem.health.HealthFlag;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Eligibility, panic and slow-start rules of the pool a VIP publishes. */
class PoolBuilderTest {
    private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");

    private static VipConfig vip(int panicPercent, Duration slowStart) {
        return new VipConfig("v", HostPort.of("127.0.0.1", 80), Protocol.TCP, PolicyKind.WEIGHTED_ROUND_ROBIN,
                List.of(), Limits.UNLIMITED, Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY,
                Optional.empty(), new HealthPolicy(false, OutlierDetection.DEFAULTS, panicPercent, slowStart, false),
                Optional.empty());
    }

    private static VipConfig closingVip(int panicPercent) {
        return new VipConfig("v", HostPort.of("127.0.0.1", 80), Protocol.TCP, PolicyKind.ROUND_ROBIN,
                List.of(), Limits.UNLIMITED, Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY,
                Optional.empty(), new HealthPolicy(false, OutlierDetection.DEFAULTS, panicPercent, Duration.ZERO, true),
                Optional.empty());
    }

    private static PoolBuilder.Member member(int i, int weight, Set<HealthFlag> flags, Instant since) {
        return new PoolBuilder.Member(Backend.of(HostPort.of("127.0.0." + i, 80), weight), flags, since);
    }

    @Test
    void closeOnBackendDownCutsBackendsDownByACheckOrAnEjectionButNotDrainedOnes() {
        var b = PoolBuilder.build(closingVip(0), List.of(
                member(1, 1, Set.of(), NOW),
                member(2, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null),
                member(3, 1, Set.of(HealthFlag.EJECTED_PASSIVE), null),
                member(4, 1, Set.of(HealthFlag.DRAINING), null),
                member(5, 1, Set.of(HealthFlag.PENDING_FIRST_CHECK), null)), NOW, 1);
        assertThat(b.pool().cut()).extracting(x -> x.address().host()).containsExactlyInAnyOrder("127.0.0.2", "127.0.0.3");
        assertThat(b.pool().cuts(b.pool().backends().getFirst())).isFalse();
    }

    @Test
    void nothingIsCutInPanicOrWithoutCloseOnBackendDown() {
        List<PoolBuilder.Member> allDown = List.of(
                member(1, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null),
                member(2, 1, Set.of(HealthFlag.EJECTED_PASSIVE), null));
        // In panic the pool still routes to them: cutting their connections would only hurt.
        var panic = PoolBuilder.build(closingVip(0), allDown, NOW, 1);
        assertThat(panic.panic()).isTrue();
        assertThat(panic.pool().cut()).isEmpty();
        var threshold = PoolBuilder.build(closingVip(60), List.of(
                member(1, 1, Set.of(), NOW), member(2, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null)), NOW, 1);
        assertThat(threshold.panic()).as("1 of 2 eligible < 60 %").isTrue();
        assertThat(threshold.pool().cut()).isEmpty();
        var off = PoolBuilder.build(vip(0, Duration.ZERO), List.of(
                member(1, 1, Set.of(), NOW), member(2, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null)), NOW, 1);
        assertThat(off.pool().cut()).isEmpty();
    }

    @Test
    void onlyBackendsWithoutFlagsAreRouted() {
        var b = PoolBuilder.build(vip(0, Duration.ZERO), List.of(
                member(1, 1, Set.of(), NOW),
                member(2, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null),
                member(3, 1, Set.of(HealthFlag.PENDING_FIRST_CHECK), null)), NOW, 7);
        assertThat(b.panic()).isFalse();
        assertThat(b.pool().backends()).extracting(x -> x.address().host()).containsExactly("127.0.0.1");
        assertThat(b.pool().generation()).isEqualTo(7);
    }

    @Test
    void withNoEligibleBackendPanicRoutesToAllButOperatorDrainedOrDisabledOnes() {
        var b = PoolBuilder.build(vip(0, Duration.ZERO), List.of(
                member(1, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null),
                member(2, 1, Set.of(HealthFlag.EJECTED_PASSIVE), null),
                member(3, 1, Set.of(HealthFlag.DRAINING), null),
                member(4, 1, Set.of(HealthFlag.DISABLED, HealthFlag.FAILED_ACTIVE_CHECK), null)), NOW, 1);
        assertThat(b.panic()).isTrue();
        assertThat(b.pool().panic()).isTrue();
        assertThat(b.pool().backends()).extracting(x -> x.address().host()).containsExactly("127.0.0.1", "127.0.0.2");
    }

    private static final Set<HealthFlag> PENDING = Set.of(HealthFlag.PENDING_FIRST_CHECK);

    @Test
    void atStartEveryBackendAwaitingItsFirstCheckIsWarmingNotPanicAndRoutesToThem() {
        var b = PoolBuilder.build(vip(0, Duration.ZERO), List.of(
                member(1, 1, PENDING, null), member(2, 1, PENDING, null), member(3, 1, PENDING, null)), NOW, 1);
        assertThat(b.warming()).isTrue();
        assertThat(b.panic()).as("the normal start of a VIP with a check is not a panic").isFalse();
        assertThat(b.pool().panic()).isFalse();
        assertThat(b.eligible()).isZero();
        assertThat(b.awaiting()).isEqualTo(3);
        assertThat(b.pool().backends()).extracting(x -> x.address().host())
                .containsExactly("127.0.0.1", "127.0.0.2", "127.0.0.3");
    }

    @Test
    void asSoonAsOneBackendPassesOnlyCheckedBackendsGetTraffic() {
        var b = PoolBuilder.build(vip(0, Duration.ZERO), List.of(
                member(1, 1, PENDING, null), member(2, 1, Set.of(), NOW), member(3, 1, PENDING, null)), NOW, 2);
        assertThat(b.warming()).isFalse();
        assertThat(b.panic()).isFalse();
        assertThat(b.pool().backends()).extracting(x -> x.address().host()).containsExactly("127.0.0.2");
    }

    @Test
    void whileWarmingABackendKnownToFailIsLeftOutAndNothingIsCut() {
        var b = PoolBuilder.build(closingVip(0), List.of(
                member(1, 1, PENDING, null),
                member(2, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null),
                member(3, 1, Set.of(HealthFlag.PENDING_FIRST_CHECK, HealthFlag.EJECTED_PASSIVE), null),
                member(4, 1, Set.of(HealthFlag.PENDING_FIRST_CHECK, HealthFlag.DRAINING), null)), NOW, 1);
        assertThat(b.warming()).isTrue();
        assertThat(b.panic()).isFalse();
        // Only the backend with nothing against it but a missing first verdict: not the failed one, not the
        // one refusing connections meanwhile (ejected), not the drained one.
        assertThat(b.pool().backends()).extracting(x -> x.address().host()).containsExactly("127.0.0.1");
        assertThat(b.pool().cut()).as("no backend is known good yet: keep what is connected").isEmpty();
    }

    @Test
    void whenTheLastAwaitingBackendFailsTooItIsAPanic() {
        var b = PoolBuilder.build(vip(0, Duration.ZERO), List.of(
                member(1, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null),
                member(2, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null)), NOW, 3);
        assertThat(b.warming()).isFalse();
        assertThat(b.panic()).isTrue();
        assertThat(b.pool().backends()).hasSize(2);
    }

    @Test
    void backendsAwaitingTheirFirstCheckDoNotCountInThePanicShare() {
        // 1 up, 3 not checked yet, threshold 50 %: 1 of the 1 backend with a verdict is up, no panic, and the
        // unchecked ones get nothing (the old rule counted them as failures: 1/4 < 50 % → panic to all four).
        var b = PoolBuilder.build(vip(50, Duration.ZERO), List.of(
                member(1, 1, Set.of(), NOW), member(2, 1, PENDING, null), member(3, 1, PENDING, null),
                member(4, 1, PENDING, null)), NOW, 1);
        assertThat(b.panic()).isFalse();
        assertThat(b.warming()).isFalse();
        assertThat(b.pool().backends()).extracting(x -> x.address().host()).containsExactly("127.0.0.1");
        // With verdicts in, the threshold applies as before: 1 up of 2 judged is 50 %, not below it.
        var judged = PoolBuilder.build(vip(50, Duration.ZERO), List.of(
                member(1, 1, Set.of(), NOW), member(2, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null),
                member(3, 1, PENDING, null)), NOW, 2);
        assertThat(judged.panic()).isFalse();
        var below = PoolBuilder.build(vip(51, Duration.ZERO), List.of(
                member(1, 1, Set.of(), NOW), member(2, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null),
                member(3, 1, PENDING, null)), NOW, 3);
        assertThat(below.panic()).isTrue();
        assertThat(below.pool().backends()).as("panic routes to every backend not taken out by an operator")
                .hasSize(3);
    }

    @Test
    void onlyOperatorFlaggedBackendsMeansAnEmptyPoolNotPanic() {
        var b = PoolBuilder.build(vip(50, Duration.ZERO), List.of(member(1, 1, Set.of(HealthFlag.DISABLED), null)),
                NOW, 1);
        assertThat(b.panic()).isFalse();
        assertThat(b.pool().backends()).isEmpty();
    }

    @Test
    void panicThresholdIsAShareOfTheBackendsAnOperatorHasNotTakenOut() {
        List<PoolBuilder.Member> oneOfFourUp = List.of(
                member(1, 1, Set.of(), NOW),
                member(2, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null),
                member(3, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null),
                member(4, 1, Set.of(HealthFlag.FAILED_ACTIVE_CHECK), null));
        assertThat(PoolBuilder.build(vip(25, Duration.ZERO), oneOfFourUp, NOW, 1).panic()).isFalse();
        assertThat(PoolBuilder.build(vip(26, Duration.ZERO), oneOfFourUp, NOW, 1).panic()).isTrue();
        assertThat(PoolBuilder.build(vip(26, Duration.ZERO), oneOfFourUp, NOW, 1).pool().backends()).hasSize(4);
    }

    @Test
    void slowStartRampsARecoveredBackendsWeightAcrossTheWindow() {
        Duration window = Duration.ofSeconds(10);
        List<PoolBuilder.Member> ms = List.of(
                member(1, 2, Set.of(), NOW.minusSeconds(60)),
                member(2, 2, Set.of(), NOW.minusSeconds(3)));
        var b = PoolBuilder.build(vip(0, window), ms, NOW, 1);
        assertThat(b.ramping()).isTrue();
        assertThat(b.pool().backends()).extracting(Backend::weight).containsExactly(200, 60);
        var later = PoolBuilder.build(vip(0, window), ms, NOW.plusSeconds(7), 2);
        assertThat(later.ramping()).isFalse();
        assertThat(later.pool().backends()).extracting(Backend::weight).containsExactly(2, 2);
    }

    @Test
    void rampingBackendStartsAtOnePercentNotZero() {
        var b = PoolBuilder.build(vip(0, Duration.ofSeconds(10)), List.of(
                member(1, 1, Set.of(), NOW.minusSeconds(60)), member(2, 1, Set.of(), NOW)), NOW, 1);
        assertThat(b.pool().backends()).extracting(Backend::weight).containsExactly(100, 1);
    }

    @Test
    void reweightedBackendIsStillTheSameBackendForRetries() {
        Backend b = Backend.of(HostPort.of("127.0.0.1", 80), 1);
        assertThat(b.withWeight(50)).isEqualTo(b).hasSameHashCodeAs(b);
        assertThat(Backend.of(HostPort.of("127.0.0.1", 80), 1)).isNotEqualTo(b);
    }
}
