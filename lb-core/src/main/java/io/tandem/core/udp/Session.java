package io.tandem.core.udp;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.IoEventLoop;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.unix.Errors;
import io.netty.util.ReferenceCountUtil;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.sys.Errno;
import io.tandem.core.vip.LocalErrors;
import io.tandem.core.vip.SelfLoops;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client address and the backend it is pinned to, with its own upstream datagram socket
 * connected to that backend. Because the upstream socket is connected and private to the
 * session, a reply needs no lookup: whatever arrives on it goes to {@link #client} out of the
 * listening socket that created the session, and the kernel reports ICMP port unreachable
 * from the backend on it ({@link PortUnreachableException}) — a passive health signal.
 *
 * <p>The upstream socket is a {@link Link}: on epoll a raw socket registered with the loop's
 * epoll ({@link RawUpstream}, no channel per session), elsewhere a Netty datagram channel
 * ({@link ChannelLink}).
 *
 * <p>Lives on its listener's event loop (the upstream socket is registered on the same loop),
 * so none of this needs locks. The backend is re-checked against the VIP's current pool on each
 * client datagram (one volatile read plus an identity compare when the pool did not change).
 */
final class Session {
    private static final Logger log = LoggerFactory.getLogger(Session.class);

    final InetSocketAddress client;
    private final ListenerHandler owner;

    // Intrusive LRU links, owned by SessionTable.
    Session prev;
    Session next;
    boolean linked;
    long lastActive;

    private Backend backend;     // null before the first pick and after the backend failed or left
    private Link upstream;       // connected to backend while backend != null
    private BackendPool seenPool;
    private List<Backend> failed = List.of();
    private boolean repinPending;
    private long attachedNanos;
    private long lastSentNanos;
    private boolean answered;
    private int owed;            // replies still expected (responsesPerRequest mode)
    boolean dirty;               // has unflushed writes on the upstream channel
    /** How this client's flow entered the node when the client is one of our own upstream sockets; null: from outside. */
    SelfLoops.Hop arrivedVia;
    /** Whether the upstream being opened may reach one of our UDP listeners ({@link SelfLoops}). */
    private boolean trackUpstream;
    private InetSocketAddress trackedLocal;
    private SelfLoops.Hop trackedHop;

    /** What {@link #attach} did. */
    private enum Attach {
        OK, NO_BACKEND, SELF_LOOP, LOCAL_ERROR,
        /** The upstream failed at once, and its failure counted the dropped datagram already. */
        FAILED
    }

    // Raw listener path (RawListener): the table key of an IPv4 client, the client's sockaddr
    // as received (copied into each reply's msghdr), and this session's datagrams of the current
    // receive batch (a chain of slot indices in the listener).
    final long key4;
    final boolean keyed4;
    long sa0;
    long sa1;
    long sa2;
    long sa3;
    int saLen;
    int pendHead = -1;
    int pendTail;
    int pendCount;

    Session(InetSocketAddress client, ListenerHandler owner) {
        this(client, owner, 0, false);
    }

    Session(InetSocketAddress client, ListenerHandler owner, long key4, boolean keyed4) {
        this.client = client;
        this.owner = owner;
        this.key4 = key4;
        this.keyed4 = keyed4;
    }

    /** Keeps the client's sockaddr ({@code len} bytes at {@code offset} of {@code addrs}) for replies. */
    void setSockaddr(MemorySegment addrs, long offset, int len) {
        sa0 = addrs.get(JAVA_LONG, offset);
        sa1 = addrs.get(JAVA_LONG, offset + 8);
        sa2 = addrs.get(JAVA_LONG, offset + 16);
        sa3 = addrs.get(JAVA_LONG, offset + 24);
        saLen = len;
    }

    Backend backend() {
        return backend;
    }

    /**
     * Sends one client datagram to the session's backend, picking or re-picking one first if
     * needed. Takes ownership of {@code content}.
     *
     * @return false when no backend is available (the datagram was dropped)
     */
    boolean forward(ByteBuf content, long now) {
        if (!ensureUpstream(now)) {
            content.release();
            return false;
        }
        int len = content.readableBytes();
        Backend b = backend;
        Link link = upstream;
        if (!link.write(content)) {
            // Congested (dropped), or the send reported the backend unreachable (the session detached).
            if (upstream == link) {
                owner.stats.droppedCongested.increment();
            }
            return true;
        }
        if (owner.settings.responsesPerRequest() > 0) {
            owed += owner.settings.responsesPerRequest();
        }
        owner.countForwarded();
        b.stats().bytesOut.add(len);
        if (!dirty && link.needsFlush()) {
            dirty = true;
            owner.markDirty(this);
        }
        return true;
    }

    /**
     * Before a client datagram is sent: re-checks the pinned backend against the current pool and
     * picks (or re-picks) one if needed, opening the upstream socket.
     *
     * @return false when no backend is available (the datagram is dropped and counted here)
     */
    boolean ensureUpstream(long now) {
        BackendPool pool = owner.vip.pool();
        if (backend != null && pool != seenPool) {
            seenPool = pool;
            if (!contains(pool, backend)) {
                log.debug("udp session re-pinned vip={} client={} backend={} reason=\"left pool\"",
                        owner.vip.name(), client, backend);
                detach();
                repinPending = true;
            }
        }
        if (backend == null) {
            switch (attach(pool, now)) {
                case OK -> { }
                case FAILED -> {
                    return false;
                }
                case LOCAL_ERROR -> {
                    owner.stats.droppedLocalError.increment();
                    return false;
                }
                case SELF_LOOP -> {
                    owner.stats.droppedSelfLoop.increment();
                    return false;
                }
                case NO_BACKEND -> {
                    owner.stats.droppedNoBackend.increment();
                    owner.vip.stats().noBackend.increment();
                    return false;
                }
            }
        }
        lastSentNanos = now;
        return true;
    }

    /** The upstream socket when it is a raw one (raw listener path), else null. */
    RawUpstream rawUpstream() {
        return upstream instanceof RawUpstream r ? r : null;
    }

    boolean isCurrent(Link link) {
        return link == upstream;
    }

    /** Accounting for {@code datagrams} client datagrams ({@code bytes} in all) sent to the backend by the raw listener. */
    void forwarded(int datagrams, long bytes) {
        if (owner.settings.responsesPerRequest() > 0) {
            owed += owner.settings.responsesPerRequest() * datagrams;
        }
        owner.countForwarded(datagrams);
        Backend b = backend;
        if (b != null) {
            b.stats().bytesOut.add(bytes);
        }
    }

    /**
     * Accounting for one reply of {@code len} bytes that the raw listener relays to the client.
     *
     * @return true when it completed the session (responses per request): the session is closed
     */
    boolean onRawReply(int len, long now) {
        noteReply(len, now);
        return completeIfAnswered();
    }

    /** Flushes what {@link #forward} wrote during this read batch (one syscall per session, not per datagram). */
    void flush() {
        dirty = false;
        Link link = upstream;
        if (link != null) {
            link.flush();
        }
    }

    /** Closes the upstream socket; the session is over (the table already forgot it). */
    void close() {
        detach();
    }

    private Attach attach(BackendPool pool, long now) {
        seenPool = pool;
        Backend picked = pool.pick(client.getAddress(), failed);
        if (picked == null && !failed.isEmpty()) {
            // Every backend failed once for this client: start over rather than black-hole it.
            failed = List.of();
            picked = pool.pick(client.getAddress(), failed);
        }
        SelfLoops.Check check = SelfLoops.Check.NONE;
        boolean looped = false;
        while (picked != null) {
            check = SelfLoops.check(SelfLoops.Proto.UDP, picked.socketAddress(), owner.vip, arrivedVia);
            if (check != SelfLoops.Check.LOOP) {
                break;
            }
            // It leads back into this VIP: report it, and skip it (no socket opened).
            looped = true;
            owner.selfLoop(owner.vip, picked);
            addFailed(picked);
            picked = pool.pick(client.getAddress(), failed);
        }
        if (picked == null) {
            return looped ? Attach.SELF_LOOP : Attach.NO_BACKEND;
        }
        Backend b = picked;
        // Registered once connected, before its first datagram is sent: an arrival can never precede it.
        trackUpstream = check == SelfLoops.Check.TRACK;
        ChannelLink toConnect = null;
        if (owner.rawUpstreams) {
            RawUpstream raw;
            try {
                raw = RawUpstream.open(this, (IoEventLoop) owner.loop, b.socketAddress());
            } catch (IOException | RuntimeException e) { // socket() failed (out of file descriptors) or connect()
                int local = Errno.local(e);
                if (local != 0) { // the node's own resource error: never the backend's
                    owner.vip.localErrors().record(LocalErrors.Op.CONNECT, local, e, "datagram dropped");
                    return Attach.LOCAL_ERROR;
                }
                owner.warnSocketFailure(e);
                return Attach.NO_BACKEND;
            }
            upstream = raw;
        } else {
            Channel ch;
            try {
                ch = owner.newUpstreamChannel();
            } catch (RuntimeException e) { // socket() failed: out of file descriptors, the node's fault
                int local = Errno.local(e);
                owner.vip.localErrors().record(LocalErrors.Op.CONNECT, local != 0 ? local : Errno.of(e), e,
                        "datagram dropped");
                return Attach.LOCAL_ERROR;
            }
            ChannelLink link = new ChannelLink(ch);
            ch.pipeline().addLast(new Upstream(link));
            upstream = link;
            toConnect = link;
        }
        backend = b;
        attachedNanos = now;
        answered = false;
        owed = 0;
        b.stats().active.incrementAndGet();
        b.stats().totalConnections.increment();
        if (repinPending) {
            repinPending = false;
            owner.stats.sessionsRepinned.increment();
        }
        if (toConnect != null) {
            connect(toConnect, b);
        } else if (trackUpstream && upstream instanceof RawUpstream raw) {
            track(raw.localAddress(), b); // getsockname: only for a backend that may be one of our listeners
        }
        return upstream != null ? Attach.OK : Attach.FAILED; // null: the channel connect failed at once
    }

    /** Registers the upstream socket at {@code local} so its arrival at one of our listeners is recognised. */
    private void track(java.net.SocketAddress local, Backend b) {
        if (local instanceof InetSocketAddress isa && trackedLocal == null && backend == b) {
            trackedHop = new SelfLoops.Hop(owner.vip, b, arrivedVia);
            trackedLocal = isa;
            SelfLoops.track(SelfLoops.Proto.UDP, isa, trackedHop);
        }
    }

    private void untrack() {
        if (trackedLocal != null) {
            SelfLoops.untrack(SelfLoops.Proto.UDP, trackedLocal, trackedHop);
            trackedLocal = null;
            trackedHop = null;
        }
    }

    private void addFailed(Backend b) {
        if (failed.isEmpty()) {
            failed = new ArrayList<>(2);
        }
        if (!failed.contains(b)) {
            failed.add(b);
        }
    }

    private void connect(ChannelLink link, Backend b) {
        Channel ch = link.channel;
        // Registration and connect of a datagram channel complete inline on this loop; the
        // listeners below also cover the general (asynchronous) case.
        owner.loop.register(ch).addListener((ChannelFuture reg) -> {
            if (!reg.isSuccess()) {
                onUpstreamFailure(link, b, reg.cause(), true);
                return;
            }
            ch.connect(b.socketAddress()).addListener((ChannelFuture con) -> {
                if (!con.isSuccess()) {
                    onUpstreamFailure(link, b, con.cause(), false);
                } else if (link == upstream) {
                    if (trackUpstream) {
                        track(ch.localAddress(), b);
                    }
                    ch.flush(); // datagrams written while connecting
                }
            });
        });
    }

    private void detach() {
        untrack();
        Link link = upstream;
        Backend b = backend;
        upstream = null;
        backend = null;
        owed = 0;
        if (link != null) {
            link.close();
        }
        if (b != null) {
            b.stats().active.decrementAndGet();
        }
    }

    ListenerHandler owner() {
        return owner;
    }

    /** A send or receive on {@code link} failed: ICMP port unreachable ends the pinning, anything else is logged. */
    void onLinkFailure(Link link, Throwable cause) {
        if (link != upstream) {
            return;
        }
        if (isPortUnreachable(cause)) {
            onUpstreamFailure(link, backend, cause, false);
        } else {
            log.debug("udp upstream error vip={} client={} backend={} reason=\"{}\"",
                    owner.vip.name(), client, backend, cause.toString());
        }
    }

    /**
     * The upstream socket to {@code b} failed: a passive signal against {@code b}, unless the
     * failure is the node's own ({@code local}, e.g. the registration, or a local errno such as a
     * source port range used up): then it is counted in the VIP's local errors instead.
     */
    private void onUpstreamFailure(Link link, Backend b, Throwable cause, boolean local) {
        if (link != upstream) {
            return; // an older upstream of this session
        }
        int localErrno = Errno.local(cause);
        if (local || localErrno != 0) {
            owner.vip.localErrors().record(LocalErrors.Op.CONNECT, localErrno != 0 ? localErrno : Errno.of(cause),
                    cause, "datagrams dropped");
            owner.stats.droppedLocalError.increment();
            detach();
            return;
        }
        long elapsed = System.nanoTime() - lastSentNanos;
        log.debug("udp backend failed vip={} client={} backend={} reason=\"{}\"",
                owner.vip.name(), client, b, cause.toString());
        owner.events.connectFailed(owner.vip, b, cause, elapsed);
        b.stats().connectFailures.increment();
        owner.stats.droppedBackendUnreachable.increment();
        addFailed(b);
        detach();
        repinPending = true;
    }

    /** A reply of {@code len} bytes read by a raw upstream into {@code scratch} (positions 0..len). */
    void onRawReply(Link link, ByteBuffer scratch, int len) {
        if (link != upstream) {
            return;
        }
        if (len > owner.settings.maxDatagramSize()) {
            owner.stats.droppedTooBig.increment();
            return;
        }
        ByteBuf content = owner.allocReply(len);
        scratch.clear().limit(len);
        content.writeBytes(scratch);
        onReply(content, len);
    }

    private void onReply(Link link, DatagramPacket packet) {
        if (link != upstream) {
            packet.release();
            return;
        }
        ByteBuf content = packet.content();
        int len = content.readableBytes();
        if (len > owner.settings.maxDatagramSize()) {
            packet.release();
            owner.stats.droppedTooBig.increment();
            return;
        }
        onReply(content, len);
    }

    /** Relays one reply to the client. Takes ownership of {@code content}. */
    private void onReply(ByteBuf content, int len) {
        noteReply(len, System.nanoTime());
        owner.reply(content, client);
        completeIfAnswered();
    }

    private void noteReply(int len, long now) {
        if (!answered) {
            // A UDP connect() proves nothing about the backend; its first answer does.
            answered = true;
            owner.events.connected(owner.vip, backend, now - attachedNanos);
        }
        owner.table.touch(this, now);
        backend.stats().bytesIn.add(len);
    }

    /** In responses-per-request mode, ends the session once every request was answered. */
    private boolean completeIfAnswered() {
        if (owner.settings.responsesPerRequest() > 0 && --owed <= 0) {
            owner.closeSession(this, ListenerHandler.Reason.COMPLETED);
            return true;
        }
        return false;
    }

    private static boolean contains(BackendPool pool, Backend b) {
        List<Backend> backends = pool.backends();
        for (int i = 0, n = backends.size(); i < n; i++) {
            Backend x = backends.get(i);
            if (x == b || x.address().equals(b.address())) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
 return "Session[client=" + client + " backend=" + backend + " upstream=" + upstream
                + " dirty=" + dirty + " owed=" + owed + " idle_ms=" + (System.nanoTime() - lastActive) / 1_000_000 + "]";
    }

    /** ECONNREFUSED on a connected UDP socket is how the kernel reports ICMP port unreachable. */
    static boolean isPortUnreachable(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof PortUnreachableException) {
                return true;
            }
            if (t instanceof Errors.NativeIoException e && e.expectedErr() == Errors.ERROR_ECONNREFUSED_NEGATIVE) {
                return true;
            }
        }
        return false;
    }

    /** A session's connected upstream socket, whichever way it is driven. */
    sealed interface Link permits ChannelLink, RawUpstream {
        /** Sends (or queues until {@link #flush}) one datagram. Takes ownership of {@code content}. @return false if dropped */
        boolean write(ByteBuf content);

        /** Whether {@link #write} only queued and the session must {@link #flush} after the read batch. */
        boolean needsFlush();

        void flush();

        void close();
    }

    /** The upstream as a Netty datagram channel (NIO, or epoll when raw sockets are disabled). */
    static final class ChannelLink implements Link {
        final Channel channel;

        ChannelLink(Channel channel) {
            this.channel = channel;
        }

        @Override
        public boolean write(ByteBuf content) {
            if (!channel.isWritable()) {
                content.release();
                return false;
            }
            channel.write(content, channel.voidPromise());
            return true;
        }

        @Override
        public boolean needsFlush() {
            return true;
        }

        @Override
        public void flush() {
            if (channel.isActive()) {
                channel.flush();
            }
        }

        @Override
        public void close() {
            channel.close();
        }

        @Override
        public String toString() {
            return channel + " active=" + channel.isActive() + " writable=" + channel.isWritable()
                    + " pending=" + channel.unsafe().outboundBuffer().size();
        }
    }

    /** The handler of one upstream channel; events of a replaced channel are ignored. */
    private final class Upstream extends ChannelInboundHandlerAdapter {
        private final ChannelLink link;

        Upstream(ChannelLink link) {
            this.link = link;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof DatagramPacket packet) {
                onReply(link, packet);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            onLinkFailure(link, cause);
        }
    }
}
