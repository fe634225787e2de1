package io.tandem.core.proxy;

import static io.tandem.core.proxy.RawSocket.IN;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.IoEventLoop;
import io.netty.channel.unix.Errors;
import io.netty.channel.unix.NativeInetAddress;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.Vip;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One listening socket of a TCP VIP on one event loop, for the raw epoll engine:
 * {@code SO_REUSEPORT} (one per loop, the kernel spreads accepts, no shared accept queue),
 * {@code IP_FREEBIND} (a standby can bind a VIP it does not own yet and accept the moment the
 * address is added), and the options accepted sockets inherit on Linux ({@code SO_KEEPALIVE},
 * {@code TCP_NODELAY}: no setsockopt per accept). Each accepted socket becomes a
 * {@link RawConnection} on this loop.
 *
 * <p>Confined to its event loop.
 */
final class RawListener implements RawSocket.Listener {
    private static final Logger log = LoggerFactory.getLogger(RawListener.class);
    private static final int ACCEPTS_PER_EVENT = 64;
    /** Read size of the copy relay: one scratch buffer per event-loop thread, shared by every connection on it. */
    static final int SCRATCH_BYTES = 64 * 1024;
    private static final FastThreadLocal<ByteBuffer> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected ByteBuffer initialValue() {
            return ByteBuffer.allocateDirect(SCRATCH_BYTES);
        }
    };
    private static final int ECONNABORTED = 103;
    private static final int EPERM = 1;
    private static final int EPROTO = 71;

    final Vip vip;
    final IoEventLoop loop;
    final ConnectionEvents events;
    final WarnLimiter warn;
    final ByteBuffer scratch;
    final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    /** The loop's epoll descriptor for one-call adds, or -1 ({@link EpollDescriptor}). */
    final int epollFd;
    private final RawSocket socket;
    /** Netty's accept address: length byte, address, [scope id], port. */
    private final byte[] accepted = new byte[26];
    private boolean paused;

    private RawListener(Vip vip, IoEventLoop loop, ConnectionEvents events, WarnLimiter warn, RawSocket socket) {
        this.vip = vip;
        this.loop = loop;
        this.events = events;
        this.warn = warn;
        this.socket = socket;
        this.scratch = SCRATCH.get();
        this.epollFd = EpollDescriptor.of(loop);
    }

    /** Binds a listening socket on {@code loop}. Call on {@code loop}. */
    static RawListener bind(Vip vip, IoEventLoop loop, InetSocketAddress address, ConnectionEvents events,
                            WarnLimiter warn) throws IOException {
        RawSocket s = RawSocket.stream(address.getAddress());
        try {
            s.setReuseAddress(true);
            s.setReusePort(true);
            s.setFreeBind();
            // Accepted sockets inherit both from the listener on Linux (the kernel clones its flags).
            s.setKeepAlive(true);
            s.setTcpNoDelay(true);
            s.bind(address);
            s.listen(NetUtil.SOMAXCONN);
            RawListener listener = new RawListener(vip, loop, events, warn, s);
            s.register(loop, -1, listener);
            s.interest(IN); // level-triggered: accept until EAGAIN or the per-event budget
            return listener;
        } catch (IOException | RuntimeException e) {
            s.closeNow();
            throw e;
        }
    }

    InetSocketAddress localAddress() {
        return socket.localAddress();
    }

    /** Stops accepting (on the loop). Established connections are not touched. */
    void close() {
        socket.closeNow();
    }

    @Override
    public void ready(RawSocket s, int ops) {
        for (int i = 0; i < ACCEPTS_PER_EVENT && !socket.isClosed(); i++) {
            int fd;
            try {
                fd = socket.accept(accepted);
            } catch (IOException e) {
                acceptFailed(e);
                return;
            }
            if (fd < 0) {
                return; // nothing more to accept
            }
            accept(fd);
        }
    }

    private void accept(int fd) {
        RawSocket client = RawSocket.of(fd);
        BackendPool pool = vip.pool(); // read once: the connection keeps this snapshot
        InetSocketAddress remote = null;
        if (pool.policy().usesClientAddress() || pool.config().proxyProtocol() != ProxyProtocolVersion.NONE) {
            remote = NativeInetAddress.address(accepted, 1, accepted[0]);
        }
        new RawConnection(this, pool, client, remote).open();
    }

    private void acceptFailed(IOException e) {
        int errno = e instanceof Errors.NativeIoException n ? -n.expectedErr() : 0;
        if (errno == ECONNABORTED || errno == EPROTO || errno == EPERM) {
            return; // that one connection is gone; the next readiness event continues
        }
        // Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the listener stays
        // readable, so pause accepting for a second rather than spin, as Netty's ServerBootstrap does.
        if (warn.tryAcquire()) {
            log.warn("accept error vip={} pausing_ms=1000 cause=\"{}\"", vip.name(), e.toString());
        }
        if (!paused) {
            paused = true;
            socket.interest(0);
            loop.schedule(() -> {
                paused = false;
                socket.interest(IN);
            }, 1, TimeUnit.SECONDS);
        }
    }

    @Override
    public void loopClosed(RawSocket s) {
        // nothing held beyond the socket Netty closed
    }
}
