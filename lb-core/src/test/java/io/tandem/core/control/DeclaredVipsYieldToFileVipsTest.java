package io.tandem.core.control;

import static io.tandem.core.control.Rig.endpoint;
import static io.tandem.core.control.Rig.lines;
import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * VIPs declared by discovery (Marathon labels) run beside the file's: one with a file VIP's name
 * or address is ignored with a warning, one that cannot bind is dropped alone (the rest of the
 * change applies), and a change of declared VIPs applies the config in force again, once.
 */
class DeclaredVipsYieldToFileVipsTest {
    private final Rig rig = new Rig();

    private static VipConfig declared(String name, String listen) {
        return new VipConfig(name, HostPort.parse(listen), Protocol.TCP, PolicyKind.MAGLEV, List.of(), Limits.UNLIMITED,
                Timeouts.DEFAULTS, 3, ProxyProtocolVersion.NONE, RelayMode.AUTO, Optional.empty(), HealthPolicy.DEFAULTS,
                Optional.of("orders"));
    }

    private List<Action> discover(Map<String, VipConfig> declared) {
        return rig.run(r -> r.discovered("marathon", Map.of("orders", List.of(endpoint("10.0.0.7:80", false, true))),
                declared, rig.now));
    }

    @Test
    void aDeclaredVipRunsOnItsAddressWithItsServicesBackends() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        List<Action> applied = discover(Map.of("marathon-orders-80-tcp", declared("marathon-orders-80-tcp",
                "10.1.0.9:80")));
        assertThat(only(applied, Action.Bind.class)).extracting(b -> b.config().name())
                .containsExactly("marathon-orders-80-tcp");
        assertThat(Rig.published(applied, "marathon-orders-80-tcp")).containsExactly("10.0.0.7:80");
        assertThat(lines(applied, Level.INFO)).anyMatch(l -> l.startsWith("vip listening vip=marathon-orders-80-tcp")
                && l.endsWith("service=orders origin=discovery"));
        assertThat(only(applied, Action.Applied.class)).as("apply listeners hear of it").hasSize(1);
        assertThat(only(applied, Action.Reply.class)).as("nobody waits for it").isEmpty();
    }

    @Test
    void aDeclaredVipWithAFileVipsAddressIsIgnoredWithAWarning() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        List<Action> ignored = discover(Map.of("m", declared("m", "10.1.0.1:80")));
        assertThat(only(ignored, Action.Bind.class)).isEmpty();
        assertThat(lines(ignored, Level.WARN)).containsExactly("declared vip ignored vip=m listen=10.1.0.1:80 "
                + "reason=\"a config file VIP has the same name or address\"");
        assertThat(rig.r.vips()).extracting(VipState::name).containsExactly("a");
    }

    @Test
    void aDeclaredVipThatCannotBindIsDroppedAloneAndTheRestApplies() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        rig.failBind("bad", "Cannot assign requested address");
        List<Action> applied = discover(Map.of("good", declared("good", "10.1.0.8:80"), "bad",
                declared("bad", "10.1.0.9:80")));
        assertThat(lines(applied, Level.WARN)).containsExactly("declared vip ignored vip=bad listen=10.1.0.9:80 "
                + "reason=\"cannot bind: Cannot assign requested address\"");
        assertThat(rig.r.vips()).extracting(VipState::name).containsExactly("a", "good");
        assertThat(rig.r.generation()).isEqualTo(2);
    }

    @Test
    void declaredVipsThatChangeWhileAConfigBindsAreAppliedOnceAfterIt() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        rig.holdBinds();
        rig.propose(vips(vip("a", 1, "10.0.0.1:80"), vip("b", 2, "10.0.0.2:80")));
        discover(Map.of("x", declared("x", "10.1.0.8:80")));
        discover(Map.of("x", declared("x", "10.1.0.8:80"), "y", declared("y", "10.1.0.9:80")));
        assertThat(rig.heldBinds).extracting(b -> b.config().name()).containsExactly("b");

        List<Action> after = rig.releaseBinds();
        assertThat(only(after, Action.Applied.class)).extracting(Action.Applied::generation).containsExactly(2L, 3L);
        assertThat(only(after, Action.Bind.class)).extracting(b -> b.config().name()).containsExactlyInAnyOrder("x", "y");
        assertThat(rig.r.vips()).extracting(VipState::name).containsExactlyInAnyOrder("a", "b", "x", "y");
    }
}
