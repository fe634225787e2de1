package io.tandem.core.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.UdpOptions;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.transport.Transport;
import java.net.DatagramSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** A session leaves its backend when the backend leaves the pool or stops listening (ICMP port unreachable). */
class UdpRepinIT {

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void backendRemovedFromThePoolMovesTheSessionOnItsNextDatagram(Transport transport) throws Exception {
        try (UdpHarness h = new UdpHarness(transport, 2, UdpTestSupport::firstAvailable, UdpOptions.DEFAULTS);
             DatagramSocket client = h.client()) {
            assertThat(h.exchange(client, "one")).isEqualTo("B0|one");
            assertThat(h.exchange(client, "two")).isEqualTo("B0|two");

            List<Backend> withoutB0 = List.of(h.backends.get(1));
            h.vip.publish(new BackendPool(h.vip.pool().config(), withoutB0,
                    UdpTestSupport.firstAvailable(withoutB0), false, 2));

            assertThat(h.exchange(client, "three")).isEqualTo("B1|three");
            assertThat(h.stats().sessionsRepinned.sum()).isEqualTo(1);
            assertThat(h.stats().sessionsCreated.sum()).as("same session, new upstream").isEqualTo(1);
            assertThat(h.backends.get(0).active()).isZero();
            assertThat(h.backends.get(1).active()).isEqualTo(1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void killedBackendReportsPortUnreachableAndTheNextDatagramGoesElsewhere(Transport transport) throws Exception {
        try (UdpHarness h = new UdpHarness(transport, 2, UdpTestSupport::firstAvailable, UdpOptions.DEFAULTS);
             DatagramSocket client = h.client()) {
            assertThat(h.exchange(client, "one")).isEqualTo("B0|one");
            assertThat(h.listener.sockets()).allSatisfy(s -> assertThat(s)
                    .isInstanceOf(transport.isEpoll() ? EpollSockets.class : NioSockets.class));
            Backend b0 = h.backends.get(0);
            h.echoes.get(0).close(); // the port is closed now: the kernel answers with ICMP port unreachable

            // The first datagram after the kill is lost (UDP); the client's retry reaches B1.
            assertThat(h.exchange(client, "two")).isEqualTo("B1|two");
            await().atMost(Duration.ofSeconds(15)).until(() -> !h.events.failures.isEmpty());
            assertThat(h.events.failures).first().satisfies(f -> {
                assertThat(f.backend()).isSameAs(b0);
                assertThat(Session.isPortUnreachable(f.cause())).as("cause %s", f.cause()).isTrue();
            });
            assertThat(h.stats().droppedBackendUnreachable.sum()).isGreaterThanOrEqualTo(1);
            assertThat(h.stats().sessionsRepinned.sum()).isEqualTo(1);
            assertThat(b0.stats().connectFailures.sum()).isGreaterThanOrEqualTo(1);
            assertThat(h.events.answered).contains(b0, h.backends.get(1));
            assertThat(h.exchange(client, "three")).isEqualTo("B1|three");
            System.out.printf("udp icmp transport=%s cause=%s%n", transport.name(), h.events.failures.getFirst().cause());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void emptyPoolDropsAndCountsWithoutKeepingASession(Transport transport) throws Exception {
        try (UdpHarness h = new UdpHarness(transport, 1, UdpTestSupport::firstAvailable, UdpOptions.DEFAULTS);
             DatagramSocket client = h.client()) {
            h.vip.publish(new BackendPool(h.vip.pool().config(), List.of(),
                    UdpTestSupport.firstAvailable(List.of()), false, 2));
            h.send(client, "nobody");
            await().atMost(Duration.ofSeconds(15)).until(() -> h.stats().droppedNoBackend.sum() == 1);
            assertThat(h.stats().sessionsActive.get()).isZero();
            assertThat(h.vip.stats().noBackend.sum()).isEqualTo(1);
        }
    }

}
