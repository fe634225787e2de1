package io.tandem.core.udp;

import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.nio.NioIoHandle;
import io.netty.channel.nio.NioIoOps;
import io.tandem.core.transport.InlineRegistration;
import io.tandem.sys.RateLimitedLog;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectableChannel;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NIO side of a UDP listener ({@link DatagramSockets}), for machines without epoll: plain
 * non-blocking {@code java.nio} datagram channels, registered with the event loop's selector
 * through Netty 4.2's public I/O handle API ({@link NioIoHandle}: no Netty channel), moving a
 * datagram at a time through one direct buffer of {@code maxDatagramSize + 1} bytes (the
 * one-byte-larger slot: a datagram that fills it was truncated and is dropped).
 *
 * <p>Same sessions, limits, re-pinning and counters as on epoll; what it lacks next to
 * {@link EpollSockets}:
 * <ul>
 *   <li>no batching: a system call per datagram in each direction (and the JDK's own
 *       bookkeeping per call), where epoll moves up to {@code batch} per call;</li>
 *   <li>one listening socket for the VIP on one loop (no {@code SO_REUSEPORT} socket per loop)
 *       and no {@code IP_FREEBIND};</li>
 *   <li>an empty client datagram cannot be forwarded: the JDK sends nothing for an empty buffer
 *       on a connected channel, so it is dropped and counted as congested (empty replies are
 *       relayed: the listening channel is not connected).</li>
 * </ul>
 *
 * <p>ICMP port unreachable from a backend surfaces as {@link PortUnreachableException} on the
 * session's connected channel (the selector reports the pending socket error as readable).
 *
 * <p>Confined to its event loop.
 */
final class NioSockets implements DatagramSockets, NioIoHandle {
    private static final Logger log = LoggerFactory.getLogger(NioSockets.class);

    private final Sessions sessions;
    private final UdpStats stats;
    private final IoEventLoop loop;
    private final DatagramChannel channel;
    /** One datagram in either direction (client → backend, backend → client): used up before the next is read. */
    private final ByteBuffer buffer;
    private final int maxDatagram;
    /** Datagrams read per readiness event: the same budget as the epoll side's recvmmsg rounds. */
    private final int readsPerEvent;
    private IoRegistration registration;
    private boolean closed;
    private final RateLimitedLog errorWarn = RateLimitedLog.every(Duration.ofSeconds(10));

    private NioSockets(Sessions sessions, IoEventLoop loop, DatagramChannel channel) {
        this.sessions = sessions;
        this.stats = sessions.stats;
        this.loop = loop;
        this.channel = channel;
        this.maxDatagram = sessions.options.maxDatagramSize();
        this.buffer = ByteBuffer.allocateDirect(maxDatagram + 1);
        this.readsPerEvent = sessions.batch * EpollSockets.MAX_READS_PER_EVENT;
    }

    /** True when {@code loop} is a NIO event loop. */
    static boolean supported(IoEventLoop loop) {
        return loop.isCompatible(NioIoHandle.class);
    }

