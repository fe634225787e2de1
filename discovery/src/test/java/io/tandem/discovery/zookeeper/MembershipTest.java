package io.tandem.discovery.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HostPort;
import io.tandem.discovery.Endpoint;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MembershipTest {

    private static final long WINDOW = 1_500_000_000L;

    private static Membership.Entry entry(String service, String address, String path) {
        return new Membership.Entry(service, Endpoint.of(HostPort.parse(address), "zookeeper:" + path));
    }

    private static Set<HostPort> addresses(Membership m, String service) {
        return m.published().getOrDefault(service, Set.of()).stream().map(Endpoint::address)
                .collect(java.util.stream.Collectors.toSet());
    }

    @Test
    void additionsArePublishedImmediately() {
        Membership m = new Membership(WINDOW, Set.of());
        m.update(Map.of("/s/a/1", entry("a", "10.0.0.1:80", "/s/a/1")), 0);
        assertThat(addresses(m, "a")).containsExactly(HostPort.parse("10.0.0.1:80"));
        assertThat(m.nextDeadline()).isEmpty();
    }

    @Test
    void removalIsHeldForTheWindowThenDropped() {
        Membership m = new Membership(WINDOW, Set.of());
        m.update(Map.of("/s/a/1", entry("a", "10.0.0.1:80", "/s/a/1")), 0);
        m.update(Map.of(), 100);
        assertThat(addresses(m, "a")).hasSize(1);
        assertThat(m.nextDeadline()).hasValue(100 + WINDOW);
        assertThat(m.expire(100 + WINDOW - 1)).isFalse();
        assertThat(addresses(m, "a")).hasSize(1);
        assertThat(m.expire(100 + WINDOW)).isTrue();
        assertThat(m.published()).doesNotContainKey("a");
        assertThat(m.nextDeadline()).isEmpty();
    }

    @Test
    void reappearanceWithinTheWindowLeavesThePublishedSetUnchanged() {
        Membership m = new Membership(WINDOW, Set.of());
        var live = Map.of("/s/a/1", entry("a", "10.0.0.1:80", "/s/a/1"));
        m.update(live, 0);
        var before = m.published();
        m.update(Map.of(), 10);
        assertThat(m.published()).isEqualTo(before);
        m.update(live, 20);
        assertThat(m.published()).isEqualTo(before);
        assertThat(m.pendingRemovals()).isZero();
        assertThat(m.expire(20 + WINDOW * 2)).isFalse();
    }

    @Test
    void changedDataOfAPresentZnodeReplacesTheEndpointAtOnce() {
        Membership m = new Membership(WINDOW, Set.of());
        m.update(Map.of("/s/a/1", entry("a", "10.0.0.1:80", "/s/a/1")), 0);
        m.update(Map.of("/s/a/1", entry("a", "10.0.0.2:80", "/s/a/1")), 1);
        assertThat(addresses(m, "a")).containsExactly(HostPort.parse("10.0.0.2:80"));
    }

    @Test
    void sameAddressUnderTwoZnodesIsPublishedOnceAndLiveBeatsLeaving() {
        Membership m = new Membership(WINDOW, Set.of());
        m.update(Map.of("/s/a/0001", entry("a", "10.0.0.1:80", "/s/a/0001")), 0);
        m.update(Map.of("/s/a/0002", entry("a", "10.0.0.1:80", "/s/a/0002")), 1); // sequential re-registration
        Set<Endpoint> endpoints = m.published().get("a");
        assertThat(endpoints).hasSize(1);
        assertThat(endpoints.iterator().next().origin()).isEqualTo("zookeeper:/s/a/0002");
    }

    @Test
    void zeroWindowRemovesAtOnceAndWatchedServicesAreAlwaysListed() {
        Membership m = new Membership(0, Set.of("a", "b"));
        m.update(Map.of("/s/a/1", entry("a", "10.0.0.1:80", "/s/a/1")), 0);
        m.update(Map.of(), 1);
        assertThat(m.published()).isEqualTo(Map.of("a", Set.of(), "b", Set.of()));
        assertThat(Optional.of(m.nextDeadline())).get().matches(d -> d.isEmpty());
    }
}
