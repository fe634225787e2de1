package io.tandem.core.control;

import static io.tandem.core.control.Rig.endpoint;
import static io.tandem.core.control.Rig.lines;
import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.outcome;
import static io.tandem.core.control.Rig.published;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.core.control.NodeControl.Refused;
import io.tandem.core.control.NodeControl.RuntimeBackend;
import io.tandem.core.pool.Backend;
import io.tandem.health.HealthFlag;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * The operator's run-time changes (HAProxy's runtime API over the admin API): a weight, an added
 * backend, a removed static one. Each refuses what is wrong with a reason naming the value, each
 * shows as run-time in the view, and each lives until a reload changes that VIP's backends —
 * then it is dropped, and said so.
 */
class RuntimeChangesTest {
    private static final String CHECK = "health_check: {type: tcp, interval: 100ms, timeout: 200ms, rise: 1, fall: 1}";
    private final Rig rig = new Rig();

    private static RuntimeBackend add(String address, int weight) {
        return new RuntimeBackend(address, weight, null, null, 0);
    }

    private int weightInPool(List<Action> actions, String vip, String backend) {
        List<Action.Publish> p = only(actions, Action.Publish.class).stream()
                .filter(x -> x.vip().name().equals(vip)).toList();
        assertThat(p).as("a pool published for %s", vip).isNotEmpty();
        return p.getLast().pool().backends().stream().filter(b -> b.address().toString().equals(backend))
                .mapToInt(Backend::weight).findFirst().orElseThrow();
    }

    @Test
    void aWeightReachesThePoolAndShowsAsARuntimeChange() {
        rig.propose(vips(vip("web", 1, "10.0.0.1:80, 10.0.0.2:80", "policy: weighted-round-robin")));

        List<Action> set = rig.run(r -> r.setWeight("web", "10.0.0.2:80", 7, rig.now));

        assertThat(weightInPool(set, "web", "10.0.0.2:80")).isEqualTo(7);
        assertThat(lines(set, Level.INFO)).contains(
                "backend weight set vip=web backend=10.0.0.2:80 weight=7 was=1 origin=runtime");
        var view = Views.backend(rig.vip("web"), rig.backend("web", "10.0.0.2:80"));
        assertThat(view.weight()).isEqualTo(7);
        assertThat(view.runtime()).containsExactly("weight");
        assertThat(Views.backend(rig.vip("web"), rig.backend("web", "10.0.0.1:80")).runtime()).isEmpty();
    }

    @Test
    void weightZeroTakesNoNewConnectionsAndIsNotADrain() {
        rig.propose(vips(vip("web", 1, "10.0.0.1:80, 10.0.0.2:80", "slow_start: 10s")));

        List<Action> zero = rig.run(r -> r.setWeight("web", "10.0.0.2:80", 0, rig.now));

        assertThat(weightInPool(zero, "web", "10.0.0.2:80")).as("0 stays 0, even while slow start ramps")
                .isZero();
        assertThat(rig.backend("web", "10.0.0.2:80").flags()).isEmpty();
    }

