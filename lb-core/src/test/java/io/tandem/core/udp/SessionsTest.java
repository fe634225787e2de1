package io.tandem.core.udp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HostPort;
import io.tandem.config.UdpOptions;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.udp.UdpTestSupport.RecordingEvents;
import io.tandem.core.vip.Vip;
import io.tandem.sys.Errno;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The session logic without sockets or event loops, through the socket seam: a fake
 * {@link DatagramSockets} hands datagrams and replies to {@link Sessions} the way
 * {@link EpollSockets} and {@link NioSockets} do, and records the upstream sockets the logic
 * opens and closes. Time is injected ({@code now}).
 */
class SessionsTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private final RecordingEvents events = new RecordingEvents();
    private final List<Backend> backends = List.of(backend(1), backend(2), backend(3));
    private final Vip vip = new Vip("u", pool(backends, 1));
    private final UdpStats stats = new UdpStats();
    private final FakeSockets sockets = new FakeSockets();

    private static Backend backend(int port) {
        return Backend.of(HostPort.of("127.0.0.1", port), new InetSocketAddress("127.0.0.1", port), 1);
    }

    private static InetSocketAddress client(int port) {
        return new InetSocketAddress("192.0.2.1", port);
    }

    /** Always the first backend not tried: a client's pick is predictable. */
    private static BackendPool pool(List<Backend> backends, long generation) {
        return UdpTestSupport.pool(UdpTestSupport.udpConfig("u"), backends, UdpTestSupport::firstAvailable,
                generation);
    }

    private Sessions sessions(UdpOptions settings) {
        return sessions(settings, stats);
    }

    private Sessions sessions(UdpOptions settings, UdpStats shared) {
        Sessions s = new Sessions(vip, settings, UdpListener.RECV_BATCH, shared, events);
        s.start(sockets);
        return s;
    }

    /**
     * A client datagram of {@code len} bytes, handed over as the socket sides do: the upstream
     * socket it went out on, or null when it was dropped.
     */
    private static FakeUpstream datagram(Sessions sessions, InetSocketAddress client, int len, long now) {
        sessions.countIn(len);
        try {
            Session s = sessions.session(client, now);
            FakeUpstream up = s == null ? null : (FakeUpstream) sessions.route(s, now);
            if (up != null) {
                s.forwarded(1, len);
            }
            return up;
        } finally {
            sessions.publishCounts();
        }
    }

    /** A reply of {@code len} bytes on {@code up}: true when it completed the session. */
    private static boolean reply(FakeUpstream up, int len, long now) {
        assertThat(up.session.isCurrent(up)).as("replies only on the current upstream").isTrue();
        return up.session.replied(len, now);
    }

    @Test
    void aSessionStaysOnItsBackendAndMovesOnItsNextDatagramWhenTheBackendBecomesIneligible() {
        Sessions sessions = sessions(UdpOptions.DEFAULTS);
        FakeUpstream first = datagram(sessions, client(1000), 10, 0);
        assertThat(first.backend).isEqualTo(backends.get(0).socketAddress());
        assertThat(datagram(sessions, client(1000), 10, 1)).as("same pool: same upstream").isSameAs(first);

        // The control loop publishes a pool without backend 1 (failed a check, drained, removed).
        vip.publish(pool(backends.subList(1, 3), 2));
        FakeUpstream second = datagram(sessions, client(1000), 10, 2);

        assertThat(second.backend).isEqualTo(backends.get(1).socketAddress());
        assertThat(first.closed).as("the old upstream socket is closed").isTrue();
        assertThat(second.closed).isFalse();
        assertThat(stats.sessionsRepinned.sum()).isEqualTo(1);
        assertThat(stats.sessionsCreated.sum()).as("same session, new upstream").isEqualTo(1);
        assertThat(backends.get(0).active()).isZero();
        assertThat(backends.get(1).active()).isEqualTo(1);
        assertThat(stats.datagramsForwarded.sum()).isEqualTo(3);
        assertThat(events.failures).as("leaving the pool is not a failure").isEmpty();
    }

    @Test
    void portUnreachableIsAPassiveSignalAndTheNextDatagramPicksAnotherBackend() {
        Sessions sessions = sessions(UdpOptions.DEFAULTS);
        FakeUpstream first = datagram(sessions, client(1000), 10, 0);
        Session s = first.session;

        s.failed(first, Session.portUnreachable("recvmmsg"), 5 * SECOND);

        assertThat(first.closed).isTrue();
        assertThat(events.failures).singleElement().satisfies(f -> {
            assertThat(f.backend()).isSameAs(backends.get(0));
            assertThat(Session.isPortUnreachable(f.cause())).isTrue();
        });
        assertThat(backends.get(0).stats().connectFailures.sum()).isEqualTo(1);
        assertThat(stats.droppedBackendUnreachable.sum()).isEqualTo(1);
        FakeUpstream second = datagram(sessions, client(1000), 10, 6 * SECOND);
        assertThat(second.backend).as("the failed backend is skipped for this client")
                .isEqualTo(backends.get(1).socketAddress());
        assertThat(stats.sessionsRepinned.sum()).isEqualTo(1);
        assertThat(stats.sessionsActive.get()).isEqualTo(1);

        // A late error on the replaced socket changes nothing.
        s.failed(first, Session.portUnreachable("recvmmsg"), 7 * SECOND);
        assertThat(events.failures).hasSize(1);
        assertThat(second.closed).isFalse();
    }

    @Test
    void otherUpstreamErrorsAreNeitherBlamedOnTheBackendNorEndThePinning() {
        Sessions sessions = sessions(UdpOptions.DEFAULTS);
        FakeUpstream up = datagram(sessions, client(1000), 10, 0);

        up.session.failed(up, new Errno.ErrnoException("sendmmsg(..) failed: Operation not permitted", 1), 1);

        assertThat(events.failures).isEmpty();
        assertThat(up.closed).isFalse();
        assertThat(datagram(sessions, client(1000), 10, 2)).isSameAs(up);
    }

    @Test
    void aLocalErrorOpeningTheUpstreamDropsTheDatagramAndIsNeverCountedAgainstTheBackend() {
        Sessions sessions = sessions(UdpOptions.DEFAULTS);
        sockets.failNext = new Errno.ErrnoException("socket(..) failed: Too many open files", Errno.EMFILE);

        assertThat(datagram(sessions, client(1000), 10, 0)).isNull();

        assertThat(stats.droppedLocalError.sum()).isEqualTo(1);
        assertThat(vip.localErrors().total()).isEqualTo(1);
        assertThat(stats.droppedNoBackend.sum()).isZero();
        assertThat(events.failures).isEmpty();
        assertThat(backends.get(0).stats().connectFailures.sum()).isZero();
        assertThat(stats.sessionsActive.get()).as("no session holds a slot without a socket").isZero();
        assertThat(datagram(sessions, client(1000), 10, 1).backend).as("the same backend once descriptors are back")
                .isEqualTo(backends.get(0).socketAddress());
    }

    @Test
    void responsesPerRequestEndsTheSessionOnceEveryRequestIsAnswered() {
        Sessions sessions = sessions(UdpOptions.DEFAULTS.withResponsesPerRequest(2));
        FakeUpstream up = datagram(sessions, client(1000), 10, 0);
        assertThat(datagram(sessions, client(1000), 10, 1)).isSameAs(up);

        assertThat(reply(up, 20, 2)).isFalse();
        assertThat(reply(up, 20, 3)).isFalse();
        assertThat(reply(up, 20, 4)).isFalse();
        assertThat(stats.sessionsActive.get()).isEqualTo(1);
        assertThat(reply(up, 20, 5)).as("the 4th reply answers 2 requests x 2").isTrue();

        assertThat(up.closed).isTrue();
        assertThat(stats.sessionsCompleted.sum()).isEqualTo(1);
        assertThat(stats.sessionsActive.get()).isZero();
        assertThat(events.answered).as("one connected signal per upstream").containsExactly(backends.get(0));
        assertThat(backends.get(0).stats().bytesIn.sum()).isEqualTo(80);
        assertThat(backends.get(0).stats().bytesOut.sum()).isEqualTo(20);
        assertThat(datagram(sessions, client(1000), 10, 6)).as("the client's next query opens a new session")
                .isNotSameAs(up);
        assertThat(stats.sessionsCreated.sum()).isEqualTo(2);
    }

    @Test
    void aFullTableEvictsTheLeastRecentlyUsedSessionNotTheOldest() {
        Sessions sessions = sessions(UdpOptions.DEFAULTS.withMaxSessions(3));
        FakeUpstream a = datagram(sessions, client(1), 10, 1);
        FakeUpstream b = datagram(sessions, client(2), 10, 2);
        FakeUpstream c = datagram(sessions, client(3), 10, 3);
        datagram(sessions, client(1), 10, 4); // a client datagram is activity: a is no longer the least recent
        reply(b, 10, 5);                      // so is a reply: neither is b; c is

        FakeUpstream d = datagram(sessions, client(4), 10, 6);

        assertThat(d).isNotNull();
        assertThat(c.closed).as("c evicted").isTrue();
        assertThat(a.closed).isFalse();
        assertThat(b.closed).isFalse();
        assertThat(stats.sessionsEvicted.sum()).isEqualTo(1);
        assertThat(stats.sessionsActive.get()).isEqualTo(3);
        assertThat(sessions.table.size()).isEqualTo(3);
        assertThat(sessions.table.get(client(3))).isNull();
        assertThat(stats.sessionsPeak.get()).isEqualTo(3);
    }

    @Test
    void theLimitIsSharedByTheLoopsAndALoopEvictsOnlyItsOwnSessions() {
        UdpOptions settings = UdpOptions.DEFAULTS.withMaxSessions(2);
        Sessions loop1 = sessions(settings);
        Sessions loop2 = sessions(settings, stats); // another loop of the same VIP: same stats, own table
        assertThat(datagram(loop1, client(1), 10, 1)).isNotNull();
        assertThat(datagram(loop1, client(2), 10, 2)).isNotNull();

        assertThat(datagram(loop2, client(3), 10, 3)).as("full, and nothing of loop 2's to evict").isNull();

        assertThat(stats.droppedSessionLimit.sum()).isEqualTo(1);
        assertThat(stats.sessionsEvicted.sum()).isZero();
        assertThat(stats.sessionsActive.get()).isEqualTo(2);
    }

    @Test
    void theSweepExpiresIdleSessionsOldestFirstAndKeepsActiveOnes() {
        Sessions sessions = sessions(UdpOptions.DEFAULTS.withSessionIdle(Duration.ofSeconds(1)));
        FakeUpstream a = datagram(sessions, client(1), 10, 0);
        FakeUpstream b = datagram(sessions, client(2), 10, SECOND / 2);
        reply(a, 10, SECOND * 8 / 10); // a's backend answered: a was active at 0.8 s

        sessions.sweep(SECOND * 16 / 10);
        assertThat(b.closed).as("b idle for 1.1 s").isTrue();
        assertThat(a.closed).as("a idle for 0.8 s").isFalse();
        assertThat(stats.sessionsExpired.sum()).isEqualTo(1);

        sessions.sweep(SECOND * 18 / 10 - 1);
        assertThat(a.closed).as("a idle for just under 1 s").isFalse();
        sessions.sweep(SECOND * 18 / 10);
        assertThat(a.closed).isTrue();
        assertThat(stats.sessionsExpired.sum()).isEqualTo(2);
        assertThat(stats.sessionsActive.get()).isZero();
        assertThat(backends.get(0).active()).isZero();
    }

    @Test
    void aClientTheAclRefusesOpensNoSessionAndReachesNoBackend() {
        io.tandem.config.AccessControl acl = new io.tandem.config.AccessControl(List.of(),
                List.of(io.tandem.config.Cidr.parse("192.0.2.1").cidr().orElseThrow()));
        io.tandem.config.VipConfig c = UdpTestSupport.udpConfig("u");
        vip.publish(UdpTestSupport.pool(new io.tandem.config.VipConfig(c.name(), c.listen(), c.protocol(), c.policy(),
                c.backends(), c.limits(), c.timeouts(), c.retries(), c.proxyProtocol(), c.relay(), c.healthCheck(),
                c.health(), c.service(), c.udp(), c.locality(), acl), backends, UdpTestSupport::firstAvailable, 2));
        Sessions sessions = sessions(UdpOptions.DEFAULTS);
        assertThat(datagram(sessions, client(1000), 10, 0)).as("denied: dropped").isNull();
        assertThat(datagram(sessions, new InetSocketAddress("192.0.2.2", 1000), 10, 0)).as("not denied").isNotNull();
        assertThat(vip.stats().aclRefused.sum()).isEqualTo(1);
        assertThat(stats.sessionsCreated.sum()).isEqualTo(1);
        assertThat(sockets.opened).as("one upstream socket, for the admitted client").hasSize(1);
    }

    @Test
    void perClientLimitsCountSessionsAndFreeThemWhenSessionsEnd() {
        io.tandem.config.VipConfig c = UdpTestSupport.udpConfig("u");
        io.tandem.config.Limits limits = new io.tandem.config.Limits(0, 0,
                new io.tandem.config.Limits.PerClient(2, 0, 32, 64, 1000));
        vip.publish(UdpTestSupport.pool(new io.tandem.config.VipConfig(c.name(), c.listen(), c.protocol(), c.policy(),
                c.backends(), limits, c.timeouts(), c.retries(), c.proxyProtocol(), c.relay(), c.healthCheck(),
                c.health(), c.service(), c.udp(), c.locality(), c.acl()), backends, UdpTestSupport::firstAvailable, 2));
        Sessions sessions = sessions(UdpOptions.DEFAULTS);
        assertThat(datagram(sessions, client(1000), 10, 0)).isNotNull();
        assertThat(datagram(sessions, client(1001), 10, 0)).isNotNull();
        assertThat(datagram(sessions, client(1002), 10, 0)).as("a third session of 192.0.2.1").isNull();
        assertThat(datagram(sessions, client(1000), 10, 0)).as("an existing session goes on").isNotNull();
        assertThat(vip.stats().clientConnectionsRefused.sum()).isEqualTo(1);
        sessions.sweep(UdpOptions.DEFAULTS.sessionIdle().toNanos() + 1);
        assertThat(vip.clients().open(client(1000).getAddress(), limits.perClient())).as("expired sessions freed")
                .isZero();
        assertThat(datagram(sessions, client(1002), 10, SECOND * 100)).isNotNull();
    }

    @Test
    void anEmptyPoolDropsTheDatagramAndKeepsNoSession() {
        vip.publish(pool(List.of(), 2));
        Sessions sessions = sessions(UdpOptions.DEFAULTS);

        assertThat(datagram(sessions, client(1), 10, 0)).isNull();

        assertThat(stats.droppedNoBackend.sum()).isEqualTo(1);
        assertThat(vip.stats().noBackend.sum()).isEqualTo(1);
        assertThat(stats.sessionsActive.get()).isZero();
        assertThat(sockets.opened).isEmpty();
    }

    @Test
    void closingAllSessionsClosesTheirSocketsAndRefusesNewOnes() {
        Sessions sessions = sessions(UdpOptions.DEFAULTS);
        FakeUpstream a = datagram(sessions, client(1), 10, 0);
        FakeUpstream b = datagram(sessions, client(2), 10, 0);

        sessions.closeAll();

        assertThat(a.closed).isTrue();
        assertThat(b.closed).isTrue();
        assertThat(stats.sessionsActive.get()).isZero();
        assertThat(vip.stats().active.get()).isZero();
        assertThat(datagram(sessions, client(3), 10, 1)).isNull();
        assertThat(stats.datagramsIn.sum()).isEqualTo(3);
    }

    /** The socket side without sockets: records the upstream sockets opened, fails the next open on demand. */
    private static final class FakeSockets implements DatagramSockets {
        final List<FakeUpstream> opened = new ArrayList<>();
        IOException failNext;

        @Override
        public InetSocketAddress localAddress() {
            return new InetSocketAddress("127.0.0.1", 5300);
        }

        @Override
        public Upstream open(Session session, InetSocketAddress backend) throws IOException {
            if (failNext != null) {
                IOException e = failNext;
                failNext = null;
                throw e;
            }
            FakeUpstream up = new FakeUpstream(session, backend, 40000 + opened.size());
            opened.add(up);
            return up;
        }

        @Override
        public void close() {
        }
    }

    private static final class FakeUpstream implements DatagramSockets.Upstream {
        final Session session;
        final InetSocketAddress backend;
        final int port;
        boolean closed;

        FakeUpstream(Session session, InetSocketAddress backend, int port) {
            this.session = session;
            this.backend = backend;
            this.port = port;
        }

        @Override
        public InetSocketAddress localAddress() {
            return new InetSocketAddress("127.0.0.1", port);
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
