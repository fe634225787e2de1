package io.tandem.perf.udp;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.tandem.config.HostPort;
import io.tandem.core.transport.Transport;
import io.tandem.config.TransportKind;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A fast UDP echo server for load tests: one SO_REUSEPORT socket per event loop on epoll,
 * recvmmsg reads, replies flushed once per read batch (sendmmsg).
 *
 * <p>Usage: {@code UdpEchoServer host:port [threads=1] [seconds=120]}; runs for at most 3600 s (a full perf/bench run takes 10-15 min).
 */
public final class UdpEchoServer {
    private UdpEchoServer() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: UdpEchoServer host:port [threads=1] [seconds=120]");
            System.exit(2);
        }
        HostPort listen = HostPort.parse(args[0]);
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int seconds = Math.min(3600, args.length > 2 ? Integer.parseInt(args[2]) : 120);
        Transport transport = Transport.select(TransportKind.AUTO);
        EventLoopGroup group = transport.newGroup(threads, "udp-echo");
        List<Channel> channels = start(group, transport, new InetSocketAddress(listen.host(), listen.port()));
        System.out.printf("udp echo server transport=%s address=%s sockets=%d seconds=%d%n", transport.name(),
                channels.getFirst().localAddress(), channels.size(), seconds);
        Thread.sleep(seconds * 1000L);
        group.shutdownGracefully().sync();
    }

    /** Binds the echo sockets (one per loop on epoll) and returns them; the first one's port is the real one. */
    public static List<Channel> start(EventLoopGroup group, Transport transport, InetSocketAddress address)
            throws InterruptedException {
        List<Channel> channels = new ArrayList<>();
        InetSocketAddress bindTo = address;
        List<EventExecutor> loops = new ArrayList<>();
        group.forEach(loops::add);
        int sockets = transport.isEpoll() ? loops.size() : 1;
        for (int i = 0; i < sockets; i++) {
            Bootstrap b = new Bootstrap().group((io.netty.channel.EventLoop) loops.get(i))
                    .channel(transport.datagramChannel())
                    .option(ChannelOption.SO_RCVBUF, 1 << 20)
                    .option(ChannelOption.SO_SNDBUF, 1 << 20)
                    .handler(new Echo());
            if (transport.isEpoll()) {
                b.option(EpollChannelOption.SO_REUSEPORT, true)
                        .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, 2048)
                        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(2048 * 16));
            } else {
                b.option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(2048));
            }
            Channel ch = b.bind(bindTo).sync().channel();
            channels.add(ch);
            bindTo = new InetSocketAddress(address.getAddress(), ((InetSocketAddress) ch.localAddress()).getPort());
        }
        return channels;
    }

    @ChannelHandler.Sharable
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof DatagramPacket p) {
                ctx.write(new DatagramPacket(p.content(), p.sender()), ctx.voidPromise());
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // a client went away (ICMP); keep echoing for the others
        }
    }
}
