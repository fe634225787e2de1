package io.tandem.core.vip;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.SelfLoops.Check;
import io.tandem.core.vip.SelfLoops.Hop;
import io.tandem.core.vip.SelfLoops.Proto;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What {@link SelfLoops#check} decides before a connect, and the hops an arrival carries. Ports
 * here are high and fixed (no socket is bound: the listeners are only registered).
 */
class SelfLoopsTest {
    private final List<Runnable> undo = new ArrayList<>();

    @AfterEach
    void unregister() {
        undo.forEach(Runnable::run);
    }

    private static Vip vip(String name) {
        var cfg = new VipConfig(name, HostPort.of("127.0.0.1", 0), Protocol.TCP, PolicyKind.ROUND_ROBIN, List.of(),
                Limits.UNLIMITED, Timeouts.DEFAULTS, 1, ProxyProtocolVersion.NONE, RelayMode.COPY, Optional.empty());
        return new Vip(name, new BackendPool(cfg, List.of(), (client, tried) -> null, false, 1));
    }

    private void listen(Proto p, Vip v, String host, int port) {
        InetSocketAddress a = new InetSocketAddress(host, port);
        SelfLoops.listening(p, v, a);
        undo.add(() -> SelfLoops.closed(p, v, a));
    }

    private static InetSocketAddress at(String host, int port) {
        return new InetSocketAddress(host, port);
    }

    @Test
    void aPortNoListenerUsesIsNeverALoop() {
        Vip a = vip("a");
        listen(Proto.TCP, a, "127.0.0.1", 61001);
        assertThat(SelfLoops.check(Proto.TCP, at("127.0.0.1", 61002), a, null)).isEqualTo(Check.NONE);
        assertThat(SelfLoops.check(Proto.UDP, at("127.0.0.1", 61001), a, null)).as("UDP ports are another space")
                .isEqualTo(Check.NONE);
    }

    @Test
    void theVipsOwnAddressIsALoopAndAnotherVipIsTrackedNotLooped() {
        Vip a = vip("a");
        Vip b = vip("b");
        listen(Proto.TCP, a, "127.0.0.1", 61011);
        listen(Proto.TCP, b, "127.0.0.1", 61012);
        assertThat(SelfLoops.check(Proto.TCP, at("127.0.0.1", 61011), a, null)).isEqualTo(Check.LOOP);
        assertThat(SelfLoops.check(Proto.TCP, at("127.0.0.1", 61012), a, null)).isEqualTo(Check.TRACK);
        assertThat(SelfLoops.check(Proto.TCP, at("127.0.0.2", 61011), a, null)).as("another address, same port")
                .isEqualTo(Check.NONE);
    }

    @Test
    void aFlowThatCameThroughAVipLoopsWhenItWouldEnterItAgain() {
        Vip a = vip("a");
        Vip b = vip("b");
        listen(Proto.TCP, a, "127.0.0.1", 61021);
        listen(Proto.TCP, b, "127.0.0.1", 61022);
        Backend toB = Backend.of(HostPort.of("127.0.0.1", 61022), 1);
        Hop viaA = new Hop(a, toB, null);
        assertThat(viaA.visits(a)).isTrue();
        assertThat(viaA.visits(b)).isFalse();
        // b, reached from a, connecting back to a:
        assertThat(SelfLoops.check(Proto.TCP, at("127.0.0.1", 61021), b, viaA)).isEqualTo(Check.LOOP);
        assertThat(SelfLoops.check(Proto.TCP, at("127.0.0.1", 61021), b, null)).isEqualTo(Check.TRACK);
    }

    @Test
    void underAWildcardListenerLoopbackIsCertainAndAnUnknownAddressOnlyTracked() {
        Vip a = vip("a");
        listen(Proto.TCP, a, "0.0.0.0", 61031);
        SelfLoops.useHostAddresses(false);
        try {
            assertThat(SelfLoops.check(Proto.TCP, at("127.0.0.1", 61031), a, null)).isEqualTo(Check.LOOP);
            assertThat(SelfLoops.check(Proto.TCP, at("127.9.9.9", 61031), a, null)).isEqualTo(Check.LOOP);
            assertThat(SelfLoops.check(Proto.TCP, at("198.51.100.7", 61031), a, null)).isEqualTo(Check.TRACK);
            assertThat(SelfLoops.check(Proto.TCP, at("::1", 61031), a, null))
                    .as("an IPv4 wildcard takes no IPv6").isEqualTo(Check.NONE);
        } finally {
            SelfLoops.useHostAddresses(true);
        }
    }

    @Test
    void anIpv6WildcardListenerIsDualStack() {
        Vip a = vip("a");
        listen(Proto.UDP, a, "::", 61041);
        assertThat(SelfLoops.check(Proto.UDP, at("127.0.0.1", 61041), a, null)).isEqualTo(Check.LOOP);
        assertThat(SelfLoops.check(Proto.UDP, at("::1", 61041), a, null)).isEqualTo(Check.LOOP);
    }

    @Test
    void aListenAddressThatIsNotTheHostsIsOnlyTracked() {
        // A VIP this node is standby for (bound with IP_FREEBIND, owned by the peer): a connect to
        // it goes to the peer, so it is not known to come back here.
        Vip a = vip("a");
        listen(Proto.TCP, a, "198.51.100.9", 61051);
        assertThat(SelfLoops.check(Proto.TCP, at("198.51.100.9", 61051), a, null)).isEqualTo(Check.TRACK);
    }

    @Test
    void aTrackedSocketIsFoundByItsAddressUntilItIsUntracked() {
        Vip a = vip("a");
        Hop hop = new Hop(a, Backend.of(HostPort.of("127.0.0.1", 61061), 1), null);
        InetSocketAddress local = at("127.0.0.1", 50123);
        boolean before = SelfLoops.tracking(Proto.TCP);
        SelfLoops.track(Proto.TCP, local, hop);
        assertThat(SelfLoops.tracking(Proto.TCP)).isTrue();
        assertThat(SelfLoops.arrivedFrom(Proto.TCP, at("127.0.0.1", 50123))).isSameAs(hop);
        assertThat(SelfLoops.arrivedFrom(Proto.UDP, at("127.0.0.1", 50123))).isNull();
        assertThat(SelfLoops.arrivedFrom(Proto.TCP, at("127.0.0.1", 50124))).isNull();
        SelfLoops.untrack(Proto.TCP, local, hop);
        assertThat(SelfLoops.arrivedFrom(Proto.TCP, local)).isNull();
        assertThat(SelfLoops.tracking(Proto.TCP)).isEqualTo(before);
    }

    @Test
    void anArrivalFromThisHostIsUnsureOnlyWhileARegistrationIsPending() {
        InetSocketAddress peer = at("127.0.0.1", 50200);
        assertThat(SelfLoops.unsure(Proto.TCP, peer)).isFalse();
        SelfLoops.pending(Proto.TCP, 1);
        try {
            assertThat(SelfLoops.watching(Proto.TCP)).isTrue();
            assertThat(SelfLoops.unsure(Proto.TCP, peer)).isTrue();
            assertThat(SelfLoops.unsure(Proto.TCP, at("198.51.100.1", 50200))).as("not this host's").isFalse();
            Hop hop = new Hop(vip("a"), Backend.of(HostPort.of("127.0.0.1", 61081), 1), null);
            SelfLoops.track(Proto.TCP, peer, hop);
            assertThat(SelfLoops.unsure(Proto.TCP, peer)).as("registered: known").isFalse();
            SelfLoops.untrack(Proto.TCP, peer, hop);
        } finally {
            SelfLoops.pending(Proto.TCP, -1);
        }
        assertThat(SelfLoops.unsure(Proto.TCP, peer)).isFalse();
    }

    @Test
    void aLoopedHopTellsTheConnectingSide() {
        Hop hop = new Hop(vip("a"), Backend.of(HostPort.of("127.0.0.1", 61071), 1), null);
        assertThat(hop.looped()).isFalse();
        hop.markLooped();
        assertThat(hop.looped()).isTrue();
    }
}
