package io.tandem.core.tcp;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoop;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Ticker;
import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * One event loop as the TCP data path sees it: the executor and clock its connections' timers
 * run on, the copy relay's {@link Scratch} buffer, the allocator for what a full target did not
 * take, the late idle timers, and where new sockets and pipes come from. Connections and
 * listeners reach their loop only through this; {@link EpollLoop} (the one door to Netty's epoll
 * internals and to the system calls) and {@link NioLoop} are the two kinds, and a unit test
 * brings its own with an in-memory socket and a clock it moves by hand.
 *
 * <p>One instance per event loop, used only on it.
 */
abstract class TcpLoop {
    private static final FastThreadLocal<TcpLoop> PER_LOOP = new FastThreadLocal<>();
    final EventLoop executor;
    final Scratch scratch;
    final ByteBufAllocator alloc;
    final LateIdleTimers lateTimers;
    private final Ticker ticker;
    /** Tells the loops' connection ids apart (low bits of an id). */
    private static final java.util.concurrent.atomic.AtomicInteger LOOPS = new java.util.concurrent.atomic.AtomicInteger();
    static final int LOOP_BITS = 12;
    private final long loopTag = LOOPS.getAndIncrement() & ((1 << LOOP_BITS) - 1);
    /** Connections admitted on this loop so far; confined to the loop, so counting costs no atomic. */
    private long admitted;

    TcpLoop(EventLoop executor, Scratch scratch, ByteBufAllocator alloc) {
        this.executor = executor;
        this.ticker = executor.ticker();
        this.scratch = scratch;
        this.alloc = alloc;
        this.lateTimers = new LateIdleTimers(executor);
    }

    /**
     * {@code loop}'s instance (an {@link EpollLoop} or a {@link NioLoop}), made on first use. Call
     * on {@code loop}: one event loop is one thread.
     */
    static TcpLoop of(IoEventLoop loop) {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("TcpLoop.of called off its event loop");
        }
        TcpLoop l = PER_LOOP.getIfExists();
        if (l == null) {
            l = loop.isCompatible(EpollIoHandle.class) ? new EpollLoop(loop) : new NioLoop(loop);
            PER_LOOP.set(l);
        }
        return l;
    }

    /**
     * A new connection id: this loop's own count with the loop in the low bits, so ids are unique
     * on the node without a counter the loops share (admin API listing; loop thread only).
     */
    final long nextConnectionId() {
        return (++admitted << LOOP_BITS) | loopTag;
    }

    /** The clock the executor schedules by (the system's; a test's mock). */
    final long nanoTime() {
        return ticker.nanoTime();
    }

    /** A new non-blocking TCP socket of {@code to}'s address family, not connected or registered yet. */
    abstract TcpSocket newSocket(InetSocketAddress to) throws IOException;

    /** Whether sockets of this loop can splice (zero-copy through a {@link Pipe}). */
    abstract boolean canSplice();

    abstract Pipe openPipe() throws IOException;

    abstract void closePipe(Pipe pipe);
}
