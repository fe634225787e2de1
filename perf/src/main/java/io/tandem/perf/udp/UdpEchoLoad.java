package io.tandem.perf.udp;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import io.tandem.config.HostPort;
import io.tandem.config.TransportKind;
import io.tandem.core.transport.Transport;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A closed-loop UDP echo load generator: {@code sockets} client sockets, each keeping
 * {@code inflight} datagrams outstanding; every echo sends the next one. A datagram not
 * echoed within 1 s counts as lost and is replaced. Prints echoes/s, loss and RTT percentiles
 * (the first second is warm-up and not counted; a line {@code udp echo load measuring} marks its end).
 *
 * <p>Usage: {@code UdpEchoLoad host:port [sockets=64] [inflight=4] [payload=64] [seconds=10] [threads=1]};
 * seconds is capped at 60, payload at 1472.
 */
public final class UdpEchoLoad {
    private static final long LOSS_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int MAX_MICROS = 1_000_000;

    private UdpEchoLoad() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: UdpEchoLoad host:port [sockets=64] [inflight=4] [payload=64] [seconds=10] [threads=1]");
            System.exit(2);
        }
        HostPort target = HostPort.parse(args[0]);
        int sockets = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int inflight = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        int payload = Math.clamp(args.length > 3 ? Integer.parseInt(args[3]) : 64, 16, 1472);
        int seconds = Math.clamp(args.length > 4 ? Integer.parseInt(args[4]) : 10, 1, 60);
        int threads = args.length > 5 ? Integer.parseInt(args[5]) : 1;
        Result r = run(new InetSocketAddress(target.host(), target.port()), sockets, inflight, payload, seconds, threads);
        System.out.println(r);
    }

    public record Result(String target, int sockets, int inflight, int payload, double seconds, long echoes,
                         long lost, long late, long p50Micros, long p99Micros, long p999Micros) {
        @Override
        public String toString() {
            return String.format("udp echo load target=%s sockets=%d inflight=%d payload=%d seconds=%.1f"
                            + " echoes=%d echoes_per_s=%.0f lost=%d loss=%.4f%% late=%d rtt_p50_us=%d rtt_p99_us=%d rtt_p999_us=%d",
                    target, sockets, inflight, payload, seconds, echoes, echoes / seconds, lost,
                    100.0 * lost / Math.max(1, echoes + lost), late, p50Micros, p99Micros, p999Micros);
        }
    }

    public static Result run(InetSocketAddress target, int sockets, int inflight, int payload, int seconds,
                             int threads) throws Exception {
        Transport transport = Transport.select(TransportKind.AUTO);
        EventLoopGroup group = transport.newGroup(threads, "udp-load");
        List<Client> clients = new ArrayList<>();
        try {
            for (int i = 0; i < sockets; i++) {
                Client c = new Client(inflight, payload);
                Channel ch = new Bootstrap().group(group).channel(transport.datagramChannel())
                        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(2048))
                        .handler(c).connect(target).sync().channel();
                c.channel = ch;
                clients.add(c);
            }
            for (Client c : clients) {
                c.channel.eventLoop().execute(c::start);
                c.channel.eventLoop().scheduleAtFixedRate(c::expire, 100, 100, TimeUnit.MILLISECONDS);
            }
            Thread.sleep(1000); // warm-up
            for (Client c : clients) {
                c.channel.eventLoop().submit(c::reset).get();
            }
            long started = System.nanoTime();
            // For harnesses that sample the proxy's CPU over exactly the measured window.
            System.out.println("udp echo load measuring");
            System.out.flush();
            Thread.sleep(seconds * 1000L);
            long[] hist = new long[MAX_MICROS + 1];
            long echoes = 0;
            long lost = 0;
            long late = 0;
            for (Client c : clients) {
                long[] snapshot = c.channel.eventLoop().submit(c::snapshot).get();
                echoes += snapshot[0];
                lost += snapshot[1];
                late += snapshot[2];
                for (int i = 0; i <= MAX_MICROS; i++) {
                    hist[i] += c.hist[i];
                }
            }
            double elapsed = (System.nanoTime() - started) / 1e9;
            return new Result(target.toString(), sockets, inflight, payload, elapsed, echoes, lost, late,
                    percentile(hist, echoes, 0.50), percentile(hist, echoes, 0.99), percentile(hist, echoes, 0.999));
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    private static long percentile(long[] hist, long total, double q) {
        long want = (long) Math.ceil(total * q);
        long seen = 0;
        for (int i = 0; i < hist.length; i++) {
            seen += hist[i];
            if (seen >= want && want > 0) {
                return i;
            }
        }
        return -1;
    }

    /** One socket with {@code inflight} slots; confined to its event loop. */
    private static final class Client extends ChannelInboundHandlerAdapter {
        final long[] seq;
        final long[] sentAt;
        final int payload;
        final long[] hist = new long[MAX_MICROS + 1];
        Channel channel;
        long nextSeq;
        long echoes;
        long lost;
        long late;
        boolean counting;

        Client(int inflight, int payload) {
            this.seq = new long[inflight];
            this.sentAt = new long[inflight];
            this.payload = payload;
        }

        void start() {
            for (int slot = 0; slot < seq.length; slot++) {
                send(slot);
            }
            channel.flush();
        }

        void reset() {
            echoes = 0;
            lost = 0;
            late = 0;
            java.util.Arrays.fill(hist, 0);
            counting = true;
        }

        long[] snapshot() {
            counting = false;
            return new long[] {echoes, lost, late};
        }

        private void send(int slot) {
            long s = nextSeq++;
            long now = System.nanoTime();
            seq[slot] = s;
            sentAt[slot] = now;
            ByteBuf buf = channel.alloc().directBuffer(payload);
            buf.writeInt(slot).writeLong(s).writeLong(now).writeZero(payload - 20);
            channel.write(buf, channel.voidPromise());
        }

        void expire() {
            long now = System.nanoTime();
            boolean any = false;
            for (int slot = 0; slot < seq.length; slot++) {
                if (now - sentAt[slot] > LOSS_TIMEOUT_NANOS) {
                    if (counting) {
                        lost++;
                    }
                    send(slot);
                    any = true;
                }
            }
            if (any) {
                channel.flush();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                ByteBuf in = msg instanceof DatagramPacket p ? p.content() : (ByteBuf) msg;
                if (in.readableBytes() < 20) {
                    return;
                }
                int slot = in.getInt(in.readerIndex());
                long s = in.getLong(in.readerIndex() + 4);
                if (slot < 0 || slot >= seq.length || seq[slot] != s) {
                    late++;
                    return;
                }
                long rttMicros = (System.nanoTime() - sentAt[slot]) / 1000;
                if (counting) {
                    echoes++;
                    hist[(int) Math.min(rttMicros, MAX_MICROS)]++;
                }
                send(slot);
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP unreachable while the target restarts: the expiry timer resends
        }
    }
}
