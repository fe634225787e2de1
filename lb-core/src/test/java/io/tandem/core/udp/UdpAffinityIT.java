package io.tandem.core.udp;

import static io.tandem.core.udp.UdpTestSupport.assertNoLeaks;
import static io.tandem.core.udp.UdpTestSupport.pool;
import static io.tandem.core.udp.UdpTestSupport.roundRobin;
import static io.tandem.core.udp.UdpTestSupport.shutdown;
import static io.tandem.core.udp.UdpTestSupport.udpConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.tandem.config.UdpOptions;
import io.tandem.core.pool.Backend;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.transport.Transport;
import io.tandem.core.udp.UdpTestSupport.EchoBackend;
import io.tandem.core.vip.Vip;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Many concurrent clients through one UDP listener: replies never cross over, clients stay pinned. */
class UdpAffinityIT {
    private static final int CLIENTS = 1000;
    private static final int DATAGRAMS = 20;
    private static final int WINDOW = 2;
    private static final long RESEND_NANOS = TimeUnit.MILLISECONDS.toNanos(1000);

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.tandem.core.udp.UdpTestSupport#transports")
    void thousandClientsEachGetOnlyTheirOwnRepliesFromOneBackend(Transport transport) throws Exception {
        EventLoopGroup proxyGroup = transport.newGroup(2, "udp-proxy");
        EventLoopGroup backendGroup = transport.newGroup(2, "udp-backend");
        EventLoopGroup clientGroup = transport.newGroup(1, "udp-client");
        List<EchoBackend> echoes = new ArrayList<>();
        UdpListener listener = null;
        try {
            for (int i = 0; i < 3; i++) {
                echoes.add(EchoBackend.start(i, backendGroup, transport));
            }
            List<Backend> backends = echoes.stream().map(UdpTestSupport::backend).toList();
            Vip vip = new Vip("affinity", pool(udpConfig("affinity"), backends, b -> roundRobin(b), 1));
            listener = UdpListener.bind(vip, proxyGroup, transport, ConnectionEvents.NONE,
                    UdpOptions.DEFAULTS).get(10, TimeUnit.SECONDS);
            InetSocketAddress target = listener.localAddress();

            List<Client> clients = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                Client c = new Client(i, target);
                Channel ch = new Bootstrap().group(clientGroup).channel(transport.datagramChannel())
                        .option(ChannelOption.RCVBUF_ALLOCATOR, UdpTestSupport.smallDatagrams())
                        .handler(c).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
                c.channel = ch;
                clients.add(c);
            }
            clientGroup.next().execute(() -> clients.forEach(Client::start));
            var resender = clientGroup.next().scheduleAtFixedRate(
                    () -> clients.forEach(Client::resendOverdue), 100, 100, TimeUnit.MILLISECONDS);

            try {
                await().atMost(Duration.ofSeconds(40)).until(() -> clients.stream().allMatch(Client::done));
            } catch (Throwable t) {
                System.out.printf("udp affinity stuck transport=%s unfinished=%d backends_received=%s %s%n",
                        transport.name(), clients.stream().filter(c -> !c.done()).count(),
                        echoes.stream().map(e -> e.receivedSizes.size()).toList(), listener.stats());
                throw t;
            }
            resender.cancel(false);

            long crossovers = clients.stream().mapToLong(c -> c.crossovers).sum();
            long switches = clients.stream().mapToLong(c -> c.backendSwitches).sum();
            Map<String, Integer> perBackend = new HashMap<>();
            clients.forEach(c -> perBackend.merge(c.backend, 1, Integer::sum));
            long resent = clients.stream().mapToLong(c -> c.resent).sum();
            long received = clients.stream().mapToLong(c -> c.received).sum();
            long sent = clients.stream().mapToLong(c -> c.sent).sum();

            assertThat(crossovers).as("replies delivered to the wrong client").isZero();
            assertThat(switches).as("clients whose replies came from more than one backend").isZero();
            assertThat(clients).allSatisfy(c -> assertThat(c.acked.cardinality()).isEqualTo(DATAGRAMS));
            assertThat(received).as("replies (incl. duplicates of resent requests)").isBetween(
                    (long) CLIENTS * DATAGRAMS, sent);
            assertThat(perBackend).containsOnlyKeys("B0", "B1", "B2");
            assertThat(perBackend.values()).allSatisfy(n -> assertThat(n).isGreaterThan(CLIENTS / 5));
            UdpStats stats = listener.stats();
            assertThat(stats.sessionsCreated.sum()).isEqualTo(CLIENTS);
            assertThat(stats.sessionsActive.get()).isEqualTo(CLIENTS);
            assertThat(stats.datagramsOut.sum()).isGreaterThanOrEqualTo(received);
            assertThat(vip.stats().totalConnections.sum()).isEqualTo(CLIENTS);
            System.out.printf("udp affinity transport=%s sent=%d resent=%d received=%d per_backend=%s %s%n",
                    transport.name(), sent, resent, received, perBackend, stats);

            for (Client c : clients) {
                c.channel.close().sync();
            }
        } finally {
            if (listener != null) {
                listener.close().get(10, TimeUnit.SECONDS);
                assertThat(listener.stats().sessionsActive.get()).isZero();
            }
            for (EchoBackend e : echoes) {
                e.close();
            }
            shutdown(clientGroup);
            shutdown(backendGroup);
            shutdown(proxyGroup);
        }
        assertNoLeaks();
    }

    /**
     * One client socket: sends {@link #DATAGRAMS} numbered datagrams with at most {@link #WINDOW}
     * unanswered, resends overdue ones (UDP may drop under load), and checks every reply.
     * Runs only on the client event loop.
     */
    private static final class Client extends SimpleChannelInboundHandler<DatagramPacket> {
        final int id;
        final InetSocketAddress target;
        final BitSet acked = new BitSet(DATAGRAMS);
        final long[] sentAt = new long[DATAGRAMS];
        Channel channel;
        int nextSeq;
        long sent;
        long resent;
        long received;
        long crossovers;
        long backendSwitches;
        volatile String backend;
        volatile boolean finished;

        Client(int id, InetSocketAddress target) {
            this.id = id;
            this.target = target;
        }

        void start() {
            while (nextSeq < WINDOW) {
                send(nextSeq++);
            }
            channel.flush();
        }

        boolean done() {
            return finished;
        }

        private void send(int seq) {
            sentAt[seq] = System.nanoTime();
            sent++;
            byte[] payload = ("c" + id + ":" + seq).getBytes(StandardCharsets.US_ASCII);
            channel.write(new DatagramPacket(Unpooled.wrappedBuffer(payload), target));
        }

        void resendOverdue() {
            long now = System.nanoTime();
            boolean any = false;
            for (int seq = 0; seq < nextSeq; seq++) {
                if (!acked.get(seq) && now - sentAt[seq] > RESEND_NANOS) {
                    send(seq);
                    resent++;
                    any = true;
                }
            }
            if (any) {
                channel.flush();
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
            received++;
            String text = UdpTestSupport.text(p.content()); // "B<k>|c<id>:<seq>"
            int bar = text.indexOf('|');
            int colon = text.lastIndexOf(':');
            String from = text.substring(0, bar);
            int clientId = Integer.parseInt(text.substring(bar + 2, colon));
            int seq = Integer.parseInt(text.substring(colon + 1));
            if (clientId != id) {
                crossovers++;
                return;
            }
            if (backend == null) {
                backend = from;
            } else if (!backend.equals(from)) {
                backendSwitches++;
            }
            if (!acked.get(seq)) {
                acked.set(seq);
                if (nextSeq < DATAGRAMS) {
                    send(nextSeq++);
                }
            }
            if (acked.cardinality() == DATAGRAMS) {
                finished = true;
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }
    }
}
