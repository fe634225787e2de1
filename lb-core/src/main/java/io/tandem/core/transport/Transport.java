package io.tandem.core.transport;

import io.netty.channel.ChannelFactory;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.tandem.config.TransportKind;
import io.tandem.core.sys.Syscalls;
import org.slf4j.LoggerFactory;

/**
 * The event-loop transport, chosen once at start-up (reactor-netty's
 * {@code DefaultLoopNativeDetector} move): epoll when the native library loads, NIO otherwise.
 * Everything that creates channels asks this object for the classes, so no other code
 * branches on the transport except where epoll-only features (splice, SO_REUSEPORT,
 * IP_FREEBIND, TCP_USER_TIMEOUT) are applied.
 *
 * <p>On epoll, TCP VIPs run on the raw engine ({@code rawTcp}: sockets registered with the
 * loop's epoll directly, no Netty channel per socket; perf/PROFILE.md) unless the system
 * property {@code tandem.tcp.engine=channel} asks for Netty channels (an escape hatch, and the
 * A/B baseline). NIO always uses channels.
 *
 * @param rawTcp TCP connections use the raw epoll engine rather than Netty channels
 */
public record Transport(String name, boolean isEpoll, boolean rawTcp, IoHandlerFactory ioHandlerFactory,
                        Class<? extends ServerChannel> serverChannel,
                        Class<? extends SocketChannel> socketChannel,
                        Class<? extends DatagramChannel> datagramChannel) {
    /** System property choosing the TCP engine on epoll: {@code raw} (default) or {@code channel}. */
    public static final String ENGINE_PROPERTY = "tandem.tcp.engine";

    /** Epoll with the TCP engine the {@value #ENGINE_PROPERTY} property names (raw unless it says channel). */
    public static Transport epollTransport() {
        String engine = System.getProperty(ENGINE_PROPERTY, "raw");
        return switch (engine) {
            case "raw" -> epollTransport(true);
            case "channel" -> epollTransport(false);
            default -> throw new IllegalStateException("-D" + ENGINE_PROPERTY + ": " + engine
                    + " (expected raw or channel)");
        };
    }

    /**
     * Epoll with the raw TCP engine ({@code true}) or Netty channels for TCP ({@code false}). The
     * raw engine needs the FFM socket calls ({@link Syscalls#AVAILABLE}); without them it falls
     * back to channels, and says so.
     */
    public static Transport epollTransport(boolean rawTcp) {
        Epoll.ensureAvailability();
        if (rawTcp && !Syscalls.AVAILABLE) {
            LoggerFactory.getLogger(Transport.class).warn("raw TCP engine unavailable (no native access to libc),"
                    + " using Netty channels for TCP");
            rawTcp = false;
        }
        return new Transport(rawTcp ? "epoll" : "epoll-channel", true, rawTcp, EpollIoHandler.newFactory(),
                EpollServerSocketChannel.class, EpollSocketChannel.class, EpollDatagramChannel.class);
    }

    public static Transport nioTransport() {
        return new Transport("nio", false, false, NioIoHandler.newFactory(), NioServerSocketChannel.class,
                NioSocketChannel.class, NioDatagramChannel.class);
    }

    /**
     * @throws IllegalStateException when {@code EPOLL} is demanded but unavailable (with the cause)
     */
    public static Transport select(TransportKind kind) {
        return switch (kind) {
            case EPOLL -> {
                if (!Epoll.isAvailable()) {
                    throw new IllegalStateException("runtime.transport: epoll (unavailable: "
                            + Epoll.unavailabilityCause() + ")");
                }
                yield epollTransport();
            }
            case NIO -> nioTransport();
            case AUTO -> Epoll.isAvailable() ? epollTransport() : nioTransport();
        };
    }

    /**
     * A factory for {@link #socketChannel()} instances, shared by every caller. Why:
     * {@code Bootstrap.channel(Class)} builds a new {@link ReflectiveChannelFactory} per call,
     * whose constructor runs {@code Class.getConstructor} (reflection: ~5% of the event loops' samples
     * with a new connection per request, as every backend connect builds a Bootstrap; perf/PROFILE.md).
     */
    public ChannelFactory<? extends SocketChannel> socketChannelFactory() {
        return FACTORIES.get(socketChannel);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static final ClassValue<ChannelFactory<? extends SocketChannel>> FACTORIES = new ClassValue<>() {
        @Override
        protected ChannelFactory<? extends SocketChannel> computeValue(Class<?> type) {
            return new ReflectiveChannelFactory(type);
        }
    };

    /** A new event-loop group of {@code threads} (0 = one per core) named {@code prefix-N}. */
    public EventLoopGroup newGroup(int threads, String prefix) {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return new MultiThreadIoEventLoopGroup(n, new DefaultThreadFactory(prefix, true), ioHandlerFactory);
    }
}
