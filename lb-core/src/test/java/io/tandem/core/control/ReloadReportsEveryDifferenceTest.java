package io.tandem.core.control;

import static io.tandem.core.control.Rig.lines;
import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.outcome;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeControl.ReloadOutcome;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * The reload diff: each VIP and backend change is a line of {@code changes}; what a kept listener
 * cannot take (its UDP options) is a line of {@code needsRestart}, said again on every reload, and
 * the VIP keeps running with the options it was bound with.
 */
class ReloadReportsEveryDifferenceTest {
    private final Rig rig = new Rig();

    @Test
    void backendsVipsAndFieldsThatChangeAreEachALine() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80"), vip("gone", 2, "10.0.0.5:80")));
        List<Action> next = rig.propose(vips(vip("a", 1, "10.0.0.2:80, 10.0.0.3:80", "policy: maglev")));
        ReloadOutcome o = outcome(next);
        assertThat(o.changes()).containsExactlyInAnyOrder("removed vip gone", "updated vip a (policy, backends)",
                "removed backend 10.0.0.1:80 from a", "added backend 10.0.0.3:80 to a");
        assertThat(o.needsRestart()).isEmpty();
        assertThat(only(next, Action.BackendRemoved.class)).extracting(b -> b.backend().address().toString())
                .containsExactly("10.0.0.1:80");
        assertThat(only(next, Action.CloseConnections.class)).as("a reload never cuts a connection").isEmpty();
        assertThat(lines(next, Level.INFO)).anyMatch(l -> l.equals("vip removed vip=gone listen=10.1.0.2:80"))
                .anyMatch(l -> l.startsWith("config applied why=reload generation=2 vips=1 changes=4 needs_restart=0"));
    }

    @Test
    void udpOptionsOfAListenerThatStaysNeedARestartAndKeepTheirRunningValue() {
        String udp = "protocol: udp";
        rig.propose(vips(vip("dns", 1, "10.0.0.1:53", udp, "udp: {session_idle: 30s}")));
        List<Action> next = rig.propose(vips(vip("dns", 1, "10.0.0.1:53", udp, "udp: {session_idle: 5s}")));
        ReloadOutcome o = outcome(next);
        assertThat(o.applied()).isTrue();
        assertThat(o.changes()).isEmpty();
        assertThat(o.needsRestart()).containsExactly("vips[dns].udp.session_idle: 30s → 5s (needs a restart)");
        assertThat(lines(next, Level.WARN)).containsExactly("config change not applied why=reload "
                + "change=\"vips[dns].udp.session_idle: 30s → 5s (needs a restart)\"");
        assertThat(rig.vip("dns").config.udp().sessionIdle()).isEqualTo(Duration.ofSeconds(30));
        assertThat(rig.r.config().vips().getFirst().udp().sessionIdle()).as("the config in force says what runs")
                .isEqualTo(Duration.ofSeconds(30));
        // Said again on the next reload, until a restart (or a new listen address).
        assertThat(outcome(rig.propose(vips(vip("dns", 1, "10.0.0.1:53", udp, "udp: {session_idle: 5s}"))))
                .needsRestart()).hasSize(1);
    }

    @Test
    void theConfigInForceIsHandedToTheApplyListenersAfterTheSwap() {
        List<Action> first = rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        Action.Applied applied = only(first, Action.Applied.class).getFirst();
        assertThat(applied.generation()).isEqualTo(1);
        assertThat(applied.config()).isSameAs(rig.r.config());
        assertThat(Rig.indexOf(first, Action.Applied.class)).isLessThan(Rig.indexOf(first, Action.Reply.class));
        assertThat(only(first, Action.ConfigureDiscovery.class)).hasSize(1);
    }
}
