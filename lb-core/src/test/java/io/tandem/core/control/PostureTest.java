package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.Posture.AppInput;
import io.tandem.core.control.Posture.BackendInput;
import io.tandem.core.control.Posture.HaInput;
import io.tandem.core.control.Posture.Input;
import io.tandem.core.control.Posture.VipInput;
import io.tandem.core.control.Posture.ZooKeeperInput;
import io.tandem.core.control.PostureReport.Finding;
import io.tandem.core.control.PostureReport.Severity;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The single-point-of-failure findings, decided from inputs alone. */
class PostureTest {
    private static final Instant T = Instant.parse("2026-12-07T14:00:00Z");
    private static final HaInput SPREAD_HA = new HaInput(List.of("lb1", "lb2"), Map.of("lb1", "a", "lb2", "b"));

    private static BackendInput up(String host, String zone) {
        return new BackendInput(host, Optional.ofNullable(zone), true);
    }

    private static BackendInput down(String host, String zone) {
        return new BackendInput(host, Optional.ofNullable(zone), false);
    }

    private static VipInput vip(String name, BackendInput... backends) {
        return new VipInput(name, List.of(backends), true, List.of());
    }

    private static PostureReport report(VipInput... vips) {
        return Posture.evaluate(new Input(List.of(vips), Optional.of(SPREAD_HA), List.of(), h -> Optional.empty()), T);
    }

    private static List<String> codes(PostureReport r) {
        return r.findings().stream().map(Finding::code).toList();
    }

    @Test
    void backendsOverTwoZonesAndHostsWithACheckAndASpreadHaGroupHaveNoFinding() {
        PostureReport r = report(vip("orders", up("10.0.0.1", "a"), up("10.0.0.2", "b"), down("10.0.0.3", "a")));
        assertThat(r.findings()).isEmpty();
        assertThat(r.hasWarnings()).isFalse();
        assertThat(r.vips()).singleElement().satisfies(s -> {
            assertThat(s.eligible()).isEqualTo(2);
            assertThat(s.zones()).isEqualTo(2);
            assertThat(s.hosts()).isEqualTo(2);
            assertThat(s.zoneNames()).containsExactly("a", "b");
        });
    }

    @Test
    void oneEligibleBackendIsOneBackendNotAlsoOneZoneAndOneHost() {
        PostureReport r = report(vip("orders", up("10.0.0.1", "a"), down("10.0.0.2", "b")));
        assertThat(codes(r)).containsExactly("one-backend");
        Finding f = r.findings().getFirst();
        assertThat(f.severity()).isEqualTo(Severity.WARN);
        assertThat(f.vip()).isEqualTo("orders");
        assertThat(f.detail()).contains("10.0.0.1");
        assertThat(f.todo()).contains("two instances");
        assertThat(r.hasWarnings()).isTrue();
    }

    @Test
    void allEligibleBackendsInOneZoneIsOneZone() {
        PostureReport r = report(vip("orders", up("10.0.0.1", "a"), up("10.0.0.2", "a"), down("10.0.0.3", "b")));
        assertThat(codes(r)).containsExactly("one-zone");
        assertThat(r.findings().getFirst().detail()).isEqualTo("all 2 eligible backends are in zone a");
    }

    @Test
    void allEligibleBackendsOnOneHostIsOneHost() {
        PostureReport r = report(vip("orders", up("10.0.0.1", "a"), up("10.0.0.1", "b")));
        assertThat(codes(r)).containsExactly("one-host");
        assertThat(r.vips().getFirst().hosts()).isEqualTo(1);
    }

