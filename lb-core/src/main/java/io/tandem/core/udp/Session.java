package io.tandem.core.udp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.unix.Errors;
import io.netty.util.ReferenceCountUtil;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
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
 * <p>Lives on its listener's event loop (the upstream channel is registered on the same loop),
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
    private Channel upstream;    // connected to backend while backend != null
    private BackendPool seenPool;
    private List<Backend> failed = List.of();
    private boolean repinPending;
    private long attachedNanos;
    private long lastSentNanos;
    private boolean answered;
    private int owed;            // replies still expected (responsesPerRequest mode)
    boolean dirty;               // has unflushed writes on the upstream channel

    Session(InetSocketAddress client, ListenerHandler owner) {
        this.client = client;
        this.owner = owner;
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
        if (backend == null && !attach(pool, now)) {
            content.release();
            owner.stats.droppedNoBackend.increment();
            owner.vip.stats().noBackend.increment();
            return false;
        }
        if (!upstream.isWritable()) {
            content.release();
            owner.stats.droppedCongested.increment();
            return true;
        }
        int len = content.readableBytes();
        if (owner.settings.responsesPerRequest() > 0) {
            owed += owner.settings.responsesPerRequest();
        }
        lastSentNanos = now;
        upstream.write(content, upstream.voidPromise());
        owner.countForwarded();
        backend.stats().bytesOut.add(len);
        if (!dirty) {
            dirty = true;
            owner.markDirty(this);
        }
        return true;
    }

    /** Flushes what {@link #forward} wrote during this read batch (one syscall per session, not per datagram). */
    void flush() {
        dirty = false;
        Channel ch = upstream;
        if (ch != null && ch.isActive()) {
            ch.flush();
        }
    }

    /** Closes the upstream socket; the session is over (the table already forgot it). */
    void close() {
        detach();
    }

    private boolean attach(BackendPool pool, long now) {
        seenPool = pool;
        Backend picked = pool.pick(client.getAddress(), failed);
        if (picked == null && !failed.isEmpty()) {
            // Every backend failed once for this client: start over rather than black-hole it.
            failed = List.of();
            picked = pool.pick(client.getAddress(), failed);
        }
        if (picked == null) {
            return false;
        }
        Backend b = picked;
        Channel ch;
        try {
            ch = owner.newUpstreamChannel();
        } catch (RuntimeException e) { // socket() failed: out of file descriptors
            owner.warnSocketFailure(e);
            return false;
        }
        ch.pipeline().addLast(new Upstream());
        backend = b;
        upstream = ch;
        attachedNanos = now;
        answered = false;
        owed = 0;
        b.stats().active.incrementAndGet();
        b.stats().totalConnections.increment();
        if (repinPending) {
            repinPending = false;
            owner.stats.sessionsRepinned.increment();
        }
        connect(ch, b);
        return true;
    }

    private void connect(Channel ch, Backend b) {
        // Registration and connect of a datagram channel complete inline on this loop; the
        // listeners below also cover the general (asynchronous) case.
        owner.loop.register(ch).addListener((ChannelFuture reg) -> {
            if (!reg.isSuccess()) {
                onUpstreamFailure(ch, b, reg.cause());
                return;
            }
            ch.connect(b.socketAddress()).addListener((ChannelFuture con) -> {
                if (!con.isSuccess()) {
                    onUpstreamFailure(ch, b, con.cause());
                } else if (ch == upstream) {
                    ch.flush(); // datagrams written while connecting
                }
            });
        });
    }

    private void detach() {
        Channel ch = upstream;
        Backend b = backend;
        upstream = null;
        backend = null;
        owed = 0;
        if (ch != null) {
            ch.close();
        }
        if (b != null) {
            b.stats().active.decrementAndGet();
        }
    }

    private void onUpstreamFailure(Channel ch, Backend b, Throwable cause) {
        if (ch != upstream) {
            return; // an older upstream of this session
        }
        long elapsed = System.nanoTime() - lastSentNanos;
        log.debug("udp backend failed vip={} client={} backend={} reason=\"{}\"",
                owner.vip.name(), client, b, cause.toString());
        owner.events.connectFailed(owner.vip, b, cause, elapsed);
        b.stats().connectFailures.increment();
        owner.stats.droppedBackendUnreachable.increment();
        if (failed.isEmpty()) {
            failed = new ArrayList<>(2);
        }
        if (!failed.contains(b)) {
            failed.add(b);
        }
        detach();
        repinPending = true;
    }

    private void onReply(Channel ch, DatagramPacket packet) {
        if (ch != upstream) {
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
        long now = System.nanoTime();
        if (!answered) {
            // A UDP connect() proves nothing about the backend; its first answer does.
            answered = true;
            owner.events.connected(owner.vip, backend, now - attachedNanos);
        }
        owner.table.touch(this, now);
        backend.stats().bytesIn.add(len);
        owner.reply(content, client);
        if (owner.settings.responsesPerRequest() > 0 && --owed <= 0) {
            owner.closeSession(this, ListenerHandler.Reason.COMPLETED);
        }
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
        Channel ch = upstream;
        return "Session[client=" + client + " backend=" + backend + " upstream=" + ch
                + (ch == null ? "" : " active=" + ch.isActive() + " writable=" + ch.isWritable()
                        + " pending=" + ch.unsafe().outboundBuffer().size())
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

    /** The handler of one upstream channel; events of a replaced channel are ignored. */
    private final class Upstream extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof DatagramPacket packet) {
                onReply(ctx.channel(), packet);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (ctx.channel() != upstream) {
                return;
            }
            if (isPortUnreachable(cause)) {
                onUpstreamFailure(ctx.channel(), backend, cause);
            } else {
                log.debug("udp upstream error vip={} client={} backend={} reason=\"{}\"",
                        owner.vip.name(), client, backend, cause.toString());
            }
        }
    }
}
