package io.tandem.core.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.tandem.config.UdpOptions;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.Vip;
import java.io.ByteArrayOutputStream;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A real protocol shape end to end: DNS queries (RFC 1035 wire format, built by hand) through
 * the listener to a tiny authoritative responder, one answer per query, sessions closing after
 * the answer (responsesPerRequest = 1) as a DNS load balancer should.
 */
class UdpDnsIT {
    private static final byte[] ANSWER_ADDRESS = {(byte) 192, 0, 2, 53};

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void dnsQueriesGetMatchingAnswersAndSessionsCloseAfterEachAnswer(Transport transport) throws Exception {
        EventLoopGroup proxyGroup = transport.newGroup(2, "udp-proxy");
        EventLoopGroup backendGroup = transport.newGroup(1, "udp-dns");
        Channel dns = new Bootstrap().group(backendGroup).channel(transport.datagramChannel())
                .handler(new Responder()).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        int port = ((InetSocketAddress) dns.localAddress()).getPort();
        Backend backend = Backend.of(io.tandem.config.HostPort.of("127.0.0.1", port),
                new InetSocketAddress("127.0.0.1", port), 1);
        Vip vip = new Vip("dns", new BackendPool(UdpTestSupport.udpConfig("dns"), List.of(backend),
                UdpTestSupport.roundRobin(List.of(backend)), false, 1));
        UdpListener listener = UdpListener.bind(vip, proxyGroup, transport, ConnectionEvents.NONE,
                UdpOptions.DEFAULTS.withResponsesPerRequest(1)).get(10, TimeUnit.SECONDS);
        try {
            for (int i = 0; i < 20; i++) {
                try (DatagramSocket client = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
                    client.setSoTimeout(1000);
                    int id = 0x1000 + i;
                    byte[] query = query(id, "host" + i + ".tandem.test");
                    byte[] answer = null;
                    for (int attempt = 0; attempt < 10 && answer == null; attempt++) {
                        client.send(new java.net.DatagramPacket(query, query.length, listener.localAddress()));
                        byte[] buf = new byte[512];
                        java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
                        try {
                            client.receive(p);
                            answer = java.util.Arrays.copyOf(buf, p.getLength());
                        } catch (java.net.SocketTimeoutException e) {
                            // lost on a loaded machine: ask again, like a resolver
                        }
                    }
                    assertThat(answer).as("answer to query %d", i).isNotNull();
                    ByteBuffer r = ByteBuffer.wrap(answer);
                    assertThat(r.getShort() & 0xffff).as("id").isEqualTo(id);
                    int flags = r.getShort() & 0xffff;
                    assertThat(flags & 0x8000).as("QR = response").isNotZero();
                    assertThat(flags & 0x000f).as("RCODE").isZero();
                    assertThat(r.getShort()).as("QDCOUNT").isEqualTo((short) 1);
                    assertThat(r.getShort()).as("ANCOUNT").isEqualTo((short) 1);
                    byte[] rdata = java.util.Arrays.copyOfRange(answer, answer.length - 4, answer.length);
                    assertThat(rdata).isEqualTo(ANSWER_ADDRESS);
                }
            }
            await().atMost(Duration.ofSeconds(15)).until(() -> listener.stats().sessionsActive.get() == 0);
            assertThat(listener.stats().sessionsCompleted.sum()).isEqualTo(listener.stats().sessionsCreated.sum());
            assertThat(listener.stats().sessionsCreated.sum()).isGreaterThanOrEqualTo(20);
        } finally {
            listener.close().get(10, TimeUnit.SECONDS);
            dns.close().sync();
            UdpTestSupport.shutdown(backendGroup);
            UdpTestSupport.shutdown(proxyGroup);
        }
        UdpTestSupport.assertNoLeaks();
    }

    /** A standard query: header with RD set, one question of type A, class IN. */
    static byte[] query(int id, String name) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer header = ByteBuffer.allocate(12).putShort((short) id).putShort((short) 0x0100)
                .putShort((short) 1).putShort((short) 0).putShort((short) 0).putShort((short) 0);
        out.writeBytes(header.array());
        for (String label : name.split("\\.")) {
            byte[] b = label.getBytes(StandardCharsets.US_ASCII);
            out.write(b.length);
            out.writeBytes(b);
        }
        out.write(0);
        out.writeBytes(new byte[] {0, 1, 0, 1}); // QTYPE A, QCLASS IN
        return out.toByteArray();
    }

    /** Answers every A query with 192.0.2.53 (TTL 60), echoing the id and the question. */
    private static final class Responder extends SimpleChannelInboundHandler<DatagramPacket> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
            ByteBuf q = p.content();
            int id = q.getUnsignedShort(0);
            int questionEnd = 12;
            while (q.getByte(questionEnd) != 0) {
                questionEnd += q.getUnsignedByte(questionEnd) + 1;
            }
            questionEnd += 1 + 4; // root label, QTYPE, QCLASS
            ByteBuf r = ctx.alloc().buffer();
            r.writeShort(id).writeShort(0x8180).writeShort(1).writeShort(1).writeShort(0).writeShort(0);
            r.writeBytes(q, 12, questionEnd - 12);
            r.writeShort(0xC00C).writeShort(1).writeShort(1).writeInt(60).writeShort(4).writeBytes(ANSWER_ADDRESS);
            ctx.writeAndFlush(new DatagramPacket(r, p.sender()));
        }
    }
}
