package io.tandem.core.udp;

import static io.tandem.core.udp.UdpTestSupport.openFds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.UdpOptions;
import io.tandem.core.transport.Transport;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Sessions end: by idling, by eviction when the table is full, and after N replies per request. */
class UdpSessionLifecycleIT {

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void idleSessionsExpireAndGiveTheirSocketsBackWhileActiveOnesStay(Transport transport) throws Exception {
        UdpOptions settings = UdpOptions.DEFAULTS.withSessionIdle(Duration.ofMillis(800));
        try (UdpHarness h = new UdpHarness(transport, 2, UdpTestSupport::roundRobin, settings)) {
            long baselineFds = openFds();
            List<DatagramSocket> clients = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                DatagramSocket s = h.client();
                clients.add(s);
                assertThat(h.exchange(s, "hello" + i)).endsWith("|hello" + i);
            }
            assertThat(h.stats().sessionsActive.get()).isEqualTo(50);
            assertThat(openFds()).isGreaterThanOrEqualTo(baselineFds + 50 + 50); // client + upstream sockets

            // One client keeps talking for 3 idle periods: its session must survive the sweeps.
            DatagramSocket keeper = clients.getFirst();
            long until = System.nanoTime() + Duration.ofMillis(2400).toNanos();
            while (System.nanoTime() < until) {
                h.exchange(keeper, "keep");
                Thread.sleep(150); // pacing the keep-alive traffic, not waiting for a condition
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> h.stats().sessionsExpired.sum() == 49);
            assertThat(h.stats().sessionsActive.get()).isEqualTo(1);
            assertThat(h.stats().sessionsCreated.sum()).as("the keeper kept its one session").isEqualTo(50);

            await().atMost(Duration.ofSeconds(10)).until(() -> h.stats().sessionsActive.get() == 0);
            assertThat(h.stats().sessionsExpired.sum()).isEqualTo(50);
            for (DatagramSocket s : clients) {
                s.close();
            }
            await().atMost(Duration.ofSeconds(15)).until(() -> openFds() <= baselineFds + 2);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void floodOfFiveThousandSourcePortsNeverHoldsMoreThanMaxSessions(Transport transport) throws Exception {
        UdpOptions settings = UdpOptions.DEFAULTS.withMaxSessions(500);
        try (UdpHarness h = new UdpHarness(transport, 3, UdpTestSupport::roundRobin, settings)) {
            long baselineFds = openFds();
            ByteBuffer payload = ByteBuffer.wrap(new byte[32]);
            UdpStats stats = h.stats();
            int maxSeen = 0;
            long started = System.nanoTime();
            for (int i = 1; i <= 5000; i++) {
                try (DatagramChannel spoof = DatagramChannel.open()) {
                    spoof.bind(new InetSocketAddress("127.0.0.1", 0));
                    spoof.send(payload.rewind(), h.address());
                }
                maxSeen = Math.max(maxSeen, stats.sessionsActive.get());
                if (i % 100 == 0) {
                    // Opening a socket per session is slower than this loop sends: let the listener
                    // catch up so its receive buffer does not overflow and every port counts.
                    long sent = i;
                    await().atMost(Duration.ofSeconds(15)).until(() -> stats.datagramsIn.sum() >= sent * 95 / 100);
                }
            }
            long elapsedMs = (System.nanoTime() - started) / 1_000_000;
            // Every received datagram has been handled: forwarded in a session, or refused one.
            // (Ports get reused by later sockets, so a datagram may also land in an existing session.)
            await().atMost(Duration.ofSeconds(10)).until(() -> stats.datagramsIn.sum() > 0
                    && stats.datagramsForwarded.sum() + stats.droppedSessionLimit.sum() == stats.datagramsIn.sum());
            assertThat(stats.datagramsIn.sum()).as("datagrams that reached the listener").isGreaterThan(4750);
            assertThat(maxSeen).isLessThanOrEqualTo(500);
            assertThat(stats.sessionsPeak.get()).isLessThanOrEqualTo(500);
            assertThat(stats.sessionsActive.get()).isLessThanOrEqualTo(500);
            assertThat(stats.sessionsEvicted.sum()).isEqualTo(stats.sessionsCreated.sum() - stats.sessionsActive.get());
            assertThat(stats.sessionsEvicted.sum()).isGreaterThan(3000);
            assertThat(openFds()).as("open fds").isLessThanOrEqualTo(baselineFds + 500 + 10);
            System.out.printf("udp flood transport=%s elapsed_ms=%d %s%n", transport.name(), elapsedMs, stats);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void oneResponsePerRequestClosesTheSessionRightAfterTheReply(Transport transport) throws Exception {
        UdpOptions settings = UdpOptions.DEFAULTS.withResponsesPerRequest(1);
        try (UdpHarness h = new UdpHarness(transport, 1, UdpTestSupport::roundRobin, settings);
             DatagramSocket client = h.client()) {
            assertThat(h.exchange(client, "query")).isEqualTo("B0|query");
            await().atMost(Duration.ofSeconds(15)).until(() -> h.stats().sessionsActive.get() == 0);
            assertThat(h.stats().sessionsCompleted.sum()).isGreaterThanOrEqualTo(1);
            assertThat(h.stats().sessionsExpired.sum()).isZero();
            assertThat(h.exchange(client, "again")).isEqualTo("B0|again");
            await().atMost(Duration.ofSeconds(15)).until(() -> h.stats().sessionsActive.get() == 0);
            assertThat(h.stats().sessionsCompleted.sum()).isEqualTo(h.stats().sessionsCreated.sum());
        }
    }
}
