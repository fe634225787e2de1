package io.tandem.core.udp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.tandem.core.pool.Backend;
import io.tandem.core.vip.ConnectionEvents;
import io.tandem.core.vip.SelfLoops;
import io.tandem.core.vip.Vip;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The handler of one listening datagram socket (one per event loop with SO_REUSEPORT) and
 * owner of that socket's sessions. Everything here runs on {@link #loop}: the session table
 * is a plain map, expiry is a periodic sweep on the same loop, and a session's upstream socket
 * is registered on the same loop, so no session state is ever touched by two threads.
 *
 * <p>Writes are batched: datagrams to backends are flushed once per session per read batch
 * ({@code channelReadComplete}), replies to clients once per event-loop iteration (one task
 * scheduled by the first reply), which lets epoll use {@code sendmmsg} for many clients.
 *
 * <p>With a {@link RawListener} (epoll default) this object is not in any pipeline: the raw
 * listener does the I/O and uses this one for the sessions, limits, sweep and counters.
 */
final class ListenerHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ListenerHandler.class);
    private static final long WARN_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    enum Reason { EXPIRED, EVICTED, COMPLETED, NO_BACKEND, SHUTDOWN }

    final Vip vip;
    final UdpSettings settings;
    final UdpStats stats;
    final ConnectionEvents events;
    final EventLoop loop;
    final SessionTable table = new SessionTable();
    private final ChannelFactory<? extends Channel> upstreamFactory;
    private final FixedRecvByteBufAllocator upstreamAllocator;
    /** Upstream sockets registered with epoll directly (no channel per session); false on NIO. */
    final boolean rawUpstreams;
    /** The listening socket when it is raw (no channel): set once it is bound, null on the channel path. */
    RawListener raw;
    private ByteBuffer scratch; // receive buffer of the raw upstream sockets of this loop (channel listener)
    // Per-datagram counters, summed on the loop and added to the shared LongAdders once per read
    // burst / reply flush (see publishCounts): 7 contended adds per echo become 7 per burst.
    private long countIn;
    private long countBytesIn;
    private long countForwarded;
    private long countOut;
    private long countBytesOut;
    private long countReceiveCalls;
    private final ArrayList<Session> dirty = new ArrayList<>();
    private final Runnable flushReplies = this::flushReplies;
    private Channel channel;
    private ScheduledFuture<?> sweeper;
    private boolean replyFlushScheduled;
    private boolean closed;
    private long lastLimitWarn = System.nanoTime() - WARN_INTERVAL_NANOS;
    private long lastSocketWarn = System.nanoTime() - WARN_INTERVAL_NANOS;

    ListenerHandler(Vip vip, UdpSettings settings, UdpStats stats, ConnectionEvents events, EventLoop loop,
                    ChannelFactory<? extends Channel> upstreamFactory) {
        this.vip = vip;
        this.settings = settings;
        this.stats = stats;
        this.events = events;
        this.loop = loop;
        this.upstreamFactory = upstreamFactory;
        // One byte more than allowed: a datagram that fills it was truncated by the kernel.
        // Upstream sockets use plain recv, not recvmmsg: measured slower here (perf/UDP.md) since a
        // session's socket rarely holds more than one reply per wake-up.
        this.upstreamAllocator = new FixedRecvByteBufAllocator(settings.maxDatagramSize() + 1);
        this.upstreamAllocator.maxMessagesPerRead(16);
        this.rawUpstreams = RawUpstream.supported(loop);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        startSweeper();
    }

    /** Starts the idle-session sweep (the channel path does it when the handler is added). Runs on {@link #loop}. */
    void startSweeper() {
        long period = Math.clamp(settings.sessionIdle().toNanos() / 4,
                TimeUnit.MILLISECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(1));
        sweeper = loop.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket packet)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        ByteBuf content = packet.content();
        int len = content.readableBytes();
        countIn++;
        countBytesIn += len;
        if (len > settings.maxDatagramSize()) {
            // The receive slot is maxDatagramSize + 1 bytes, so this one was truncated: never forward it.
            packet.release();
            stats.droppedTooBig.increment();
            return;
        }
        if (closed) {
            packet.release();
            return;
        }
        long now = System.nanoTime();
        InetSocketAddress client = packet.sender();
        Session s = table.get(client);
        if (s == null) {
            s = open(client, now);
            if (s == null) {
                packet.release();
                return;
            }
        } else {
            table.touch(s, now);
        }
        if (!s.forward(content, now)) {
            closeSession(s, Reason.NO_BACKEND);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        for (int i = 0, n = dirty.size(); i < n; i++) {
            dirty.get(i).flush();
        }
        dirty.clear();
        publishCounts();
    }

    /** Called by a session for each datagram it wrote to its backend. */
    void countForwarded() {
        countForwarded++;
    }

    void countForwarded(int datagrams) {
        countForwarded += datagrams;
    }

    /** A client datagram of {@code len} bytes arrived (raw listener). */
    void countIn(int len) {
        countIn++;
        countBytesIn += len;
    }

    /** A reply of {@code len} bytes left for a client (raw listener). */
    void countOut(int len) {
        countOut++;
        countBytesOut += len;
    }

    void countReceiveCall() {
        countReceiveCalls++;
    }

    /** Adds the loop-local counts to the shared counters (readers see them at most one burst late). */
    void publishCounts() {
        if (countReceiveCalls != 0) {
            stats.receiveCalls.add(countReceiveCalls);
            countReceiveCalls = 0;
        }
        if (countIn != 0) {
            stats.datagramsIn.add(countIn);
            stats.bytesIn.add(countBytesIn);
            vip.stats().bytesIn.add(countBytesIn);
            countIn = 0;
            countBytesIn = 0;
        }
        if (countForwarded != 0) {
            stats.datagramsForwarded.add(countForwarded);
            countForwarded = 0;
        }
        if (countOut != 0) {
            stats.datagramsOut.add(countOut);
            stats.bytesOut.add(countBytesOut);
            vip.stats().bytesOut.add(countBytesOut);
            countOut = 0;
            countBytesOut = 0;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("udp listener error vip={} local={} reason=\"{}\"", vip.name(), channel.localAddress(),
                cause.toString());
    }

    /** For tests and debugging: the state of one client's session, read on the loop. */
    String describe(InetSocketAddress client) {
        Session s = table.get(client);
        if (s == null && raw != null) {
            s = table.find(client);
        }
        return s == null ? null : s.toString();
    }

    void markDirty(Session s) {
        dirty.add(s);
    }

    /** The loop's scratch buffer for raw upstream sockets, cleared, at least {@code size} bytes. */
    ByteBuffer scratch(int size) {
        ByteBuffer b = scratch;
        if (b == null || b.capacity() < size) {
            b = ByteBuffer.allocateDirect(Math.max(size, settings.maxDatagramSize() + 1));
            scratch = b;
        }
        return b.clear();
    }

    /** A buffer for one reply of {@code len} bytes (exact size: replies wait in the outbound buffer until the flush). */
    ByteBuf allocReply(int len) {
        return channel.alloc().directBuffer(len, len);
    }

    Channel newUpstreamChannel() {
        Channel ch = upstreamFactory.newChannel();
        ch.config().setRecvByteBufAllocator(upstreamAllocator);
        return ch;
    }

    /** Sends a backend's reply to the client out of the listening socket. Takes ownership of {@code content}. */
    void reply(ByteBuf content, InetSocketAddress client) {
        if (closed || !channel.isWritable()) {
            content.release();
            stats.droppedCongested.increment();
            return;
        }
        countOut++;
        countBytesOut += content.readableBytes();
        channel.write(new DatagramPacket(content, client), channel.voidPromise());
        if (!replyFlushScheduled) {
            replyFlushScheduled = true;
            loop.execute(flushReplies); // runs after this loop iteration's I/O: one sendmmsg for all replies
        }
    }

    private void flushReplies() {
        replyFlushScheduled = false;
        channel.flush();
        publishCounts();
    }

    private Session open(InetSocketAddress client, long now) {
        return open(client, now, 0, false);
    }

    /**
     * A new session for {@code client} (raw IPv4 clients also have a table key), or null when none
     * may be opened: the session limit, or a client that is one of our own upstream sockets on a
     * flow that already passed through this VIP (a self-loop: the datagram is dropped).
     */
    Session open(InetSocketAddress client, long now, long key4, boolean keyed4) {
        SelfLoops.Hop via = null;
        if (SelfLoops.tracking(SelfLoops.Proto.UDP)) {
            via = SelfLoops.arrivedFrom(SelfLoops.Proto.UDP, client);
            if (via != null && via.visits(vip)) {
                stats.droppedSelfLoop.increment();
                selfLoop(via.vip(), via.backend());
                return null;
            }
        }
        if (!reserveSlot()) {
            Session victim = table.eldest();
            if (victim == null) {
                // Full, and every session lives on other loops: cannot evict from here without locks.
                stats.droppedSessionLimit.increment();
                warnLimit();
                return null;
            }
            closeSession(victim, Reason.EVICTED);
            warnLimit();
            if (!reserveSlot()) {
                stats.droppedSessionLimit.increment();
                return null;
            }
        }
        Session s = new Session(client, this, key4, keyed4);
        s.arrivedVia = via;
        table.add(s, now);
        stats.sessionsCreated.increment();
        vip.stats().totalConnections.increment();
        vip.stats().active.incrementAndGet();
        return s;
    }

    /** One slot of the VIP-wide session budget, shared by all loops (a CAS, only when a session starts). */
    private boolean reserveSlot() {
        int max = settings.maxSessions();
        for (;;) {
            int active = stats.sessionsActive.get();
            if (active >= max) {
                return false;
            }
            if (stats.sessionsActive.compareAndSet(active, active + 1)) {
                stats.sessionsPeak.accumulateAndGet(active + 1, Math::max);
                return true;
            }
        }
    }

    void closeSession(Session s, Reason reason) {
        if (!table.remove(s)) {
            return;
        }
        s.close();
        stats.sessionsActive.decrementAndGet();
        vip.stats().active.decrementAndGet();
        switch (reason) {
            case EXPIRED -> stats.sessionsExpired.increment();
            case EVICTED -> stats.sessionsEvicted.increment();
            case COMPLETED -> stats.sessionsCompleted.increment();
            case NO_BACKEND, SHUTDOWN -> { }
        }
    }

    private void sweep() {
        long now = System.nanoTime();
        long idle = settings.sessionIdle().toNanos();
        for (Session s = table.eldest(); s != null && now - s.lastActive >= idle; s = table.eldest()) {
            closeSession(s, Reason.EXPIRED);
        }
    }

    /** Closes every session of this socket. Runs on {@link #loop}. */
    void closeAll() {
        closed = true;
        if (sweeper != null) {
            sweeper.cancel(false);
        }
        for (Session s = table.eldest(); s != null; s = table.eldest()) {
            closeSession(s, Reason.SHUTDOWN);
        }
        dirty.clear();
        publishCounts();
    }

    private void warnLimit() {
        long now = System.nanoTime();
        if (now - lastLimitWarn >= WARN_INTERVAL_NANOS) {
            lastLimitWarn = now;
            log.warn("udp session limit reached vip={} max_sessions={} evicted_total={} dropped_total={}",
                    vip.name(), settings.maxSessions(), stats.sessionsEvicted.sum(), stats.droppedSessionLimit.sum());
        }
    }

    /** {@code backend} of {@code v} leads back into this node: counted, and reported as a passive signal. */
    void selfLoop(Vip v, Backend backend) {
        v.stats().selfLoops.increment();
        try {
            events.selfLoop(v, backend);
        } catch (RuntimeException e) {
            log.warn("connection event listener failed vip={} backend={}", v.name(), backend, e);
        }
    }

    void warnSocketFailure(Exception e) {
        long now = System.nanoTime();
        if (now - lastSocketWarn >= WARN_INTERVAL_NANOS) {
            lastSocketWarn = now;
            log.warn("udp upstream socket failed vip={} reason=\"{}\"", vip.name(), e.toString());
        }
    }
}
