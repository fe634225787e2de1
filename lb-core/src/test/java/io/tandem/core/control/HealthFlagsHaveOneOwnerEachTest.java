package io.tandem.core.control;

import static io.tandem.core.control.Rig.lines;
import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.published;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.health.HealthFlag;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * Each health flag is set and cleared by its owner only: a check's verdict moves
 * {@code FAILED_ACTIVE_CHECK} and {@code PENDING_FIRST_CHECK}, passive detection
 * {@code EJECTED_PASSIVE} (cleared when the ejection runs out, or when detection is switched off
 * or re-configured), a self-loop {@code SELF_LOOP} (never cleared). Every change publishes.
 */
class HealthFlagsHaveOneOwnerEachTest {
    private static final String CHECK = "health_check: {type: tcp, interval: 100ms, timeout: 200ms, rise: 1, fall: 1}";
    private final Rig rig = new Rig();

    private List<Action> eject(String vip, String backend) {
        VipState vs = rig.vip(vip);
        BackendState bs = rig.backend(vip, backend);
        return rig.run(r -> r.passiveFailure(vs.vip, bs.backend(), "connect failed: connection refused", rig.now,
                "connect", rig.now));
    }

    @Test
    void aCheckVerdictMovesOnlyTheChecksFlags() {
        List<Action> start = rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80", CHECK)));
        assertThat(only(start, Action.StartCheck.class)).hasSize(2);
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).containsExactly(HealthFlag.PENDING_FIRST_CHECK);
        long check = rig.backend("a", "10.0.0.1:80").checkId;

        List<Action> down = rig.run(r -> r.verdict(check, rig.transition(false), rig.now));
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).containsExactly(HealthFlag.FAILED_ACTIVE_CHECK);
        assertThat(lines(down, Level.INFO)).anyMatch(l -> l.startsWith("backend down vip=a backend=10.0.0.1:80 "
                + "flag=FAILED_ACTIVE_CHECK cause=active-check reason=\"refused\""));
        assertThat(only(down, Action.Detected.class)).extracting(Action.Detected::cause).containsExactly("active");
        assertThat(only(down, Action.Publish.class)).hasSize(1);

        eject("a", "10.0.0.1:80");
        rig.run(r -> r.verdict(check, rig.transition(true), rig.now));
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).as("a pass does not lift an ejection")
                .containsExactly(HealthFlag.EJECTED_PASSIVE);
    }

    @Test
    void anEjectionEndsWhenItsTimeIsOverAndIsSharedWithThePeersAndReprobed() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80, 10.0.0.3:80", CHECK)));
        List<Action> ejected = eject("a", "10.0.0.1:80");
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).contains(HealthFlag.EJECTED_PASSIVE);
        assertThat(only(ejected, Action.ProbeNow.class)).hasSize(1);
        assertThat(only(ejected, Action.ShareEjection.class)).extracting(Action.ShareEjection::vip).containsExactly("a");
        Action.Schedule expiry = only(ejected, Action.Schedule.class).getFirst();
        assertThat(expiry.timer()).isInstanceOf(Action.Timer.EjectionExpiry.class);
        assertThat(expiry.delay()).isEqualTo(Duration.ofMillis(1001)); // base_ejection_time 1s, +1 ms

        rig.advance(expiry.delay());
        List<Action> over = rig.run(r -> r.timer(expiry.timer(), rig.now));
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).doesNotContain(HealthFlag.EJECTED_PASSIVE);
        assertThat(lines(over, Level.INFO)).anyMatch(l -> l.startsWith("backend ejection over vip=a backend=10.0.0.1:80"));
    }

    @Test
    void switchingPassiveDetectionOffOrChangingItEndsTheEjectionsItMade() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80")));
        eject("a", "10.0.0.1:80");
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).containsExactly(HealthFlag.EJECTED_PASSIVE);
        // A new detector knows nothing of the old one's ejections: they end with it.
        List<Action> changed = rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80",
                "outlier_detection: {base_ejection_time: 5s}")));
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).isEmpty();
        assertThat(rig.backend("a", "10.0.0.1:80").recentTransitions().getLast().reason())
                .isEqualTo("passive detection settings changed");
        assertThat(only(changed, Action.Cancel.class)).extracting(Action.Cancel::timer)
                .hasOnlyElementsOfType(Action.Timer.EjectionExpiry.class).hasSize(1);

        eject("a", "10.0.0.1:80");
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80", "outlier_detection: {consecutive_failures: 0}")));
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).isEmpty();
        assertThat(rig.backend("a", "10.0.0.1:80").recentTransitions().getLast().reason())
                .isEqualTo("passive detection switched off");
        assertThat(eject("a", "10.0.0.1:80")).as("no detector, no ejection").isEmpty();
    }

    @Test
    void aReloadThatEndsEjectionsAndAddsABackendPublishesOnceAndNeverTheNewBackendUnchecked() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80", CHECK)));
        for (String b : List.of("10.0.0.1:80", "10.0.0.2:80")) {
            long id = rig.backend("a", b).checkId;
            rig.run(r -> r.verdict(id, rig.transition(true), rig.now));
        }
        eject("a", "10.0.0.1:80");
        List<Action> next = rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80, 10.0.0.3:80", CHECK,
                "outlier_detection: {base_ejection_time: 5s}")));
        assertThat(only(next, Action.Publish.class)).singleElement().satisfies(p ->
                assertThat(p.pool().backends()).extracting(b -> b.address().toString())
                        .containsExactly("10.0.0.1:80", "10.0.0.2:80"));
        assertThat(rig.backend("a", "10.0.0.3:80").flags()).containsExactly(HealthFlag.PENDING_FIRST_CHECK);
    }

    @Test
    void aSelfLoopFlagsItsBackendOnceAndSaysSoOnce() {
        rig.propose(vips(vip("v", 1, "10.0.0.1:9001, 10.0.0.2:9002")));
        VipState vs = rig.vip("v");
        BackendState b = rig.backend("v", "10.0.0.2:9002");
        List<Action> all = new java.util.ArrayList<>();
        for (int i = 0; i < 3; i++) {
            all.addAll(rig.run(r -> r.selfLoop(vs.vip, b.backend(), rig.now)));
        }
        assertThat(b.flags()).containsExactly(HealthFlag.SELF_LOOP);
        assertThat(b.recentTransitions()).singleElement().satisfies(t -> {
            assertThat(t.flag()).isEqualTo(HealthFlag.SELF_LOOP);
            assertThat(t.set()).isTrue();
        });
        assertThat(rig.backend("v", "10.0.0.1:9001").flags()).isEmpty();
        assertThat(only(all, Action.Publish.class)).hasSize(1);
        assertThat(published(all, "v")).containsExactly("10.0.0.1:9001");
        assertThat(lines(all, Level.WARN)).singleElement().asString()
                .startsWith("backend self-loop vip=v backend=10.0.0.2:9002").contains("flag=SELF_LOOP");
    }

    @Test
    void aSignalForAReplacedVipOrAGoneBackendChangesNothing() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80")));
        VipState old = rig.vip("a");
        BackendState gone = rig.backend("a", "10.0.0.1:80");
        rig.propose(vips(vip("a", 2, "10.0.0.1:80, 10.0.0.2:80"))); // new listen address: a new VIP state
        assertThat(rig.run(r -> r.passiveFailure(old.vip, gone.backend(), "refused", rig.now, "connect", rig.now)))
                .isEmpty();
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).isEmpty();
    }
}
