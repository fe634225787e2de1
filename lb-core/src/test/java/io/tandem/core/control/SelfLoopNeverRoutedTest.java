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

/** A backend that leads back into this node can never serve: it is not routed, not even in panic. */
class SelfLoopNeverRoutedTest {
    private static final Instant NOW = Instant.parse("2026-12-07T10:00:00Z");

    private static VipConfig vip() {
        return new VipConfig("v", HostPort.of("127.0.0.1", 80), Protocol.TCP, PolicyKind.ROUND_ROBIN, List.of(),
                Limits.UNLIMITED, Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.COPY, Optional.empty(),
                new HealthPolicy(false, OutlierDetection.DEFAULTS, 0, Duration.ZERO, false), Optional.empty());
    }

    private static PoolBuilder.Member member(int i, Set<HealthFlag> flags) {
        return new PoolBuilder.Member(Backend.of(HostPort.of("127.0.0." + i, 80), 1), flags, flags.isEmpty() ? NOW : null);
    }

    @Test
    void aSelfLoopIsLeftOutEvenWhenPanicRoutesToEveryOtherBackend() {
        var b = PoolBuilder.build(vip(), List.of(member(1, Set.of(HealthFlag.SELF_LOOP)),
                member(2, Set.of(HealthFlag.FAILED_ACTIVE_CHECK))), NOW, 1);
        assertThat(b.panic()).isTrue();
        assertThat(b.pool().backends()).extracting(x -> x.address().host()).containsExactly("127.0.0.2");
    }

    @Test
    void aVipWhoseOnlyBackendIsASelfLoopRefusesRatherThanLoops() {
        var b = PoolBuilder.build(vip(), List.of(member(1, Set.of(HealthFlag.SELF_LOOP))), NOW, 1);
        assertThat(b.pool().backends()).isEmpty();
        assertThat(b.eligible()).isZero();
    }
}
