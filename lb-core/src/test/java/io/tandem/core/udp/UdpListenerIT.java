package io.tandem.core.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.epoll.Epoll;
import io.tandem.config.UdpOptions;
import io.tandem.core.pool.Backend;
import io.tandem.core.transport.Transport;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The socket side on each transport: the epoll one ({@link EpollSockets}: recvmmsg/sendmmsg
 * through FFM, no channel) and the NIO one ({@link NioSockets}) keep the same semantics for
 * bursts and IPv6 clients; the epoll one also batches and relays empty datagrams both ways.
 */
class UdpListenerIT {

    @Test
    void epollBindsASocketPerLoopWithBatchedCallsAndNioOneSocket() throws Exception {
        Assumptions.assumeTrue(Epoll.isAvailable(), "epoll only");
        try (UdpHarness h = new UdpHarness(Transport.epollTransport(), 1, UdpTestSupport::roundRobin,
                UdpOptions.DEFAULTS); DatagramSocket client = h.client()) {
            assertThat(h.listener.sockets()).hasSize(2).allSatisfy(s -> assertThat(s).isInstanceOf(EpollSockets.class));
            assertThat(h.exchange(client, "hello")).isEqualTo("B0|hello");
            assertThat(h.stats().receiveCalls.sum()).isPositive();
            await().atMost(Duration.ofSeconds(15)).until(() -> h.stats().datagramsOut.sum() >= 1);
            assertThat(h.stats().bytesOut.sum()).isGreaterThanOrEqualTo("B0|hello".length());
        }
        try (UdpHarness h = new UdpHarness(Transport.nioTransport(), 1, UdpTestSupport::roundRobin,
                UdpOptions.DEFAULTS); DatagramSocket client = h.client()) {
            assertThat(h.listener.sockets()).hasSize(1).allSatisfy(s -> assertThat(s).isInstanceOf(NioSockets.class));
            assertThat(h.exchange(client, "hello")).isEqualTo("B0|hello");
        }
    }

    /**
     * Datagrams queued while the loops are blocked reach the listener as one recvmmsg batch with
     * several datagrams per client; each client's datagrams must reach the backend complete and in
     * order (raw path: one sendmmsg per client per batch), and every reply its own client.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void burstsFromSeveralClientsArriveCompleteInOrderAndRepliesGoToTheirOwnClient(Transport transport)
            throws Exception {
        int clients = 8;
        int perClient = 12; // 96 datagrams: several recvmmsg batches of 16, each with several per client
        UdpOptions settings = UdpOptions.DEFAULTS.withMaxDatagramSize(1500);
        try (UdpHarness h = new UdpHarness(transport, 1, UdpTestSupport::roundRobin, settings)) {
            List<DatagramSocket> sockets = new ArrayList<>();
            try {
                for (int c = 0; c < clients; c++) {
                    DatagramSocket s = h.client();
                    s.setReceiveBufferSize(1 << 20);
                    sockets.add(s);
                }
                CountDownLatch release = new CountDownLatch(1);
                List<Future<?>> blocked = new ArrayList<>();
                for (var loop : h.proxyGroup) {
                    blocked.add(loop.submit(() -> {
                        release.await(10, TimeUnit.SECONDS); // test-only: hold the loop so datagrams queue up
                        return null;
                    }));
                }
                for (int i = 0; i < perClient; i++) {
                    for (int c = 0; c < clients; c++) {
                        h.send(sockets.get(c), "c" + c + "-" + i);
                    }
                }
                release.countDown();
                for (Future<?> f : blocked) {
                    f.get(10, TimeUnit.SECONDS);
                }
                for (int c = 0; c < clients; c++) {
                    List<String> replies = new ArrayList<>();
                    for (int i = 0; i < perClient; i++) {
                        String r = UdpHarness.receive(sockets.get(c));
                        if (r == null) {
                            break;
                        }
                        replies.add(r);
                    }
                    List<String> expected = new ArrayList<>();
                    for (int i = 0; i < perClient; i++) {
                        expected.add("B0|c" + c + "-" + i);
                    }
                    assertThat(replies).as("client %d: all its replies, only its own, in order", c)
                            .containsExactlyElementsOf(expected);
                }
                assertThat(h.stats().datagramsForwarded.sum()).isEqualTo((long) clients * perClient);
                assertThat(h.stats().sessionsCreated.sum()).isEqualTo(clients);
                if (transport.isEpoll()) {
                    assertThat(h.stats().receiveCalls.sum()).as("recvmmsg batches of up to 16")
                            .isLessThanOrEqualTo(clients * perClient / 4);
                }
            } finally {
                for (DatagramSocket s : sockets) {
                    s.close();
                }
            }
        }
    }

    /**
     * An empty datagram is a datagram: the epoll side relays zero-length requests and replies
     * (recvmmsg reports their length 0, unlike a plain recv that cannot tell them from "nothing").
     */
    @Test
    void epollRelaysZeroLengthDatagramsBothWays() throws Exception {
        Assumptions.assumeTrue(Epoll.isAvailable(), "epoll only");
        try (PlainEcho echo = new PlainEcho();
             UdpHarness h = new UdpHarness(Transport.epollTransport(), 0, UdpTestSupport::roundRobin,
                     UdpOptions.DEFAULTS, "127.0.0.1", List.of(echo.backend()));
             DatagramSocket client = h.client()) {
            assertThat(exchangeEmpty(h, client, new byte[0])).as("an empty reply to an empty request").isTrue();
            assertThat(echo.received).contains(0);
            assertThat(h.exchange(client, "after")).isEqualTo("after");
        }
    }

