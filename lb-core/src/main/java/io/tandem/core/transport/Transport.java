package io.tandem.core.transport;

import io.netty.channel.EventLoopGroup;
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
import io.tandem.sys.Syscalls;
import org.slf4j.LoggerFactory;

/**
 * The event-loop transport, chosen once at start-up (reactor-netty's
 * {@code DefaultLoopNativeDetector} move): epoll when the native library loads and lb-core's
 * FFM system calls are available ({@link Syscalls#AVAILABLE}), NIO otherwise. Everything that
 * creates channels (admin API, health checks, DNS, UDP) asks this object for the classes, so no
 * other code branches on the transport except where epoll-only features (splice, SO_REUSEPORT,
 * IP_FREEBIND, TCP_USER_TIMEOUT) are applied. TCP VIPs do not use channels: their sockets sit on
 * the same event loops below one connection state machine (lb-core {@code tcp}, docs/data-path.md).
 */
public record Transport(String name, boolean isEpoll, IoHandlerFactory ioHandlerFactory,
                        Class<? extends ServerChannel> serverChannel,
                        Class<? extends SocketChannel> socketChannel,
                        Class<? extends DatagramChannel> datagramChannel) {

    /**
     * Epoll. The TCP data path calls libc through FFM on epoll ({@link Syscalls}): without native
     * access there is no epoll transport.
     *
     * @throws IllegalStateException when epoll or the FFM system calls are unavailable (with why)
     */
    public static Transport epollTransport() {
        Epoll.ensureAvailability();
        if (!Syscalls.AVAILABLE) {
            throw new IllegalStateException("runtime.transport: epoll (unavailable: no native access to libc;"
                    + " run the JVM with --enable-native-access=ALL-UNNAMED)");
        }
        return new Transport("epoll", true, EpollIoHandler.newFactory(), EpollServerSocketChannel.class,
                EpollSocketChannel.class, EpollDatagramChannel.class);
    }

    public static Transport nioTransport() {
        return new Transport("nio", false, NioIoHandler.newFactory(), NioServerSocketChannel.class,
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
            case AUTO -> {
                if (!Epoll.isAvailable()) {
                    yield nioTransport();
                }
                if (!Syscalls.AVAILABLE) {
                    LoggerFactory.getLogger(Transport.class).warn("epoll transport unavailable (no native access to"
                            + " libc: run the JVM with --enable-native-access=ALL-UNNAMED), using NIO");
                    yield nioTransport();
                }
                yield epollTransport();
            }
        };
    }

    /** A new event-loop group of {@code threads} (0 = one per core) named {@code prefix-N}. */
    public EventLoopGroup newGroup(int threads, String prefix) {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return new MultiThreadIoEventLoopGroup(n, new DefaultThreadFactory(prefix, true), ioHandlerFactory);
    }
}
