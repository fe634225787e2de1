package io.tandem.core.udp;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.socket.DatagramPacket;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import io.tandem.core.policy.Policy;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.transport.Transport;
import io.tandem.core.vip.Vip;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/** Shared fixtures of the UDP integration tests: transports, VIPs, echo backends, leak and fd checks. */
final class UdpTestSupport {
    private static final ListAppender<ILoggingEvent> LEAKS = new ListAppender<>();

    static {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.netty")).setLevel(Level.INFO);
        LEAKS.start();
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.netty.util.ResourceLeakDetector"))
                .addAppender(LEAKS);
    }

    private UdpTestSupport() {
    }

    /** Receive buffers for small test datagrams that keep reading while data is there (also on NIO). */
    static RecvByteBufAllocator smallDatagrams() {
        return datagrams(2048);
    }

    /** Fixed {@code size}-byte receive buffers, up to 64 datagrams per read, reading on while data is there. */
    static RecvByteBufAllocator datagrams(int size) {
        FixedRecvByteBufAllocator a = new FixedRecvByteBufAllocator(size);
        a.maxMessagesPerRead(64);
        a.respectMaybeMoreData(false);
        return a;
    }

    static Stream<Transport> transports() {
        return Epoll.isAvailable()
                ? Stream.of(Transport.epollTransport(), Transport.nioTransport())
                : Stream.of(Transport.nioTransport());
    }

    static VipConfig udpConfig(String name) {
        return udpConfig(name, "127.0.0.1");
    }

    static VipConfig udpConfig(String name, String host) {
        return new VipConfig(name, HostPort.of(host, 0), Protocol.UDP, PolicyKind.ROUND_ROBIN, List.of(),
                Limits.UNLIMITED, Timeouts.DEFAULTS, 0, ProxyProtocolVersion.NONE, RelayMode.COPY, Optional.empty());
    }

    static Backend backend(EchoBackend echo) {
        return Backend.of(HostPort.of("127.0.0.1", echo.port()), new InetSocketAddress("127.0.0.1", echo.port()), 1);
    }

    /** Round robin over {@code backends}, skipping tried ones. */
    static Policy roundRobin(List<Backend> backends) {
        AtomicInteger next = new AtomicInteger();
        return (client, tried) -> {
            for (int i = 0; i < backends.size(); i++) {
                Backend b = backends.get(Math.floorMod(next.getAndIncrement(), backends.size()));
                if (!tried.contains(b)) {
                    return b;
                }
            }
            return null;
        };
    }

    /** Always the first backend not tried: makes re-pinning deterministic. */
    static Policy firstAvailable(List<Backend> backends) {
        return (client, tried) -> backends.stream().filter(b -> !tried.contains(b)).findFirst().orElse(null);
    }

    static BackendPool pool(VipConfig config, List<Backend> backends, Function<List<Backend>, Policy> policy,
                            long generation) {
        return new BackendPool(config, backends, policy.apply(backends), false, generation);
    }

    /** Open file descriptors of this JVM (Linux), to prove sessions give their sockets back. */
    static long openFds() {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Forces collection of unreachable buffers and fails if paranoid leak detection reported any. */
    static void assertNoLeaks() {
        for (int round = 0; round < 3; round++) {
            System.gc();
            List<ByteBuf> bufs = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                bufs.add(ByteBufAllocator.DEFAULT.directBuffer(64)); // each allocation polls the leak queue
            }
            bufs.forEach(ByteBuf::release);
        }
        List<String> leaks = LEAKS.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.contains("LEAK")).toList();
        assertThat(leaks).as("netty leak reports").isEmpty();
    }

    /** Records passive signals reported by the listener. */
    static final class RecordingEvents implements ConnectionEvents {
        record Failure(Backend backend, Throwable cause) { }

        final List<Failure> failures = new CopyOnWriteArrayList<>();
        final List<Backend> answered = new CopyOnWriteArrayList<>();

        @Override
        public void connectFailed(Vip vip, Backend backend, Throwable cause, long elapsedNanos) {
            failures.add(new Failure(backend, cause));
        }

        @Override
        public void connected(Vip vip, Backend backend, long elapsedNanos) {
            answered.add(backend);
        }

        /** Backends reported as self-loops, as "vip=backend". */
        final List<String> selfLoops = new CopyOnWriteArrayList<>();

        @Override
        public void selfLoop(Vip vip, Backend backend) {
            selfLoops.add(vip.name() + "=" + backend.address());
        }
    }

    /**
     * A UDP echo server that prefixes every reply with {@code B<id>|} so tests can see which
     * backend answered, and records the size of every datagram it received.
     */
    static final class EchoBackend implements AutoCloseable {
        final int id;
        final Channel channel;
        /** Payload size of every datagram received, in order (synchronized list: copy before iterating). */
        final List<Integer> receivedSizes;

        private EchoBackend(int id, Channel channel, List<Integer> receivedSizes) {
            this.id = id;
            this.channel = channel;
            this.receivedSizes = receivedSizes;
        }

        static EchoBackend start(int id, EventLoopGroup group, Transport transport) throws InterruptedException {
            byte[] prefix = ("B" + id + "|").getBytes(StandardCharsets.US_ASCII);
            List<Integer> sizes = java.util.Collections.synchronizedList(new ArrayList<>());
            Channel ch = new Bootstrap().group(group).channel(transport.datagramChannel())
                    .option(io.netty.channel.ChannelOption.RCVBUF_ALLOCATOR, datagrams(65536))
                    .option(io.netty.channel.ChannelOption.SO_RCVBUF, 1 << 20)
                    .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                        @Override
                        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                            sizes.add(p.content().readableBytes());
                            ByteBuf out = ctx.alloc().buffer(prefix.length + p.content().readableBytes());
                            out.writeBytes(prefix).writeBytes(p.content());
                            ctx.write(new DatagramPacket(out, p.sender()));
                        }

                        @Override
                        public void channelReadComplete(ChannelHandlerContext ctx) {
                            ctx.flush();
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            return new EchoBackend(id, ch, sizes);
        }

        int port() {
            return ((InetSocketAddress) channel.localAddress()).getPort();
        }

        @Override
        public void close() throws InterruptedException {
            channel.close().sync();
        }
    }

    static String text(ByteBuf buf) {
        return buf.toString(StandardCharsets.US_ASCII);
    }

    static void shutdown(EventLoopGroup group) {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
