package io.tandem.core.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.UdpOptions;
import io.tandem.core.transport.Transport;
import java.net.DatagramSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Datagram sizes: oversize is dropped and counted in both directions, never truncated; recvmmsg batches. */
class UdpDatagramSizeIT {

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void oversizeDatagramsAreDroppedAndCountedNeverTruncated(Transport transport) throws Exception {
        UdpOptions settings = UdpOptions.DEFAULTS.withMaxDatagramSize(1000);
        try (UdpHarness h = new UdpHarness(transport, 1, UdpTestSupport::roundRobin, settings);
             DatagramSocket client = h.client()) {
            List<Integer> atBackend = h.echoes.getFirst().receivedSizes;
            h.send(client, new byte[1001]);             // too big on the way in
            h.send(client, new byte[5000]);             // far too big on the way in
            h.send(client, new byte[1000]);             // fits; its echo (1003 bytes with "B0|") is too big on the way out
            String ok = h.exchange(client, "x".repeat(997)); // fits both ways: echo is exactly 1000 bytes
            assertThat(ok).hasSize(1000).startsWith("B0|xxx");
            await().atMost(Duration.ofSeconds(15)).until(() -> h.stats().droppedTooBig.sum() == 3);
            assertThat(List.copyOf(atBackend)).as("sizes the backend received").startsWith(1000, 997)
                    .doesNotContain(1001, 5000);
            assertThat(HarnessReplies.drain(client)).as("no truncated reply reached the client").isEmpty();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void largestIpv4DatagramPassesWhenTheMaximumAllowsIt(Transport transport) throws Exception {
        UdpOptions largest = UdpOptions.DEFAULTS.withMaxDatagramSize(UdpOptions.MAX_IPV4_PAYLOAD);
        try (UdpHarness h = new UdpHarness(transport, 1, UdpTestSupport::roundRobin, largest);
             DatagramSocket client = h.client()) {
            client.setSendBufferSize(1 << 20);
            h.send(client, new byte[UdpOptions.MAX_IPV4_PAYLOAD]);
            List<Integer> atBackend = h.echoes.getFirst().receivedSizes;
            await().atMost(Duration.ofSeconds(15)).until(() -> !atBackend.isEmpty());
            assertThat(atBackend.getFirst()).isEqualTo(UdpOptions.MAX_IPV4_PAYLOAD);
            assertThat(h.stats().droppedTooBig.sum()).isZero();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void epollReadsManyDatagramsPerSystemCallWithRecvmmsg(Transport transport) throws Exception {
        Assumptions.assumeTrue(transport.isEpoll(), "recvmmsg is epoll-only");
        assertThat(receiveCallsFor(transport, 16, 64)).as("receive calls for 64 queued datagrams, batch 16")
                .isLessThanOrEqualTo(12);
        assertThat(receiveCallsFor(transport, 1, 64)).as("receive calls for 64 queued datagrams, batch 1")
                .isGreaterThanOrEqualTo(64);
    }

    /** Queues {@code count} datagrams while the listener's loops are blocked, then counts the reads that drain them. */
    private static long receiveCallsFor(Transport transport, int batch, int count) throws Exception {
        UdpOptions settings = UdpOptions.DEFAULTS.withMaxDatagramSize(1500);
        try (UdpHarness h = new UdpHarness(transport, 1, UdpTestSupport::roundRobin, settings, batch);
             DatagramSocket client = h.client()) {
            long before = h.stats().receiveCalls.sum();
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<?>> blocked = new ArrayList<>();
            for (var loop : h.proxyGroup) {
                blocked.add(loop.submit(() -> {
                    release.await(10, TimeUnit.SECONDS); // test-only: hold the loop so datagrams queue up
                    return null;
                }));
            }
            for (int i = 0; i < count; i++) {
                h.send(client, "d" + i);
            }
            release.countDown();
            for (var f : blocked) {
                f.get(10, TimeUnit.SECONDS);
            }
            await().atMost(Duration.ofSeconds(15)).until(() -> h.stats().datagramsIn.sum() == count);
            return h.stats().receiveCalls.sum() - before;
        }
    }
}
