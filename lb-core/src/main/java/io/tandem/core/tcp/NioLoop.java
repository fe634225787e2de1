package io.tandem.core.tcp;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.nio.NioIoHandle;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;

/**
 * One Netty NIO event loop as the TCP data path uses it, for machines without epoll: its
 * sockets are {@link NioSocket}s ({@code java.nio} channels registered with the loop's selector
 * through Netty 4.2's I/O handle API), copy only.
 *
 * <p>One instance per event loop ({@link #of}), used only on that loop.
 */
final class NioLoop extends TcpLoop {
    private static final FastThreadLocal<NioLoop> PER_LOOP = new FastThreadLocal<>();

    private final IoEventLoop loop;

    private NioLoop(IoEventLoop loop) {
        super(loop, Scratch.allocate(), ByteBufAllocator.DEFAULT);
        this.loop = loop;
    }

    /** {@code loop}'s instance. Call on {@code loop}. */
    static NioLoop of(IoEventLoop loop) {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("NioLoop.of called off its event loop");
        }
        NioLoop l = PER_LOOP.getIfExists();
        if (l == null) {
            l = new NioLoop(loop);
            PER_LOOP.set(l);
        }
        return l;
    }

    @Override
    NioSocket newSocket(InetSocketAddress to) throws IOException {
        SocketChannel ch = SocketChannel.open(to.getAddress() instanceof Inet4Address ? StandardProtocolFamily.INET
                : StandardProtocolFamily.INET6);
        try {
            ch.configureBlocking(false);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return new NioSocket(this, ch, false);
    }

    /**
     * An accepted channel, served on this loop. A listening NIO socket passes no options on, so
     * TCP_NODELAY and SO_KEEPALIVE are set here (the epoll path inherits them from its listener).
     */
    NioSocket accepted(SocketChannel ch) throws IOException {
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        ch.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
        return new NioSocket(this, ch, true);
    }

    @Override
    boolean canSplice() {
        return false;
    }

    @Override
    Pipe openPipe() {
        throw new UnsupportedOperationException("NIO sockets do not splice");
    }

    @Override
    void closePipe(Pipe pipe) {
        // never opened
    }

    /** Registers {@code handle} with the loop's selector (call on the loop: completes inline), interest none yet. */
    IoRegistration register(NioIoHandle handle) throws IOException {
        Future<IoRegistration> f = loop.register(handle);
        if (!f.isSuccess()) {
            Throwable cause = f.cause();
            throw new IOException("selector registration " + (cause == null ? "did not complete inline" : "failed"),
                    cause);
        }
        return f.getNow();
    }
}
