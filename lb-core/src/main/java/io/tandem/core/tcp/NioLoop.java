package io.tandem.core.tcp;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.nio.NioIoHandle;
import io.tandem.core.transport.InlineRegistration;
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
 * <p>One instance per event loop ({@link TcpLoop#of}), used only on that loop.
 */
final class NioLoop extends TcpLoop {
    private final IoEventLoop loop;

    NioLoop(IoEventLoop loop) {
        super(loop, Scratch.allocate(), ByteBufAllocator.DEFAULT);
        this.loop = loop;
    }

    /** {@code loop}'s instance ({@link TcpLoop#of}). Call on {@code loop}, a NIO loop. */
    static NioLoop of(IoEventLoop loop) {
        return (NioLoop) TcpLoop.of(loop);
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
        return InlineRegistration.register(loop, handle, "selector");
    }
}