    @Test
    void unknownZonesAreInfoNotAWarning() {
        PostureReport r = report(vip("orders", up("10.0.0.1", null), up("10.0.0.2", null)));
        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.code()).isEqualTo("zones-unknown");
            assertThat(f.severity()).isEqualTo(Severity.INFO);
        });
        assertThat(r.hasWarnings()).isFalse();
        assertThat(report(vip("o", up("10.0.0.1", "a"), up("10.0.0.2", null))).findings())
                .extracting(Finding::code).containsExactly("zones-unknown");
        assertThat(report(vip("o", up("10.0.0.1", "a"), up("10.0.0.2", "b"), up("10.0.0.3", null))).findings())
                .as("two known zones already: spread").isEmpty();
    }

    @Test
    void noEligibleBackendAndNoActiveCheckAreWarnings() {
        VipInput unchecked = new VipInput("dns", List.of(up("10.0.0.1", "a"), up("10.0.0.2", "b")), false, List.of());
        PostureReport r = report(vip("empty"), unchecked);
        assertThat(r.findings()).extracting(Finding::vip, Finding::code).containsExactly(
                org.assertj.core.groups.Tuple.tuple("dns", "no-active-check"),
                org.assertj.core.groups.Tuple.tuple("empty", "no-eligible-backend"));
    }

    @Test
    void aMarathonAppWithoutAHostOrZoneSpreadingConstraintIsReportedOnce() {
        VipInput v = new VipInput("orders", List.of(up("10.0.0.1", "a"), up("10.0.0.2", "b")), true, List.of(
                new AppInput("/orders", List.of("rack_id:CLUSTER:r1")), new AppInput("/orders", List.of("rack_id:CLUSTER:r1")),
                new AppInput("/spread", List.of("hostname:UNIQUE")), new AppInput("/bare", List.of())));
        PostureReport r = report(v);
        assertThat(r.findings()).extracting(Finding::subject)
                .containsExactly("marathon app /bare", "marathon app /orders");
        assertThat(r.findings().get(1).detail()).contains("rack_id:CLUSTER:r1");
        assertThat(r.findings().getFirst().todo()).contains("[\"hostname\", \"UNIQUE\"]");
    }

    @Test
    void hostnameUniqueOrGroupByAndGroupByOnTheZoneSpreadAnApp() {
        assertThat(Posture.spread(List.of("hostname:UNIQUE"))).isTrue();
        assertThat(Posture.spread(List.of("hostname:GROUP_BY"))).isTrue();
        assertThat(Posture.spread(List.of("@zone:GROUP_BY:3"))).isTrue();
        assertThat(Posture.spread(List.of("zone:GROUP_BY"))).isTrue();
        assertThat(Posture.spread(List.of("hostname:CLUSTER:a.example"))).isFalse();
        assertThat(Posture.spread(List.of("@zone:CLUSTER:eu-1a"))).isFalse();
        assertThat(Posture.spread(List.of("rack_id:GROUP_BY"))).isFalse();
        assertThat(Posture.spread(List.of())).isFalse();
    }

    @Test
    void anHaGroupInOneZoneIsAWarningAndUndeclaredZonesAreInfo() {
        PostureReport one = Posture.evaluate(new Input(List.of(), Optional.of(new HaInput(List.of("lb1", "lb2"),
                Map.of("lb1", "a", "lb2", "a"))), List.of(), h -> Optional.empty()), T);
        assertThat(one.findings()).singleElement().satisfies(f -> {
            assertThat(f.code()).isEqualTo("ha-one-zone");
            assertThat(f.severity()).isEqualTo(Severity.WARN);
            assertThat(f.detail()).contains("lb1, lb2").contains("zone a");
        });
        PostureReport unknown = Posture.evaluate(new Input(List.of(), Optional.of(new HaInput(List.of("lb1", "lb2"),
                Map.of("lb1", "a"))), List.of(), h -> Optional.empty()), T);
        assertThat(unknown.findings()).extracting(Finding::code, Finding::severity)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("ha-zones-unknown", Severity.INFO));
    }

    @Test
    void aNodeWithoutHaIsItselfASinglePointOfFailure() {
        PostureReport r = Posture.evaluate(new Input(List.of(), Optional.empty(), List.of(), h -> Optional.empty()), T);
        assertThat(codes(r)).containsExactly("node-not-ha");
    }

    @Test
    void aZooKeeperOfOneServerOrOfServersInOneKnownZoneIsAWarning() {
        Map<String, String> zoneOf = Map.of("198.18.0.1", "a", "198.18.0.2", "a", "198.18.0.3", "a", "198.18.1.1", "b");
        PostureReport r = Posture.evaluate(new Input(List.of(), Optional.of(SPREAD_HA), List.of(
                new ZooKeeperInput("ha.zookeeper.connect", "zk1:2181/tandem"),
                new ZooKeeperInput("discovery.zookeeper.connect", "198.18.0.1:2181,198.18.0.2:2181,198.18.0.3:2181"),
                new ZooKeeperInput("other", "198.18.0.1:2181,198.18.1.1:2181,198.18.9.9:2181")),
                h -> Optional.ofNullable(zoneOf.get(h))), T);
        assertThat(r.findings()).extracting(Finding::code, Finding::subject).containsExactly(
                org.assertj.core.groups.Tuple.tuple("zookeeper-one-server", "ha.zookeeper.connect"),
                org.assertj.core.groups.Tuple.tuple("zookeeper-one-zone", "discovery.zookeeper.connect"));
        assertThat(r.findings().getFirst().detail()).contains("zk1");
    }

    @Test
    void connectStringsAreSplitIntoHosts() {
        assertThat(Posture.hosts("zk1:2181,zk2:2181,zk3/chroot")).containsExactly("zk1", "zk2", "zk3");
        assertThat(Posture.hosts("[fd00::1]:2181,zk1:2181,zk1:2182")).containsExactly("fd00::1", "zk1");
        assertThat(Posture.hosts("198.18.0.9:2181")).containsExactly("198.18.0.9");
    }

    @Test
    void aFindingIsLoggedWhenItAppearsAndWhenItClearsNotOnEveryReport() {
        PostureReport none = report(vip("orders", up("10.0.0.1", "a"), up("10.0.0.2", "b")));
        PostureReport oneZone = report(vip("orders", up("10.0.0.1", "a"), up("10.0.0.2", "a")));
        PostureReport oneZoneAgain = report(vip("orders", up("10.0.0.1", "a"), up("10.0.0.2", "a"), up("10.0.0.3", "a")));
        assertThat(PostureWatch.changes(null, oneZone)).singleElement().asString()
                .startsWith("posture finding code=one-zone severity=WARN subject=\"vip orders\" detail=\"all 2")
                .contains("todo=\"run instances in a second zone (Marathon: constraint [\\\"@zone\\\"");
        assertThat(PostureWatch.changes(oneZone, oneZoneAgain)).as("same finding, other numbers").isEmpty();
        assertThat(PostureWatch.changes(oneZoneAgain, none))
                .containsExactly("posture finding cleared code=one-zone subject=\"vip orders\"");
        assertThat(PostureWatch.changes(none, none)).isEmpty();
    }
}
