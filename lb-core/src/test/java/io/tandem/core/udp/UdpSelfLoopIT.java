package io.tandem.core.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.UdpOptions;
import io.tandem.config.VipConfig;
import io.tandem.core.pool.Backend;
import io.tandem.core.transport.Transport;
import io.tandem.core.udp.UdpTestSupport.EchoBackend;
import io.tandem.core.udp.UdpTestSupport.RecordingEvents;
import io.tandem.core.vip.Vip;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * UDP VIPs that would forward back into this node (issue #15, item 8): the datagram is dropped
 * where the flow would enter a VIP it already passed through, no session or socket piles up,
 * and the backend is reported as a self-loop. Before the fix a datagram bounced between the
 * node's own sockets forever, a new session (and socket) per bounce. Epoll and NIO.
 */
class UdpSelfLoopIT {
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private EventLoopGroup group;

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
        if (group != null) {
            UdpTestSupport.shutdown(group);
        }
        UdpTestSupport.assertNoLeaks();
    }

    private UdpListener listen(Transport transport, RecordingEvents events, String name, int port,
                               List<Backend> backends) throws Exception {
        if (group == null) {
            group = transport.newGroup(2, "udp-loop");
        }
        VipConfig cfg = new VipConfig(name, HostPort.of("127.0.0.1", port), Protocol.UDP, PolicyKind.ROUND_ROBIN,
                List.of(), Limits.UNLIMITED, Timeouts.DEFAULTS, 0, ProxyProtocolVersion.NONE, RelayMode.COPY,
                Optional.empty());
        Vip vip = new Vip(name, UdpTestSupport.pool(cfg, backends, UdpTestSupport::roundRobin, 1));
        UdpListener l = UdpListener.bind(vip, group, transport, events, UdpOptions.DEFAULTS)
                .get(10, TimeUnit.SECONDS);
        closeables.add(() -> l.close().get(10, TimeUnit.SECONDS));
        return l;
    }

    private static Backend at(int port) {
        return Backend.of(HostPort.of("127.0.0.1", port), new InetSocketAddress("127.0.0.1", port), 1);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void aVipWhoseOtherBackendWorksAnswersEveryClientAndNeverSendsToItself(Transport transport)
            throws Exception {
        int port = freeUdpPort();
        EventLoopGroup backendGroup = transport.newGroup(1, "udp-loop-backend");
        closeables.add(() -> UdpTestSupport.shutdown(backendGroup));
        EchoBackend echo = EchoBackend.start(0, backendGroup, transport);
        closeables.add(echo);
        RecordingEvents events = new RecordingEvents();
        UdpListener l = listen(transport, events, "u", port, List.of(at(port), UdpTestSupport.backend(echo)));

        for (int i = 0; i < 10; i++) {
            try (DatagramSocket c = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
                c.setSoTimeout(2000);
                assertThat(exchange(c, port, "m" + i)).isEqualTo("B0|m" + i);
            }
        }
        assertThat(events.selfLoops).isNotEmpty().containsOnly("u=127.0.0.1:" + port);
        assertThat(events.failures).isEmpty();
        assertThat(l.stats().droppedSelfLoop.sum()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void aLoopThroughTwoUdpVipsIsDroppedWhereItWouldEnterAVipAgain(Transport transport) throws Exception {
        int portA = freeUdpPort();
        int portB = freeUdpPort();
        RecordingEvents events = new RecordingEvents();
        UdpListener a = listen(transport, events, "a", portA, List.of(at(portB)));
        UdpListener b = listen(transport, events, "b", portB, List.of(at(portA)));
        long before = UdpTestSupport.openFds();

        try (DatagramSocket c = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            c.setSoTimeout(300);
            for (int i = 0; i < 5; i++) {
                assertThat(exchange(c, portA, "x" + i)).as("a reply through a loop").isNull();
            }
        }

        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(b.stats().droppedSelfLoop.sum()).isEqualTo(5));
        assertThat(events.selfLoops).hasSize(5).containsOnly("b=127.0.0.1:" + portA);
        assertThat(a.stats().sessionsActive.get()).as("the client's session on a").isEqualTo(1);
        assertThat(b.stats().sessionsActive.get()).as("no session on b for a flow it cannot serve").isZero();
        assertThat(a.stats().sessionsCreated.sum() + b.stats().sessionsCreated.sum()).isLessThanOrEqualTo(6);
        assertThat(UdpTestSupport.openFds()).isLessThanOrEqualTo(before + 4);
        assertThat(events.failures).isEmpty();
    }

    /** Sends {@code text} to the VIP on {@code port}; the reply, or null if none came. */
    private static String exchange(DatagramSocket c, int port, String text) throws Exception {
        byte[] out = text.getBytes(StandardCharsets.US_ASCII);
        c.send(new DatagramPacket(out, out.length, InetAddress.getLoopbackAddress(), port));
        DatagramPacket p = new DatagramPacket(new byte[256], 256);
        try {
            c.receive(p);
        } catch (SocketTimeoutException e) {
            return null;
        }
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
    }

    private static int freeUdpPort() throws Exception {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
