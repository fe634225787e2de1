package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.Locality;
import io.tandem.config.LocalitySettings;
import io.tandem.config.OutlierDetection;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.UdpOptions;
import io.tandem.config.VipConfig;
import io.tandem.config.VipLocality;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.LocalityRouting;
import io.tandem.health.HealthFlag;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pool snapshot applies priority levels and zones outside panic, and panic over the whole set. */
class PoolBuilderLocalityTest {
    private static final Instant NOW = Instant.parse("2026-12-07T10:00:00Z");
    private static final LocalitySettings NODE_A =
            new LocalitySettings(Locality.of("eu", "eu-a"), List.of(), Map.of());
    private static final Set<HealthFlag> DOWN = Set.of(HealthFlag.FAILED_ACTIVE_CHECK);

    private static VipConfig vip(PolicyKind policy, int panicPercent, boolean zoneAware) {
        return new VipConfig("v", HostPort.of("127.0.0.1", 80), Protocol.TCP, policy, List.of(), Limits.UNLIMITED,
                Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY, Optional.empty(),
                new HealthPolicy(false, OutlierDetection.DEFAULTS, panicPercent, Duration.ZERO, false),
                Optional.empty(), UdpOptions.DEFAULTS, new VipLocality(zoneAware, 1, 1.4));
    }

    private static PoolBuilder.Member member(int i, String zone, int priority, Set<HealthFlag> flags) {
        String ip = "127.0.1." + i;
        return new PoolBuilder.Member(Backend.of(HostPort.of(ip, 80),
                new InetSocketAddress(InetAddress.ofLiteral(ip), 80), 1, Locality.of("eu", zone), priority), flags,
                flags.isEmpty() ? NOW.minusSeconds(60) : null);
    }

    private static int picksIn(PoolBuilder.Built built, String zone, int picks) {
        int n = 0;
        for (int i = 0; i < picks; i++) {
            Backend b = built.pool().pick(null, Set.of());
            if (b.locality().zone().orElse("").equals(zone)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void zoneAwarePoolsSendEveryNewConnectionToTheNodesZoneWhileItHasCapacity() {
        var built = PoolBuilder.build(vip(PolicyKind.ROUND_ROBIN, 0, true), List.of(
                member(1, "eu-a", 0, Set.of()), member(2, "eu-a", 0, Set.of()),
                member(3, "eu-b", 0, Set.of()), member(4, "eu-b", 0, Set.of())), NOW, 1, NODE_A);
        assertThat(built.pool().routing().localShare()).isEqualTo(LocalityRouting.SCALE);
        assertThat(picksIn(built, "eu-a", 10_000)).isEqualTo(10_000);
        assertThat(built.pool().backends()).as("zone b stays in the snapshot for retries").hasSize(4);
    }

    @Test
    void aZoneLosingAllItsBackendsSpillsEverythingToTheOtherZone() {
        var built = PoolBuilder.build(vip(PolicyKind.MAGLEV, 0, true), List.of(
                member(1, "eu-a", 0, DOWN), member(2, "eu-a", 0, DOWN),
                member(3, "eu-b", 0, Set.of()), member(4, "eu-b", 0, Set.of())), NOW, 1, NODE_A);
        assertThat(built.panic()).isFalse();
        assertThat(built.pool().routing().localShare()).isZero();
        for (int i = 0; i < 1000; i++) {
            byte[] a = {10, 0, (byte) (i >> 8), (byte) i};
            try {
                assertThat(built.pool().pick(InetAddress.getByAddress(a), Set.of()).locality().zone())
                        .contains("eu-b");
            } catch (java.net.UnknownHostException e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void backupsGetNoNewConnectionsWhilePrimariesAreHealthyAndAllOnceTheyAreDown() {
        List<PoolBuilder.Member> healthy = new ArrayList<>(List.of(member(1, "eu-a", 0, Set.of()),
                member(2, "eu-a", 0, Set.of()), member(9, "eu-a", 1, Set.of())));
        var normal = PoolBuilder.build(vip(PolicyKind.ROUND_ROBIN, 0, false), healthy, NOW, 1, NODE_A);
        for (int i = 0; i < 1000; i++) {
            assertThat(normal.pool().pick(null, Set.of()).priority()).isZero();
        }
        var primariesDown = PoolBuilder.build(vip(PolicyKind.ROUND_ROBIN, 0, false), List.of(
                member(1, "eu-a", 0, DOWN), member(2, "eu-a", 0, DOWN), member(9, "eu-a", 1, Set.of())), NOW, 2,
                NODE_A);
        assertThat(primariesDown.panic()).as("a healthy backup is not a panic").isFalse();
        for (int i = 0; i < 1000; i++) {
            assertThat(primariesDown.pool().pick(null, Set.of()).priority()).isEqualTo(1);
        }
    }

    @Test
    void panicIsDecidedOverTheWholeSetNotPerLevelOrZone() {
        // Level 0 is entirely down, but 1 of 3 backends is eligible: with panic_threshold 30 the
        // VIP is not in panic (33 % >= 30 %), and the backup carries the traffic.
        var notPanic = PoolBuilder.build(vip(PolicyKind.ROUND_ROBIN, 30, true), List.of(
                member(1, "eu-a", 0, DOWN), member(2, "eu-b", 0, DOWN), member(9, "eu-a", 1, Set.of())), NOW, 1,
                NODE_A);
        assertThat(notPanic.panic()).isFalse();
        assertThat(notPanic.pool().backends()).extracting(b -> b.address().host()).containsExactly("127.0.1.9");
        // With panic_threshold 50 the whole set is below it: panic routes to every backend, unsplit.
        var panic = PoolBuilder.build(vip(PolicyKind.ROUND_ROBIN, 50, true), List.of(
                member(1, "eu-a", 0, DOWN), member(2, "eu-b", 0, DOWN), member(9, "eu-a", 1, Set.of())), NOW, 1,
                NODE_A);
        assertThat(panic.panic()).isTrue();
        assertThat(panic.pool().backends()).hasSize(3);
        assertThat(panic.pool().routing()).isEqualTo(LocalityRouting.Plan.NONE);
    }
}
