package io.tandem.core.control;

import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.outcome;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.Transaction.Proposal;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Configs are applied one at a time, in order: one that arrives while another binds waits for it,
 * and none starts while a listener is still closing (it may want that address back).
 */
class ConfigsApplyOneAtATimeTest {
    private final Rig rig = new Rig();

    @Test
    void aConfigProposedWhileAnotherBindsWaitsForItThenDiffsAgainstIt() {
        rig.holdBinds();
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        List<Action> second = rig.propose(vips(vip("a", 1, "10.0.0.1:80"), vip("b", 2, "10.0.0.2:80")));
        assertThat(only(second, Action.Bind.class)).as("nothing of the second before the first is in").isEmpty();

        List<Action> both = rig.releaseBinds();
        List<Action.Reply> replies = only(both, Action.Reply.class);
        assertThat(replies).extracting(Action.Reply::request).containsExactly(1L, 2L);
        assertThat(replies.get(1).outcome().changes()).anyMatch(c -> c.startsWith("listening vip b on"))
                .noneMatch(c -> c.startsWith("listening vip a on"));
        assertThat(only(both, Action.Bind.class)).extracting(b -> b.config().name()).containsExactly("b");
        assertThat(rig.r.generation()).isEqualTo(2);
    }

    @Test
    void aConfigWaitsForTheListenersTheLastOneClosed() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        rig.holdCloses();
        List<Action> removed = rig.propose(vips(vip("b", 2, "10.0.0.2:80")));
        assertThat(only(removed, Action.CloseListener.class)).extracting(Action.CloseListener::vip)
                .containsExactly("a");
        assertThat(outcome(removed).changes()).contains("removed vip a");

        // a comes back on its old address: its bind must not race the close still under way.
        List<Action> back = rig.propose(vips(vip("a", 1, "10.0.0.1:80"), vip("b", 2, "10.0.0.2:80")));
        assertThat(back).isEmpty();
        List<Action> after = rig.releaseCloses();
        assertThat(only(after, Action.Bind.class)).extracting(b -> b.config().name()).containsExactly("a");
        assertThat(outcome(after).applied()).isTrue();
    }

    @Test
    void shutdownWhileBindingClosesWhatWasBoundAndTakesNothingNew() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        rig.holdBinds();
        rig.propose(vips(vip("a", 1, "10.0.0.1:80"), vip("b", 2, "10.0.0.2:80")));
        List<Action> stop = rig.run(r -> r.stopAccepting(rig.now));
        assertThat(only(stop, Action.CloseListener.class)).extracting(Action.CloseListener::vip).containsExactly("a");

        List<Action> after = rig.releaseBinds();
        assertThat(only(after, Action.CloseListener.class)).extracting(Action.CloseListener::vip)
                .containsExactly("b");
        assertThat(outcome(after).applied()).isTrue();
        assertThat(rig.r.vips()).extracting(VipState::name).containsExactly("a");
        assertThat(rig.r.ready(rig.now)).isFalse();
    }

    @Test
    void aBindAnsweredAfterTheNodeStoppedIsClosed() {
        rig.holdBinds();
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        Action.Bind bind = rig.heldBinds.getFirst();
        rig.run(r -> r.close(rig.now));
        BoundListener late = rig.listener("10.1.0.1");
        List<Action> closed = rig.run(r -> r.bound(bind.transaction(), "a", late, rig.now));
        assertThat(only(closed, Action.CloseListener.class)).singleElement()
                .satisfies(c -> assertThat(c.listener()).isSameAs(late));
    }

    @Test
    void aDiscoveryReapplyBeforeAnyConfigDoesNothing() {
        List<Action> none = rig.run(r -> r.propose(new Proposal(0, null, "discovery:marathon", null), rig.now));
        assertThat(none).isEmpty();
        assertThat(rig.r.config()).isNull();
        assertThat(rig.propose(vips(vip("a", 1, "10.0.0.1:80")))).isNotEmpty();
        assertThat(rig.r.config().vips()).hasSize(1);
    }
}
