package io.tandem.core.control;

import static io.tandem.core.control.Rig.lines;
import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.published;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * The publish rule as the log and the counters tell it: a VIP whose backends all await their
 * first check is warming (INFO, routes to them), not in panic; a panic is a WARN and a count, once
 * per episode, and its end is an INFO.
 */
class WarmingIsNotPanicTest {
    private static final String CHECK = "health_check: {type: tcp, interval: 100ms, timeout: 200ms, rise: 1, fall: 1}";
    private final Rig rig = new Rig();

    @Test
    void aVipStartsWarmingAndIsWarmAtItsFirstPass() {
        List<Action> start = rig.propose(vips(vip("v", 1, "10.0.0.1:80, 10.0.0.2:80", CHECK)));
        assertThat(published(start, "v")).containsExactly("10.0.0.1:80", "10.0.0.2:80");
        assertThat(lines(start, Level.INFO)).contains("vip warming vip=v awaiting_first_check=2/2 reason=\"no backend "
                + "has passed a check yet: routing to the backends still awaiting their first check\"");
        assertThat(lines(start, Level.WARN)).isEmpty();
        assertThat(only(start, Action.Count.class)).noneMatch(c -> c.name().equals("tandem.vip.panic.entered"));

        rig.advance(java.time.Duration.ofMillis(150));
        List<Action> pass = rig.run(r -> r.verdict(rig.backend("v", "10.0.0.1:80").checkId, rig.transition(true),
                rig.now));
        assertThat(published(pass, "v")).containsExactly("10.0.0.1:80");
        assertThat(lines(pass, Level.INFO)).contains("vip warm vip=v eligible=1/2 after_ms=150");
    }

    @Test
    void whenEveryFirstCheckFailsThePanicIsAWarningAndACountOnce() {
        rig.propose(vips(vip("v", 1, "10.0.0.1:80, 10.0.0.2:80", CHECK)));
        List<Action> after = new ArrayList<>();
        for (String b : List.of("10.0.0.1:80", "10.0.0.2:80")) {
            long id = rig.backend("v", b).checkId;
            after.addAll(rig.run(r -> r.verdict(id, rig.transition(false), rig.now)));
        }
        assertThat(lines(after, Level.WARN)).singleElement().asString().startsWith("vip panic vip=v eligible=0/2 "
                + "panic_threshold=0% routing_to=2");
        assertThat(only(after, Action.Count.class)).filteredOn(c -> c.name().equals("tandem.vip.panic.entered"))
                .singleElement().satisfies(c -> assertThat(c.tags()).containsExactly("vip", "v"));
        assertThat(published(after, "v")).as("panic routes to every backend not drained")
                .containsExactly("10.0.0.1:80", "10.0.0.2:80");

        List<Action> over = rig.run(r -> r.verdict(rig.backend("v", "10.0.0.2:80").checkId, rig.transition(true),
                rig.now));
        assertThat(lines(over, Level.INFO)).contains("vip panic over vip=v eligible=1/2");
        assertThat(published(over, "v")).containsExactly("10.0.0.2:80");
    }
}
