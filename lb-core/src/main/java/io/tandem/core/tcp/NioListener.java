package io.tandem.core.tcp;

import io.netty.channel.IoEvent;
import io.netty.channel.IoRegistration;
import io.netty.channel.nio.NioIoHandle;
import io.netty.channel.nio.NioIoOps;
import io.netty.util.NetUtil;
import io.tandem.core.pool.BackendPool;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectableChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP VIP's listening socket on NIO (machines without epoll): one {@code java.nio} server
 * channel on the group's first loop, registered with its selector, whose accepted connections
 * are spread over the loops by their live counts ({@link AcceptGroup}). No IP_FREEBIND: a
 * standby cannot bind a VIP address it does not own yet.
 *
 * <p>Confined to its event loop.
 */
final class NioListener extends Acceptor implements NioIoHandle {
    private static final Logger log = LoggerFactory.getLogger(NioListener.class);

    private final NioLoop loop;
    private final ServerSocketChannel channel;
    private IoRegistration registration;
    private boolean closed;

    private NioListener(VipOnLoop home, AcceptGroup group, NioLoop loop, ServerSocketChannel channel) {
        super(home, group);
        this.loop = loop;
        this.channel = channel;
    }

    /** A bound, non-blocking server channel for {@code address}. */
    static ServerSocketChannel bind(InetSocketAddress address) throws IOException {
        ServerSocketChannel ch = ServerSocketChannel.open(address.getAddress() instanceof Inet4Address
                ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6);
        try {
            ch.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ch.bind(address, NetUtil.SOMAXCONN);
            ch.configureBlocking(false);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Starts accepting on {@code channel}; closes it when that fails. Call on the loop. */
    static NioListener open(VipOnLoop home, AcceptGroup group, NioLoop loop, ServerSocketChannel channel)
            throws IOException {
        NioListener l = new NioListener(home, group, loop, channel);
        try {
            l.registration = loop.register(l);
            l.interest(true);
            return l;
        } catch (IOException | RuntimeException e) {
            l.close();
            throw e;
        }
    }

    @Override
    void interest(boolean on) {
        registration.submit(on ? NioIoOps.ACCEPT : NioIoOps.NONE);
    }

    @Override
    boolean isClosed() {
        return closed;
    }

    /** Also what Netty calls when the loop shuts down with the listener registered. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (registration != null) {
            registration.cancel();
        }
        try {
            channel.close();
        } catch (IOException e) {
            log.debug("listener close failed vip={} cause=\"{}\"", home.vip.name(), e.toString());
        }
    }

    @Override
    public SelectableChannel selectableChannel() {
        return channel;
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        for (int i = 0; i < ACCEPTS_PER_EVENT && !closed; i++) {
            SocketChannel ch;
            try {
                ch = channel.accept();
            } catch (IOException e) {
                acceptFailed(e);
                return;
            }
            if (ch == null) {
                return; // nothing more to accept
            }
            accepted(ch);
        }
    }

    private void accepted(SocketChannel ch) {
        BackendPool pool = home.vip.pool(); // read once: the connection keeps this snapshot
        InetSocketAddress remote = null;
        if (VipOnLoop.needsClientAddress(pool)) {
            try {
                remote = (InetSocketAddress) ch.getRemoteAddress();
            } catch (IOException e) {
                remote = null; // gone already: its first read will say so
            }
        }
        InetSocketAddress r = remote;
        VipOnLoop to = home.place(group);
        if (to != home) {
            try {
                to.loop.executor.execute(() -> adopt(to, ch, pool, r));
                return;
            } catch (RejectedExecutionException e) { // that loop is shutting down: serve it here
                home.takeBack(to);
            }
        }
        adopt(home, ch, pool, r);
    }

    /** On {@code to}'s loop. */
    private static void adopt(VipOnLoop to, SocketChannel ch, BackendPool pool, InetSocketAddress remote) {
        NioSocket s;
        try {
            s = ((NioLoop) to.loop).accepted(ch);
        } catch (IOException | RuntimeException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing left to do with it
            }
            to.ended();
            return;
        }
        to.adopt(s, pool, remote);
    }
}
