package io.tandem.core.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link TcpLoop} for unit tests: Netty's embedded event loop (tasks and timers run when the
 * test says, on a clock the test moves) and {@link MemorySocket}s for backends.
 */
final class MemoryLoop extends TcpLoop {
    /** Backend sockets in the order the connection opened them. */
    final List<MemorySocket> opened = new ArrayList<>();
    private final Map<Pipe, ByteBuf> pipes = new IdentityHashMap<>();
    /** Whether sockets splice (as on epoll) or only copy (as on NIO). */
    boolean splice = true;
    /** Whether connect() completes at once (as on loopback, sometimes). */
    boolean connectAtOnce;
    /** What socket() throws, when set (out of descriptors...). */
    IOException socketError;
    int pipesOpen;

    MemoryLoop(EmbeddedChannel channel) {
        super(channel.eventLoop(), Scratch.allocate(), ByteBufAllocator.DEFAULT);
    }

    @Override
    TcpSocket newSocket(InetSocketAddress to) throws IOException {
        if (socketError != null) {
            throw socketError;
        }
        MemorySocket s = new MemorySocket(this, "backend-" + opened.size(), false);
        s.local = new InetSocketAddress("127.0.0.1", 40000 + opened.size());
        s.remote = to;
        opened.add(s);
        return s;
    }

    @Override
    boolean canSplice() {
        return splice;
    }

    @Override
    Pipe openPipe() {
        Pipe p = new Pipe(-1, -1);
        pipes.put(p, Unpooled.buffer());
        pipesOpen++;
        return p;
    }

    @Override
    void closePipe(Pipe pipe) {
        pipes.remove(pipe).release();
        pipesOpen--;
    }

    ByteBuf pipe(Pipe p) {
        return pipes.get(p);
    }
}