    @Test
    void aBadWeightOrBackendIsRefusedNamingTheValue() {
        rig.propose(vips(vip("web", 1, "10.0.0.1:80")));

        assertThatThrownBy(() -> rig.run(r -> r.setWeight("web", "10.0.0.1:80", 257, rig.now)))
                .isInstanceOfSatisfying(Refused.class, e -> assertThat(e.kind()).isEqualTo(Refused.Kind.INVALID))
                .hasMessage("weight: 257 (expected 0..256)");
        assertThatThrownBy(() -> rig.run(r -> r.setWeight("web", "10.0.0.1:80", -1, rig.now)))
                .hasMessage("weight: -1 (expected 0..256)");
        assertThatThrownBy(() -> rig.run(r -> r.setWeight("web", "10.0.0.9:80", 3, rig.now)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("VIP \"web\" has no backend 10.0.0.9:80");
        assertThatThrownBy(() -> rig.run(r -> r.setWeight("nope", "10.0.0.1:80", 3, rig.now)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("no VIP named \"nope\"");
        assertThat(rig.backend("web", "10.0.0.1:80").backend().weight()).isEqualTo(1);
        assertThat(rig.vip("web").hasRuntimeChanges()).isFalse();
    }

    @Test
    void anAddedBackendAwaitsItsFirstCheckAndIsMarkedRuntime() {
        rig.propose(vips(vip("web", 1, "10.0.0.1:80", CHECK)));
        rig.run(r -> r.verdict(rig.backend("web", "10.0.0.1:80").checkId, rig.transition(true), rig.now));

        List<Action> added = rig.run(r -> r.addBackend("web", new RuntimeBackend("10.0.0.5:80", 4, "eu", "eu-a", 1),
                rig.now));

        BackendState bs = rig.backend("web", "10.0.0.5:80");
        assertThat(bs.origin()).isEqualTo("runtime");
        assertThat(bs.flags()).containsExactly(HealthFlag.PENDING_FIRST_CHECK);
        assertThat(bs.checkId).as("checked like any other backend").isNotZero();
        assertThat(bs.backend().weight()).isEqualTo(4);
        assertThat(bs.backend().priority()).isEqualTo(1);
        assertThat(bs.backend().locality().zone()).contains("eu-a");
        assertThat(only(added, Action.BindBackend.class)).hasSize(1);
        assertThat(published(added, "web")).containsExactly("10.0.0.1:80");
        assertThat(Views.backend(rig.vip("web"), bs).runtime()).containsExactly("added");

        List<Action> up = rig.run(r -> r.verdict(bs.checkId, rig.transition(true), rig.now));
        assertThat(published(up, "web")).containsExactly("10.0.0.1:80", "10.0.0.5:80");
    }

    @Test
    void anAddIsRefusedForADuplicateAHostNameASelfLoopOrABadValue() {
        rig.propose(vips(vip("web", 1, "10.0.0.1:80"), vip("api", 2, "10.0.0.2:80")));

        assertThatThrownBy(() -> rig.run(r -> r.addBackend("web", add("10.0.0.1:80", 1), rig.now)))
                .isInstanceOfSatisfying(Refused.class, e -> assertThat(e.kind()).isEqualTo(Refused.Kind.CONFLICT))
                .hasMessage("VIP \"web\" already has backend 10.0.0.1:80");
        assertThatThrownBy(() -> rig.run(r -> r.addBackend("web", add("10.1.0.2:80", 1), rig.now)))
                .isInstanceOfSatisfying(Refused.class, e -> assertThat(e.kind()).isEqualTo(Refused.Kind.INVALID))
                .hasMessage("backend: \"10.1.0.2:80\" (expected an address other than this node's own listener "
                        + "vips[api].listen 10.1.0.2:80: a VIP proxying to itself loops)");
        assertThatThrownBy(() -> rig.run(r -> r.addBackend("web", add("backend.example:80", 1), rig.now)))
                .isInstanceOf(Refused.class).hasMessageStartingWith("backend: \"backend.example:80\" (expected an IP");
        assertThatThrownBy(() -> rig.run(r -> r.addBackend("web", add("10.0.0.7", 1), rig.now)))
                .isInstanceOf(Refused.class).hasMessageStartingWith("backend: ");
        assertThatThrownBy(() -> rig.run(r -> r.addBackend("web", add("10.0.0.7:80", 300), rig.now)))
                .hasMessage("weight: 300 (expected 0..256)");
        assertThatThrownBy(() -> rig.run(r -> r.addBackend("web", new RuntimeBackend("10.0.0.7:80", 1, null,
                "bad zone", 0), rig.now))).hasMessageStartingWith("zone: \"bad zone\"");
        assertThatThrownBy(() -> rig.run(r -> r.addBackend("nope", add("10.0.0.7:80", 1), rig.now)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("no VIP named \"nope\"");
        assertThat(rig.vip("web").backends).hasSize(1);
    }

    @Test
    void aRemovedBackendLeavesThePoolWhileItsConnectionsFinish() {
        rig.propose(vips(vip("web", 1, "10.0.0.1:80, 10.0.0.2:80")));
        rig.run(r -> r.addBackend("web", add("10.0.0.3:80", 1), rig.now));

        List<Action> removed = rig.run(r -> r.removeBackend("web", "10.0.0.2:80", rig.now));
        assertThat(published(removed, "web")).containsExactly("10.0.0.1:80", "10.0.0.3:80");
        assertThat(only(removed, Action.BackendRemoved.class)).hasSize(1);
        assertThat(only(removed, Action.CloseConnections.class)).isEmpty();

        List<Action> runtime = rig.run(r -> r.removeBackend("web", "10.0.0.3:80", rig.now));
        assertThat(published(runtime, "web")).containsExactly("10.0.0.1:80");
        assertThat(rig.vip("web").runtimeAdded).isEmpty();

        // Adding a removed static backend back undoes the removal: static again.
        rig.run(r -> r.addBackend("web", add("10.0.0.2:80", 5), rig.now));
        assertThat(rig.backend("web", "10.0.0.2:80").origin()).isEqualTo("static");
        assertThat(rig.backend("web", "10.0.0.2:80").backend().weight()).isEqualTo(5);
        assertThat(rig.vip("web").runtimeRemoved).isEmpty();
    }

    @Test
    void aDiscoveredBackendCannotBeRemovedButCanBeWeighted() {
        rig.propose(Rig.config("discovery: {zookeeper: {connect: \"zk1:2181\"}}\nvips:\n"
                + "  - {name: orders, listen: 10.1.0.1:80, service: orders}\n"));
        rig.run(r -> r.discovered("zookeeper", Map.of("orders", List.of(endpoint("10.0.0.1:80", false, true))),
                Map.of(), rig.now));

        assertThatThrownBy(() -> rig.run(r -> r.removeBackend("orders", "10.0.0.1:80", rig.now)))
                .isInstanceOfSatisfying(Refused.class, e -> assertThat(e.kind()).isEqualTo(Refused.Kind.CONFLICT))
                .hasMessageStartingWith("backend 10.0.0.1:80 of VIP \"orders\" comes from zookeeper:/10.0.0.1:80");

        rig.run(r -> r.setWeight("orders", "10.0.0.1:80", 9, rig.now));
        rig.run(r -> r.discovered("zookeeper", Map.of("orders", List.of(endpoint("10.0.0.1:80", false, true),
                endpoint("10.0.0.2:80", false, true))), Map.of(), rig.now));
        assertThat(rig.backend("orders", "10.0.0.1:80").backend().weight()).as("a discovery update keeps it")
                .isEqualTo(9);

        List<Action> gone = rig.run(r -> r.discovered("zookeeper", Map.of("orders",
                List.of(endpoint("10.0.0.2:80", false, true))), Map.of(), rig.now));
        assertThat(lines(gone, Level.INFO)).contains("runtime change dropped vip=orders backend=10.0.0.1:80 "
                + "change=weight weight=9 reason=\"the backend left the VIP\"");
        assertThat(rig.vip("orders").runtimeWeights).isEmpty();
    }

    @Test
    void aStaticBackendThatDiscoveryAlsoBringsIsNotReportedRemoved() {
        rig.propose(Rig.config("discovery: {zookeeper: {connect: \"zk1:2181\"}}\nvips:\n"
                + "  - {name: orders, listen: 10.1.0.1:80, service: orders, backends: [10.0.0.1:80]}\n"));
        rig.run(r -> r.discovered("zookeeper", Map.of("orders", List.of(endpoint("10.0.0.1:80", false, true))),
                Map.of(), rig.now));

        assertThatThrownBy(() -> rig.run(r -> r.removeBackend("orders", "10.0.0.1:80", rig.now)))
                .isInstanceOfSatisfying(Refused.class, e -> assertThat(e.kind()).isEqualTo(Refused.Kind.CONFLICT))
                .hasMessageContaining("is also wanted by discovery or a host name of the VIP: it stays");
        assertThat(rig.vip("orders").hasRuntimeChanges()).isFalse();
        assertThat(rig.backend("orders", "10.0.0.1:80").origin()).isEqualTo("static");
    }

    @Test
    void runtimeChangesSurviveAReloadThatLeavesTheVipsBackendsAlone() {
        rig.propose(vips(vip("web", 1, "10.0.0.1:80, 10.0.0.2:80"), vip("api", 2, "10.0.0.9:80")));
        rig.run(r -> r.setWeight("web", "10.0.0.1:80", 3, rig.now));
        rig.run(r -> r.addBackend("web", add("10.0.0.3:80", 2), rig.now));
        rig.run(r -> r.removeBackend("web", "10.0.0.2:80", rig.now));

        // Another VIP's backends and this VIP's policy change: not its backends.
        List<Action> reload = rig.propose(vips(vip("web", 1, "10.0.0.1:80, 10.0.0.2:80", "policy: least-connections"),
                vip("api", 2, "10.0.0.9:80, 10.0.0.8:80")));

        assertThat(outcome(reload).applied()).isTrue();
        assertThat(published(reload, "web")).containsExactly("10.0.0.1:80", "10.0.0.3:80");
        assertThat(rig.backend("web", "10.0.0.1:80").backend().weight()).isEqualTo(3);
        assertThat(rig.backend("web", "10.0.0.3:80").origin()).isEqualTo("runtime");
        assertThat(lines(reload, Level.INFO)).noneMatch(l -> l.startsWith("runtime change dropped"));
    }

    @Test
    void aReloadThatChangesTheVipsBackendsDropsEveryRuntimeChangeNamingEach() {
        rig.propose(vips(vip("web", 1, "10.0.0.1:80, 10.0.0.2:80")));
        rig.run(r -> r.setWeight("web", "10.0.0.1:80", 3, rig.now));
        rig.run(r -> r.addBackend("web", add("10.0.0.3:80", 2), rig.now));
        rig.run(r -> r.removeBackend("web", "10.0.0.2:80", rig.now));

        List<Action> reload = rig.propose(vips(vip("web", 1, "10.0.0.1:80, 10.0.0.2:80, 10.0.0.4:80")));

        assertThat(published(reload, "web")).containsExactly("10.0.0.1:80", "10.0.0.2:80", "10.0.0.4:80");
        assertThat(rig.backend("web", "10.0.0.1:80").backend().weight()).isEqualTo(1);
        assertThat(lines(reload, Level.INFO)).contains(
                "runtime change dropped vip=web backend=10.0.0.1:80 change=weight weight=3 reason=\"the reload changed "
                        + "the VIP's backends\"",
                "runtime change dropped vip=web backend=10.0.0.3:80 change=added weight=2 reason=\"the reload changed "
                        + "the VIP's backends\"",
                "runtime change dropped vip=web backend=10.0.0.2:80 change=removed reason=\"the reload changed the "
                        + "VIP's backends\"");
        assertThat(outcome(reload).changes()).contains(
                "dropped run-time weight 3 of backend 10.0.0.1:80 of web (the reload changed the VIP's backends)");
        assertThat(rig.vip("web").hasRuntimeChanges()).isFalse();
    }

    @Test
    void aReloadThatReplacesTheVipsListenerDropsItsRuntimeChanges() {
        rig.propose(vips(vip("web", 1, "10.0.0.1:80")));
        rig.run(r -> r.setWeight("web", "10.0.0.1:80", 3, rig.now));

        List<Action> moved = rig.propose(vips(vip("web", 5, "10.0.0.1:80")));

        assertThat(lines(moved, Level.INFO)).contains("runtime change dropped vip=web backend=10.0.0.1:80 "
                + "change=weight weight=3 reason=\"the reload replaced the VIP's listener\"");
        assertThat(rig.backend("web", "10.0.0.1:80").backend().weight()).isEqualTo(1);
    }
}
