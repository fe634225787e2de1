package io.tandem.core.control;

import static io.tandem.core.control.Rig.indexOf;
import static io.tandem.core.control.Rig.lines;
import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.outcome;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeControl.ReloadOutcome;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * A config with new VIPs is applied only once every new listener is bound ("binding" is a state
 * of the reconciler, not a wait on the control thread); one file VIP that cannot bind rejects the
 * whole config, closes what was bound for it and changes nothing else.
 */
class ReloadBindsAllOrNothingTest {
    private final Rig rig = new Rig();

    @Test
    void nothingIsSwappedUntilTheLastBindIsBack() {
        rig.holdBinds();
        List<Action> asked = rig.propose(vips(vip("a", 1, "10.0.0.1:80"), vip("b", 2, "10.0.0.2:80")));
        assertThat(only(asked, Action.Bind.class)).extracting(b -> b.config().name()).containsExactly("a", "b");
        assertThat(only(asked, Action.Publish.class)).isEmpty();
        assertThat(only(asked, Action.Reply.class)).isEmpty();
        assertThat(rig.r.vips()).isEmpty();

        List<Action> done = rig.releaseBinds();
        ReloadOutcome o = outcome(done);
        assertThat(o.applied()).isTrue();
        assertThat(o.generation()).isEqualTo(1);
        assertThat(o.changes()).anyMatch(c -> c.startsWith("listening vip a on /10.1.0.1:"))
                .contains("added backend 10.0.0.1:80 to a", "added backend 10.0.0.2:80 to b");
        assertThat(only(done, Action.BindVip.class)).extracting(b -> b.vip().name()).containsExactly("a", "b");
        assertThat(Rig.published(done, "a")).containsExactly("10.0.0.1:80");
        assertThat(indexOf(done, Action.Publish.class)).isLessThan(indexOf(done, Action.Reply.class));
    }

    @Test
    void aFileVipThatCannotBindRejectsTheWholeConfigAndClosesWhatWasBound() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        VipState a = rig.vip("a");

        rig.failBind("c", "Address already in use");
        List<Action> rejected = rig.propose(vips(vip("a", 1, "10.0.0.9:80"), vip("b", 2, "10.0.0.2:80"),
                vip("c", 3, "10.0.0.3:80")));

        ReloadOutcome o = outcome(rejected);
        assertThat(o.applied()).isFalse();
        assertThat(o.generation()).isEqualTo(1);
        assertThat(o.errors()).containsExactly("vips[c].listen: 10.1.0.3:80 (expected a bindable address: Address "
                + "already in use)");
        assertThat(only(rejected, Action.CloseListener.class)).extracting(Action.CloseListener::vip)
                .containsExactly("b");
        assertThat(only(rejected, Action.Publish.class)).isEmpty();
        assertThat(only(rejected, Action.BindVip.class)).isEmpty();
        assertThat(only(rejected, Action.UnbindVip.class)).isEmpty();
        assertThat(only(rejected, Action.Count.class)).extracting(Action.Count::tags)
                .containsExactly(List.of("result", "rejected"));
        assertThat(lines(rejected, Level.WARN)).singleElement().asString()
                .startsWith("config rejected why=reload errors=1 first=\"vips[c].listen");
        // Nothing half-applied: a still runs with its old backend, alone.
        assertThat(rig.r.vips()).containsExactly(a);
        assertThat(a.backends.keySet()).extracting(Object::toString).containsExactly("10.0.0.1:80");
        assertThat(rig.r.generation()).isEqualTo(1);
    }

    @Test
    void aListenerThatStaysIsNotBoundAgain() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        BoundListener first = rig.vip("a").listener;
        List<Action> again = rig.propose(vips(vip("a", 1, "10.0.0.1:80", "policy: maglev")));
        assertThat(only(again, Action.Bind.class)).isEmpty();
        assertThat(only(again, Action.CloseListener.class)).isEmpty();
        assertThat(rig.vip("a").listener).isSameAs(first);
        assertThat(outcome(again).changes()).containsExactly("updated vip a (policy)");
    }

    @Test
    void aNewListenAddressBindsANewListenerFirstAndClosesTheOldOneAfterTheSwap() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80")));
        VipState before = rig.vip("a");
        BoundListener old = before.listener;
        List<Action> moved = rig.propose(vips(vip("a", 7, "10.0.0.1:80")));
        assertThat(indexOf(moved, Action.Bind.class)).isLessThan(indexOf(moved, Action.CloseListener.class));
        assertThat(only(moved, Action.CloseListener.class)).singleElement()
                .satisfies(c -> assertThat(c.listener()).isSameAs(old));
        assertThat(rig.vip("a")).isNotSameAs(before);
        assertThat(rig.vip("a").listener.localAddress().getHostString()).isEqualTo("10.1.0.7");
        assertThat(before.listener).as("the old state lets its listener go").isNull();
    }
}
