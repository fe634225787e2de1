package io.tandem.core.control;

import static io.tandem.core.control.Rig.indexOf;
import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code close_on_backend_down}: the connections of a backend that a check or an ejection took
 * down are cut right <em>after</em> the pool without it is published (a connection picking from
 * the old snapshot in between would otherwise escape the sweep), once per going down, and never
 * in panic, nor without the option.
 */
class CloseOnBackendDownCutsAfterPublishTest {
    private static final String CHECK = "health_check: {type: tcp, interval: 100ms, timeout: 200ms, rise: 1, fall: 1}";
    private final Rig rig = new Rig();

    private List<Action> verdict(String backend, boolean up) {
        long id = rig.backend("a", backend).checkId;
        return rig.run(r -> r.verdict(id, rig.transition(up), rig.now));
    }

    private void allUp(String... backends) {
        for (String b : backends) {
            verdict(b, true);
        }
    }

    @Test
    void theCutFollowsThePublishThatTookTheBackendOut() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80, 10.0.0.3:80", CHECK, "close_on_backend_down: true")));
        allUp("10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80");
        List<Action> down = verdict("10.0.0.2:80", false);
        List<Action.CloseConnections> cuts = only(down, Action.CloseConnections.class);
        assertThat(cuts).singleElement().satisfies(c -> {
            assertThat(c.backend().address().toString()).isEqualTo("10.0.0.2:80");
            assertThat(c.why()).isEqualTo(Action.Cut.BACKEND_DOWN);
        });
        assertThat(indexOf(down, Action.Publish.class)).isLessThan(indexOf(down, Action.CloseConnections.class));
        assertThat(Rig.published(down, "a")).containsExactly("10.0.0.1:80", "10.0.0.3:80");

        // Still down at the next publish (another backend's change): not cut again.
        assertThat(only(verdict("10.0.0.3:80", false), Action.CloseConnections.class))
                .extracting(c -> c.backend().address().toString()).containsExactly("10.0.0.3:80");
    }

    @Test
    void nothingIsCutWithoutTheOptionOrInPanic() {
        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80", CHECK)));
        allUp("10.0.0.1:80", "10.0.0.2:80");
        assertThat(only(verdict("10.0.0.2:80", false), Action.CloseConnections.class)).isEmpty();

        rig.propose(vips(vip("a", 1, "10.0.0.1:80, 10.0.0.2:80", CHECK, "close_on_backend_down: true")));
        List<Action> panic = verdict("10.0.0.1:80", false); // the last one: panic routes to both
        assertThat(only(panic, Action.CloseConnections.class)).isEmpty();
    }
}
