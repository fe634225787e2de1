package io.tandem.core.control;

import static io.tandem.core.control.Rig.lines;
import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.published;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.pool.Backend;
import io.tandem.health.HealthFlag;
import io.tandem.health.check.AgentState;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * What an agent's answer (HAProxy agent-check) does to a backend: {@code down} sets
 * {@code AGENT_DOWN} with its words as the reason, {@code drain}/{@code maint} their flags,
 * {@code up}/{@code ready} clear only what the agent set, and a percentage scales the weight in
 * force through the same sync as an operator's run-time weight.
 */
class AgentCheckRulesTest {
    private static final String AGENT = "agent_check: {port: 9999, interval: 100ms}";
    private final Rig rig = new Rig();

    private List<Action> answer(String vip, String backend, AgentState state) {
        long id = rig.backend(vip, backend).agentId;
        return rig.run(r -> r.agent(id, state, rig.now));
    }

    private static int weightInPool(List<Action> actions, String vip, String backend) {
        List<Action.Publish> p = only(actions, Action.Publish.class).stream()
                .filter(x -> x.vip().name().equals(vip)).toList();
        assertThat(p).as("a pool published for %s", vip).isNotEmpty();
        return p.getLast().pool().backends().stream().filter(b -> b.address().toString().equals(backend))
                .mapToInt(Backend::weight).findFirst().orElseThrow();
    }

    @Test
    void eachBackendGetsAnAgentCheckBesideItsHealthCheckAndTheConfigDecidesWhich() {
        List<Action> start = rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80",
                "health_check: {type: tcp}", AGENT)));
        assertThat(only(start, Action.StartAgent.class)).hasSize(2)
                .allSatisfy(s -> assertThat(s.spec().port()).isEqualTo(9999));
        assertThat(only(start, Action.StartCheck.class)).as("the agent never replaces the check").hasSize(2);

        assertThat(only(rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80", "health_check: {type: tcp}", AGENT))),
                Action.StartAgent.class)).as("same spec: kept").isEmpty();
        List<Action> off = rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80", "health_check: {type: tcp}")));
        assertThat(only(off, Action.StopAgent.class)).hasSize(2);
        assertThat(rig.backend("a", "10.0.0.1:80").agentId).isZero();
    }

    @Test
    void downEjectsWithTheAgentsReasonAndUpRestores() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80", AGENT)));
        List<Action> down = answer("a", "10.0.0.1:80", AgentState.INITIAL.answered("down # disk full"));
        BackendState bs = rig.backend("a", "10.0.0.1:80");
        assertThat(bs.flags()).containsExactly(HealthFlag.AGENT_DOWN);
        assertThat(bs.recentTransitions().getLast().reason()).isEqualTo("agent says down: disk full");
        assertThat(bs.state()).isEqualTo("down");
        assertThat(published(down, "a")).containsExactly("10.0.0.2:80");
        assertThat(lines(down, Level.INFO)).anyMatch(l -> l.startsWith("backend agent vip=a backend=10.0.0.1:80 "
                + "health=down admin=ready weight=100% reason=\"disk full\""));
        var view = Views.backend(rig.vip("a"), bs).agent();
        assertThat(view.health()).isEqualTo("down");
        assertThat(view.reason()).isEqualTo("disk full");
        assertThat(view.lastAnswer()).isEqualTo("\"down # disk full\"");

        List<Action> up = answer("a", "10.0.0.1:80", bs.agent.answered("up"));
        assertThat(bs.flags()).isEmpty();
        assertThat(published(up, "a")).containsExactly("10.0.0.1:80", "10.0.0.2:80");
    }

    @Test
    void drainAndMaintKeepTheBackendOutEvenInPanicAndReadyClearsOnlyWhatTheAgentSet() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80", AGENT)));
        List<Action> drain = answer("a", "10.0.0.1:80", AgentState.INITIAL.answered("drain"));
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).containsExactly(HealthFlag.AGENT_DRAIN);
        assertThat(rig.backend("a", "10.0.0.1:80").state()).isEqualTo("draining");
        assertThat(published(drain, "a")).containsExactly("10.0.0.2:80");
        assertThat(only(drain, Action.CloseConnections.class)).as("existing connections go on").isEmpty();

        List<Action> maint = answer("a", "10.0.0.2:80", AgentState.INITIAL.answered("maint"));
        assertThat(rig.backend("a", "10.0.0.2:80").state()).isEqualTo("maint");
        assertThat(published(maint, "a")).as("no panic routing to what the agent took out").isEmpty();

        // The operator's drain is the operator's: the agent's ready does not lift it.
        rig.run(r -> r.operator("a", "10.0.0.1:80", NodeControl.BackendAction.DRAIN, rig.now));
        answer("a", "10.0.0.1:80", rig.backend("a", "10.0.0.1:80").agent.answered("ready"));
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).containsExactly(HealthFlag.DRAINING);
        answer("a", "10.0.0.2:80", rig.backend("a", "10.0.0.2:80").agent.answered("ready"));
        assertThat(rig.backend("a", "10.0.0.2:80").flags()).isEmpty();
    }

    @Test
    void aPercentageScalesTheWeightInForceAndAnUnreachableAgentChangesNothing() {
        rig.propose(vips(vip("w", 1, "10.0.0.1:80, 10.0.0.2:80", "policy: weighted-round-robin",
                AGENT.replace("}", ", timeout: 50ms}"))));
        rig.propose(vips(vip("w", 1, "10.0.0.1:80 , {address: 10.0.0.2:80, weight: 10}",
                "policy: weighted-round-robin", AGENT)));
        List<Action> half = answer("w", "10.0.0.2:80", AgentState.INITIAL.answered("50%"));
        assertThat(weightInPool(half, "w", "10.0.0.2:80")).isEqualTo(5);
        assertThat(rig.backend("w", "10.0.0.2:80").flags()).isEmpty();

        List<Action> operator = rig.run(r -> r.setWeight("w", "10.0.0.2:80", 40, rig.now));
        assertThat(weightInPool(operator, "w", "10.0.0.2:80")).as("50% of the operator's 40").isEqualTo(20);

        List<Action> unreachable = answer("w", "10.0.0.2:80",
                rig.backend("w", "10.0.0.2:80").agent.failed("connection refused"));
        assertThat(only(unreachable, Action.Publish.class)).as("nothing to publish").isEmpty();
        assertThat(rig.backend("w", "10.0.0.2:80").backend().weight()).isEqualTo(20);

        List<Action> zero = answer("w", "10.0.0.2:80", rig.backend("w", "10.0.0.2:80").agent.answered("0%"));
        assertThat(weightInPool(zero, "w", "10.0.0.2:80")).as("0% = no new connections").isZero();

        // The agent check goes: what it set goes with it, the weight included.
        List<Action> off = rig.propose(vips(vip("w", 1, "10.0.0.1:80 , {address: 10.0.0.2:80, weight: 10}",
                "policy: weighted-round-robin")));
        assertThat(weightInPool(off, "w", "10.0.0.2:80")).isEqualTo(40);
    }

    @Test
    void aStaleAgentStateIsDropped() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80", AGENT)));
        long old = rig.backend("a", "10.0.0.1:80").agentId;
        rig.propose(vips(vip("a", 1, "10.0.0.1:80", "agent_check: {port: 9998}")));
        List<Action> stale = rig.run(r -> r.agent(old, AgentState.INITIAL.answered("down"), rig.now));
        assertThat(stale).isEmpty();
        assertThat(rig.backend("a", "10.0.0.1:80").flags()).isEmpty();
    }
}
