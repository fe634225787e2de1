package io.tandem.core.udp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.EventLoopGroup;
import io.tandem.config.UdpOptions;
import io.tandem.core.policy.Policy;
import io.tandem.core.pool.Backend;
import io.tandem.core.transport.Transport;
import io.tandem.core.udp.UdpTestSupport.EchoBackend;
import io.tandem.core.udp.UdpTestSupport.RecordingEvents;
import io.tandem.core.vip.Vip;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** A listener in front of echo backends on loopback, torn down (and checked for leaks) by {@link #close()}. */
final class UdpHarness implements AutoCloseable {
    final Transport transport;
    final EventLoopGroup proxyGroup;
    final EventLoopGroup backendGroup;
    final List<EchoBackend> echoes = new ArrayList<>();
    final List<Backend> backends = new ArrayList<>();
    final RecordingEvents events = new RecordingEvents();
    final Vip vip;
    final UdpListener listener;

    UdpHarness(Transport transport, int backendCount, Function<List<Backend>, Policy> policy, UdpOptions settings)
            throws Exception {
        this(transport, backendCount, policy, settings, "127.0.0.1");
    }

    UdpHarness(Transport transport, int backendCount, Function<List<Backend>, Policy> policy, UdpOptions settings,
               String listenHost) throws Exception {
        this(transport, backendCount, policy, settings, listenHost, List.of());
    }

    /** {@code batch}: datagrams per recvmmsg instead of {@link UdpListener#RECV_BATCH}. */
    UdpHarness(Transport transport, int backendCount, Function<List<Backend>, Policy> policy, UdpOptions settings,
               int batch) throws Exception {
        this(transport, backendCount, policy, settings, "127.0.0.1", List.of(), batch);
    }

    /** {@code otherBackends}: backends the test runs itself, after the {@code backendCount} echo backends. */
    UdpHarness(Transport transport, int backendCount, Function<List<Backend>, Policy> policy, UdpOptions settings,
               String listenHost, List<Backend> otherBackends) throws Exception {
        this(transport, backendCount, policy, settings, listenHost, otherBackends, UdpListener.RECV_BATCH);
    }

    private UdpHarness(Transport transport, int backendCount, Function<List<Backend>, Policy> policy,
                       UdpOptions settings, String listenHost, List<Backend> otherBackends, int batch) throws Exception {
        this.transport = transport;
        this.proxyGroup = transport.newGroup(2, "udp-proxy");
        this.backendGroup = transport.newGroup(1, "udp-backend");
        for (int i = 0; i < backendCount; i++) {
            EchoBackend e = EchoBackend.start(i, backendGroup, transport);
            echoes.add(e);
            backends.add(UdpTestSupport.backend(e));
        }
        backends.addAll(otherBackends);
        this.vip = new Vip("udp-test",
                UdpTestSupport.pool(UdpTestSupport.udpConfig("udp-test", listenHost), backends, policy, 1));
        this.listener = UdpListener.bind(vip, proxyGroup, transport, events, settings, batch)
                .get(10, TimeUnit.SECONDS);
    }

    UdpStats stats() {
        return listener.stats();
    }

    InetSocketAddress address() {
        return listener.localAddress();
    }

    /** A blocking client socket on loopback (of the listener's address family) with a short receive timeout. */
    DatagramSocket client() throws IOException {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(address().getAddress(), 0));
        s.setSoTimeout(1000);
        return s;
    }

    void send(DatagramSocket s, byte[] payload) throws IOException {
        s.send(new DatagramPacket(payload, payload.length, address()));
    }

    void send(DatagramSocket s, String text) throws IOException {
        send(s, text.getBytes(StandardCharsets.US_ASCII));
    }

    /** The next reply as text, or null after the socket's timeout. */
    static String receive(DatagramSocket s) throws IOException {
        byte[] buf = new byte[65536];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        try {
            s.receive(p);
        } catch (SocketTimeoutException e) {
            return null;
        }
        return new String(buf, 0, p.getLength(), StandardCharsets.US_ASCII);
    }

    /** Sends {@code text} until a reply arrives (UDP may drop on a loaded machine); bounded in tries. */
    String exchange(DatagramSocket s, String text) throws IOException {
        for (int attempt = 0; attempt < 10; attempt++) {
            send(s, text);
            String reply = receive(s);
            if (reply != null) {
                return reply;
            }
        }
        throw new AssertionError("no reply to \"" + text + "\" after 10 attempts");
    }

    @Override
    public void close() throws Exception {
        try {
            listener.close().get(10, TimeUnit.SECONDS);
            assertThat(listener.stats().sessionsActive.get()).as("sessions after close").isZero();
            for (EchoBackend e : echoes) {
                if (e.channel.isOpen()) {
                    e.close();
                }
            }
        } finally {
            UdpTestSupport.shutdown(backendGroup);
            UdpTestSupport.shutdown(proxyGroup);
        }
        UdpTestSupport.assertNoLeaks();
    }
}
