package io.tandem.core.control;

import static io.tandem.core.control.Rig.endpoint;
import static io.tandem.core.control.Rig.lines;
import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.published;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeControl.BackendAction;
import io.tandem.health.HealthFlag;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * A discovery snapshot re-syncs the VIPs bound to its service: a new endpoint joins, one that
 * drains in its source ({@code TASK_KILLING}) takes no new connections, one the source calls
 * unhealthy neither, and one that is gone leaves the pool while its connections finish.
 */
class DiscoverySyncAddsAndDrainsBackendsTest {
    private final Rig rig = new Rig();

    /** A VIP bound to service "orders" of a ZooKeeper source (the source itself never runs here). */
    private static io.tandem.config.TandemConfig orders(String more) {
        return Rig.config("discovery: {zookeeper: {connect: \"zk1:2181\"}}\nvips:\n"
                + "  - {name: orders, listen: 10.1.0.1:80, service: orders" + more + "}\n");
    }

    private List<Action> discover(Discovery.Resolved... endpoints) {
        return rig.run(r -> r.discovered("zookeeper", Map.of("orders", List.of(endpoints)), Map.of(), rig.now));
    }

    @Test
    void endpointsJoinDrainAndLeaveTheServicesVip() {
        rig.propose(orders(""));

        List<Action> joined = discover(endpoint("10.0.0.1:80", false, true), endpoint("10.0.0.2:80", false, true),
                endpoint("10.0.0.3:80", false, true));
        assertThat(published(joined, "orders")).containsExactly("10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80");
        assertThat(only(joined, Action.BindBackend.class)).hasSize(3);
        assertThat(lines(joined, Level.INFO)).contains("discovery applied source=zookeeper changes=3");

        List<Action> draining = discover(endpoint("10.0.0.1:80", true, true), endpoint("10.0.0.2:80", false, false),
                endpoint("10.0.0.3:80", false, true));
        assertThat(published(draining, "orders")).containsExactly("10.0.0.3:80");
        assertThat(rig.backend("orders", "10.0.0.1:80").flags()).containsExactly(HealthFlag.DRAINING);
        assertThat(rig.backend("orders", "10.0.0.2:80").flags()).containsExactly(HealthFlag.UNHEALTHY_IN_SOURCE);
        assertThat(rig.backend("orders", "10.0.0.1:80").recentTransitions().getLast().reason())
                .isEqualTo("draining in source zookeeper:/10.0.0.1:80");
        assertThat(only(draining, Action.CloseConnections.class)).as("a drain lets connections finish").isEmpty();

        List<Action> gone = discover(endpoint("10.0.0.2:80", false, true), endpoint("10.0.0.3:80", false, true));
        assertThat(published(gone, "orders")).containsExactly("10.0.0.2:80", "10.0.0.3:80");
        assertThat(only(gone, Action.BackendRemoved.class)).extracting(b -> b.backend().address().toString())
                .containsExactly("10.0.0.1:80");
        assertThat(only(gone, Action.CloseConnections.class)).isEmpty();
    }

    @Test
    void aSourcesDrainIsNotTheOperatorsToLiftNorTheOperatorsTheSources() {
        rig.propose(orders(""));
        discover(endpoint("10.0.0.1:80", true, true));
        rig.run(r -> r.operator("orders", "10.0.0.1:80", BackendAction.ENABLE, rig.now));
        assertThat(rig.backend("orders", "10.0.0.1:80").flags()).containsExactly(HealthFlag.DRAINING);

        rig.run(r -> r.operator("orders", "10.0.0.1:80", BackendAction.DRAIN, rig.now));
        discover(endpoint("10.0.0.1:80", false, true)); // the source no longer drains it
        assertThat(rig.backend("orders", "10.0.0.1:80").flags()).as("the operator's drain stays")
                .containsExactly(HealthFlag.DRAINING);
        rig.run(r -> r.operator("orders", "10.0.0.1:80", BackendAction.ENABLE, rig.now));
        assertThat(rig.backend("orders", "10.0.0.1:80").flags()).isEmpty();
    }

    @Test
    void aFileBackendWinsOverTheSameAddressFromDiscovery() {
        rig.propose(orders(", backends: [10.0.0.1:80]"));
        discover(endpoint("10.0.0.1:80", true, false));
        BackendState bs = rig.backend("orders", "10.0.0.1:80");
        assertThat(bs.origin()).isEqualTo("static");
        assertThat(bs.flags()).isEmpty();
    }

    @Test
    void aSnapshotBeforeAnyConfigIsKeptForTheFirstOne() {
        discover(endpoint("10.0.0.1:80", false, true));
        List<Action> first = rig.propose(orders(""));
        assertThat(published(first, "orders")).containsExactly("10.0.0.1:80");
    }
}