    /**
     * NIO relays empty replies (its listening channel is not connected), but cannot forward an
     * empty request: the JDK sends nothing for an empty buffer on a connected channel. That one
     * is dropped and counted, never reported as forwarded.
     */
    @Test
    void nioRelaysEmptyRepliesAndCountsEmptyRequestsItCannotForward() throws Exception {
        try (PlainEcho echo = new PlainEcho();
             UdpHarness h = new UdpHarness(Transport.nioTransport(), 0, UdpTestSupport::roundRobin,
                     UdpOptions.DEFAULTS, "127.0.0.1", List.of(echo.backend()));
             DatagramSocket client = h.client()) {
            assertThat(exchangeEmpty(h, client, PlainEcho.EMPTY_PLEASE)).as("an empty reply").isTrue();
            long forwarded = h.stats().datagramsForwarded.sum();
            h.send(client, new byte[0]);
            await().atMost(Duration.ofSeconds(15)).until(() -> h.stats().droppedCongested.sum() == 1);
            assertThat(h.stats().datagramsForwarded.sum()).isEqualTo(forwarded);
            assertThat(echo.received).doesNotContain(0);
            assertThat(h.exchange(client, "after")).isEqualTo("after");
        }
    }

    /** Sends {@code request} until an empty datagram comes back (UDP may drop): whether one did. */
    private static boolean exchangeEmpty(UdpHarness h, DatagramSocket client, byte[] request) throws Exception {
        DatagramPacket in = new DatagramPacket(new byte[64], 64);
        for (int attempt = 0; attempt < 10; attempt++) {
            h.send(client, request);
            try {
                client.receive(in);
                return in.getLength() == 0;
            } catch (SocketTimeoutException e) {
                // UDP: try again
            }
        }
        return false;
    }

    /** IPv6 clients: sessions keyed by address object (epoll: answered from their own sockaddr). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void ipv6ClientsAreServedAndKeptApart(Transport transport) throws Exception {
        Assumptions.assumeTrue(ipv6Loopback(), "no ::1 on this machine");
        try (UdpHarness h = new UdpHarness(transport, 1, UdpTestSupport::roundRobin, UdpOptions.DEFAULTS, "::1");
             DatagramSocket a = h.client();
             DatagramSocket b = h.client()) {
            assertThat(h.address().getAddress()).isInstanceOf(Inet6Address.class);
            for (int i = 0; i < 5; i++) {
                assertThat(h.exchange(a, "a" + i)).isEqualTo("B0|a" + i);
                assertThat(h.exchange(b, "b" + i)).isEqualTo("B0|b" + i);
            }
            assertThat(h.stats().sessionsCreated.sum()).isEqualTo(2);
            assertThat(HarnessReplies.drain(a)).allMatch(r -> r.startsWith("B0|a"));
            assertThat(HarnessReplies.drain(b)).allMatch(r -> r.startsWith("B0|b"));
        }
    }

    private static boolean ipv6Loopback() {
        try {
            NetworkInterface lo = NetworkInterface.getByInetAddress(InetAddress.getByName("::1"));
            return lo != null && Collections.list(lo.getInetAddresses()).stream().anyMatch(x -> x instanceof Inet6Address);
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * A plain blocking echo (payload unchanged, empty datagrams included) on its own thread; the
     * one-byte request {@link #EMPTY_PLEASE} gets an empty reply.
     */
    static final class PlainEcho implements AutoCloseable {
        static final byte[] EMPTY_PLEASE = {'0'};
        final DatagramSocket socket;
        final List<Integer> received = Collections.synchronizedList(new ArrayList<>());
        private final Thread thread;

        PlainEcho() throws Exception {
            socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
            thread = Thread.ofPlatform().daemon().name("plain-echo").start(() -> {
                byte[] buf = new byte[65536];
                while (!socket.isClosed()) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    try {
                        socket.receive(p);
                        received.add(p.getLength());
                        int reply = p.getLength() == 1 && buf[0] == EMPTY_PLEASE[0] ? 0 : p.getLength();
                        socket.send(new DatagramPacket(buf, reply, p.getSocketAddress()));
                    } catch (Exception e) {
                        // closed
                    }
                }
            });
        }

        Backend backend() {
            int port = socket.getLocalPort();
            return Backend.of(io.tandem.config.HostPort.of("127.0.0.1", port), new InetSocketAddress("127.0.0.1", port), 1);
        }

        @Override
        public void close() throws InterruptedException {
            socket.close();
            thread.join(2000);
        }
    }
}
