package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.pool.Backend;
import io.tandem.core.vip.Vip;
import io.tandem.health.HealthFlag;
import io.tandem.sys.Errno;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The passive signals as the data path reports them, through to the reconciler: the node's own
 * resource errors never count against a backend (whoever reports them), a backend's own failure
 * ejects it, and only a success that ends a failure streak reaches the control loop at all.
 */
class PassiveSignalsTest {
    private final Rig rig = new Rig();
    private final List<Effects.Input> posted = new ArrayList<>();
    private final PassiveSignals signals = new PassiveSignals(Clock.fixed(rig.now, ZoneOffset.UTC), posted::add);
    private Vip vip;
    private Backend a;

    @BeforeEach
    void start() {
        rig.propose(Rig.vips(Rig.vip("v", 1, "127.0.0.1:9001, 127.0.0.1:9002")));
        vip = rig.vip("v").vip;
        a = rig.backend("v", "127.0.0.1:9001").backend();
    }

    /** What the loop would do with the posted inputs. */
    private List<Action> deliver() {
        List<Action> out = new ArrayList<>();
        for (Effects.Input in : List.copyOf(posted)) {
            out.addAll(rig.run(r -> in.to(r, rig.now)));
        }
        posted.clear();
        return out;
    }

    @Test
    void theNodesOwnResourceErrorsNeverCountAgainstABackend() {
        for (int i = 0; i < 5; i++) {
            signals.connectFailed(vip, a, new IOException("socket(..) failed: Too many open files"), 0);
            signals.connectFailed(vip, a, new Errno.ConnectErrnoException("connect(..) failed: Cannot assign "
                    + "requested address: /127.0.0.1:9001", Errno.EADDRNOTAVAIL), 0);
        }
        assertThat(posted).isEmpty();
        assertThat(a.stats().failureStreak.get()).isZero();

        // The same path ejects on a refusal: the backend's own failure.
        signals.connectFailed(vip, a, new ConnectException("connect(..) failed: Connection refused"), 0);
        List<Action> out = deliver();
        assertThat(rig.backend("v", "127.0.0.1:9001").flags()).containsExactly(HealthFlag.EJECTED_PASSIVE);
        assertThat(rig.backend("v", "127.0.0.1:9001").recentTransitions().getLast().reason())
                .endsWith("connect failed: connection refused; ejection #1 for 1000 ms");
        assertThat(Rig.only(out, Action.Count.class)).anyMatch(c -> c.tags().equals(List.of("vip", "v", "kind",
                "connect")));
    }

    @Test
    void onlyASuccessThatEndsAStreakReachesTheLoop() {
        signals.connected(vip, a, 0);
        assertThat(posted).isEmpty();
        signals.connectFailed(vip, a, new ConnectException("Connection refused"), 0);
        signals.connected(vip, a, 0);
        signals.connected(vip, a, 0);
        assertThat(posted).hasSize(2);
        assertThat(a.stats().failureStreak.get()).isZero();
    }

    @Test
    void aResponseTimeoutSaysHowLongTheBackendWasSilentAndIsNoConnectFailure() {
        signals.responseTimedOut(vip, a, 1_500_000_000L);
        assertThat(a.stats().failureStreak.get()).isZero();
        deliver();
        assertThat(rig.backend("v", "127.0.0.1:9001").recentTransitions().getLast().reason())
                .contains("no response within 1500 ms of client data");
    }
}