    /**
     * Opens a channel bound to {@code address} ({@code socketBuffer}-byte buffers) and registers it
     * for reading on {@code loop}. Must run on that loop.
     */
    static NioSockets open(Sessions sessions, IoEventLoop loop, InetSocketAddress address, int socketBuffer)
            throws IOException {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("not on the listener's event loop");
        }
        DatagramChannel ch = DatagramChannel.open(family(address));
        NioSockets sockets = null;
        try {
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.SO_RCVBUF, socketBuffer);
            ch.setOption(StandardSocketOptions.SO_SNDBUF, socketBuffer);
            ch.bind(address);
            sockets = new NioSockets(sessions, loop, ch);
            sockets.registration = register(loop, sockets);
        } catch (IOException | RuntimeException e) {
            if (sockets != null) {
                sockets.close();
            } else {
                closeQuietly(ch);
            }
            throw e;
        }
        return sockets;
    }

    /** Registers {@code handle} for reading; on its own loop the registration completes inline. */
    private static IoRegistration register(IoEventLoop loop, NioIoHandle handle) throws IOException {
        IoRegistration r = InlineRegistration.register(loop, handle, "selector");
        r.submit(NioIoOps.READ);
        return r;
    }

    private static StandardProtocolFamily family(InetSocketAddress address) {
        return address.getAddress() instanceof Inet6Address
                ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
    }

    @Override
    public InetSocketAddress localAddress() {
        try {
            return (InetSocketAddress) channel.getLocalAddress();
        } catch (IOException e) {
            return null; // closed
        }
    }

    @Override
    public SelectableChannel selectableChannel() {
        return channel;
    }

    @Override
    public Upstream open(Session session, InetSocketAddress backend) throws IOException {
        if (closed) {
            throw new IOException("listener closed");
        }
        DatagramChannel ch = DatagramChannel.open(family(backend));
        Upstream up = new Upstream(ch, session);
        try {
            ch.configureBlocking(false);
            ch.connect(backend);
            up.registration = register(loop, up);
        } catch (IOException | RuntimeException e) {
            up.close();
            throw e;
        }
        return up;
    }

    // ---------------------------------------------------------------- client -> backend

    /** The listening channel is readable. */
    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        for (int i = 0; i < readsPerEvent && !closed; i++) {
            buffer.clear();
            SocketAddress from;
            try {
                from = channel.receive(buffer);
            } catch (IOException e) {
                logError("receive", e);
                break;
            }
            if (from == null) {
                break; // empty (level-triggered: anything later wakes us again)
            }
            sessions.countReceiveCall();
            onDatagram((InetSocketAddress) from, buffer.position(), now);
        }
        sessions.publishCounts();
    }

    private void onDatagram(InetSocketAddress client, int len, long now) {
        sessions.countIn(len);
        if (len > maxDatagram) {
            stats.droppedTooBig.increment();
            return;
        }
        Session s = sessions.session(client, now);
        if (s == null) {
            return;
        }
        Upstream up = (Upstream) sessions.route(s, now);
        if (up == null) {
            return;
        }
        if (len == 0) {
            stats.droppedCongested.increment(); // the JDK sends nothing for an empty buffer on a connected channel
            return;
        }
        buffer.flip();
        int n;
        try {
            n = up.channel.write(buffer);
        } catch (PortUnreachableException e) {
            s.failed(up, Session.portUnreachable("write"), now); // counts this datagram
            return;
        } catch (IOException e) {
            stats.droppedCongested.increment();
            s.failed(up, e, now);
            return;
        }
        if (n == 0) {
            stats.droppedCongested.increment(); // the socket's send buffer is full
            return;
        }
        s.forwarded(1, len);
    }

    // ---------------------------------------------------------------- backend -> client

    /** An upstream channel is readable (or has a pending error): relays its replies to the client. */
    private void readReplies(Upstream up) {
        if (closed) {
            return;
        }
        Session s = up.session;
        long now = System.nanoTime();
        for (int i = 0; i < EpollSockets.REPLY_BURST && !up.closed; i++) {
            buffer.clear();
            SocketAddress from;
            try {
                from = up.channel.receive(buffer);
            } catch (PortUnreachableException e) {
                s.failed(up, Session.portUnreachable("receive"), now);
                break;
            } catch (IOException e) {
                s.failed(up, e, now);
                break;
            }
            if (from == null) {
                break;
            }
            int len = buffer.position();
            if (len > maxDatagram) {
                stats.droppedTooBig.increment();
                continue;
            }
            if (!s.isCurrent(up)) {
                break; // an older upstream of this session (cannot normally be registered any more)
            }
            boolean completed = s.replied(len, now);
            buffer.flip();
            reply(s.client, len);
            if (completed) {
                break; // responses per request: the session is over, the rest are not relayed
            }
        }
        sessions.publishCounts();
    }

    /** Sends the reply in {@link #buffer} to {@code client} out of the listening channel. */
    private void reply(InetSocketAddress client, int len) {
        int n;
        try {
            n = channel.send(buffer, client);
        } catch (IOException e) {
            stats.droppedCongested.increment(); // refused (e.g. a firewall): skip it
            logError("send", e);
            return;
        }
        if (n == 0 && len > 0) {
            stats.droppedCongested.increment(); // send buffer full
            return;
        }
        sessions.countOut(len);
    }

    // ---------------------------------------------------------------- helpers

    private void logError(String call, IOException e) {
        long held = errorWarn.admit();
        if (held >= 0) {
            log.warn("udp listener {} failed vip={} reason=\"{}\" suppressed_since_last={}", call, sessions.vip.name(),
                    e.toString(), held);
        }
    }

    private static void closeQuietly(DatagramChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // the descriptor is gone either way
        }
    }

    /** Closes the listening channel. Runs on the loop; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (registration != null) {
            registration.cancel();
        }
        closeQuietly(channel);
    }

    @Override
    public String toString() {
        return "nio-sockets[" + channel + (closed ? " closed" : "") + "]";
    }

    /** A session's upstream socket: a connected, non-blocking datagram channel registered for reading. */
    final class Upstream implements DatagramSockets.Upstream, NioIoHandle {
        final Session session;
        final DatagramChannel channel;
        private IoRegistration registration;
        boolean closed;

        private Upstream(DatagramChannel channel, Session session) {
            this.channel = channel;
            this.session = session;
        }

        @Override
        public SelectableChannel selectableChannel() {
            return channel;
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            if (!closed) {
                readReplies(this);
            }
        }

        @Override
        public InetSocketAddress localAddress() {
            try {
                return (InetSocketAddress) channel.getLocalAddress();
            } catch (IOException e) {
                return null;
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            if (registration != null) {
                registration.cancel();
            }
            closeQuietly(channel);
        }

        @Override
        public String toString() {
            return "nio-upstream[" + channel + (closed ? " closed" : "") + "]";
        }
    }
}
