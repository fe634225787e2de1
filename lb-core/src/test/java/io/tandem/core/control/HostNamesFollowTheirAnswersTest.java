package io.tandem.core.control;

import static io.tandem.core.control.Rig.lines;
import static io.tandem.core.control.Rig.only;
import static io.tandem.core.control.Rig.published;
import static io.tandem.core.control.Rig.vip;
import static io.tandem.core.control.Rig.vips;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NameTable.Answer;
import io.tandem.core.control.NameTable.Found;
import io.tandem.core.control.NameTable.NotFound;
import io.tandem.health.HealthFlag;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.event.Level;

/**
 * A backend written as a host name stands for its current addresses: the reload's own lookups
 * decide at the swap, then each TTL's refresh; a changed answer re-syncs only the VIPs that use
 * the name; a name without an address is an {@code UNRESOLVED} placeholder that serves nothing;
 * an answer to a lookup a reload has overtaken is dropped.
 */
class HostNamesFollowTheirAnswersTest {
    private static final String NAME = "web.tandem.test";
    private final Rig rig = new Rig();

    private static Answer found(String ip, Duration ttl) {
        return new Found(List.of(InetAddress.ofLiteral(ip)), ttl);
    }

    @Test
    void aNewAddressReplacesTheOldOneAtTheRefreshAndOnlyItsVipsResync() {
        List<Action> start = rig.propose(vips(vip("web", 1, NAME + ":80"), vip("other", 2, "10.0.0.9:80")),
                Map.of(NAME, found("10.0.0.2", Duration.ofSeconds(5))));
        assertThat(published(start, "web")).containsExactly("10.0.0.2:80");
        assertThat(rig.backend("web", "10.0.0.2:80").origin()).isEqualTo("dns:" + NAME);
        Action.Schedule refresh = only(start, Action.Schedule.class).getFirst();
        assertThat(refresh.timer()).isEqualTo(new Action.Timer.NameRefresh(NAME));
        assertThat(refresh.delay()).isEqualTo(Duration.ofSeconds(5));

        List<Action> due = rig.run(r -> r.timer(refresh.timer(), rig.now));
        Action.Lookup lookup = only(due, Action.Lookup.class).getFirst();
        List<Action> moved = rig.run(r -> r.nameAnswer(NAME, lookup.epoch(), found("10.0.0.3", Duration.ofSeconds(5)),
                rig.now));
        assertThat(published(moved, "web")).containsExactly("10.0.0.3:80");
        assertThat(only(moved, Action.Publish.class)).extracting(p -> p.vip().name()).containsExactly("web");
        assertThat(only(moved, Action.BackendRemoved.class)).extracting(b -> b.backend().address().toString())
                .containsExactly("10.0.0.2:80");
        assertThat(lines(moved, Level.INFO)).contains("dns applied name=" + NAME + " changes=[removed backend "
                + "10.0.0.2:80 from web, added backend 10.0.0.3:80 to web]");
    }

    @Test
    void aNameWithoutAnAddressIsAPlaceholderThatServesNothing() {
        List<Action> start = rig.propose(vips(vip("web", 1, NAME + ":80")), Map.of(NAME, new NotFound("NXDOMAIN")));
        assertThat(published(start, "web")).isEmpty();
        BackendState placeholder = rig.vip("web").unresolved.values().iterator().next();
        assertThat(placeholder.flags()).containsExactly(HealthFlag.UNRESOLVED);
        assertThat(placeholder.recentTransitions().getLast().reason()).isEqualTo("NXDOMAIN");
        assertThat(lines(start, Level.WARN)).contains("backend unresolved vip=web backend=" + NAME + ":80 "
                + "flag=UNRESOLVED reason=\"NXDOMAIN\"");
        assertThat(rig.vip("web").listener).as("the VIP listens all the same").isNotNull();
    }

    @Test
    void anAnswerToALookupAReloadOvertookIsDropped() {
        List<Action> start = rig.propose(vips(vip("web", 1, NAME + ":80")),
                Map.of(NAME, found("10.0.0.2", Duration.ofSeconds(5))));
        Action.Schedule refresh = only(start, Action.Schedule.class).getFirst();
        long epoch = only(rig.run(r -> r.timer(refresh.timer(), rig.now)), Action.Lookup.class).getFirst().epoch();
        rig.propose(vips(vip("web", 1, NAME + ":80")), Map.of(NAME, found("10.0.0.4", Duration.ofSeconds(5))));
        assertThat(rig.run(r -> r.nameAnswer(NAME, epoch, found("10.0.0.3", Duration.ofSeconds(5)), rig.now)))
                .isEmpty();
        assertThat(rig.vip("web").backends.keySet()).extracting(Object::toString).containsExactly("10.0.0.4:80");
    }

    @Test
    void aNameNoLongerUsedLosesItsRefresh() {
        rig.propose(vips(vip("web", 1, NAME + ":80")), Map.of(NAME, found("10.0.0.2", Duration.ofSeconds(5))));
        List<Action> dropped = rig.propose(vips(vip("web", 1, "10.0.0.7:80")), Map.of());
        assertThat(only(dropped, Action.Cancel.class)).extracting(Action.Cancel::timer)
                .containsExactly(new Action.Timer.NameRefresh(NAME));
    }
}
