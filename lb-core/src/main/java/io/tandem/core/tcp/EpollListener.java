package io.tandem.core.tcp;

import io.netty.channel.IoEvent;
import io.netty.channel.IoRegistration;
import io.tandem.core.pool.BackendPool;
import io.tandem.sys.Syscalls;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP VIP's listening socket on one epoll event loop ({@link EpollLoop#listen}: IP_FREEBIND,
 * and the options accepted sockets inherit). Either every loop listens on the same socket (a
 * {@code dup} of it each, added with EPOLLEXCLUSIVE: one accept queue, an {@link AcceptGroup}
 * keeping the loops' counts close), or, on the fallback without the loop's epoll descriptor,
 * each loop binds its own {@code SO_REUSEPORT} socket and the kernel hashes connections over
 * them. Each accepted socket becomes a {@link RawSocket} of a {@link TcpConnection} on this loop
 * or, handed off, on a less loaded one.
 *
 * <p>Level-triggered: accept until EAGAIN or the per-event budget, the rest on the next wait. A
 * shared socket wakes one waiting loop per new connection, not every loop (a busy loop finds it
 * on its next wait and may race for it: the loser's accept gets EAGAIN).
 *
 * <p>Confined to its event loop.
 */
final class EpollListener extends Acceptor {
    private static final Logger log = LoggerFactory.getLogger(EpollListener.class);

    private final EpollLoop loop;
    private final Listening socket;
    private IoRegistration registration;

    private EpollListener(VipOnLoop home, AcceptGroup group, EpollLoop loop, int fd) {
        super(home, group);
        this.loop = loop;
        this.socket = new Listening(fd, this);
    }

    /**
     * Starts accepting on the listening socket {@code fd} (bound by {@link EpollLoop#listen}, or a
     * {@code dup} of the group's). Closes {@code fd} when that fails. Call on the loop.
     */
    static EpollListener open(VipOnLoop home, AcceptGroup group, EpollLoop loop, int fd) throws IOException {
        EpollListener l = new EpollListener(home, group, loop, fd);
        try {
            if (loop.hasDescriptor()) {
                l.registration = loop.register(l.socket); // how readiness reaches us; interest is ours
            }
            l.interest(true);
            return l;
        } catch (IOException | RuntimeException e) {
            l.socket.closeNow();
            throw e;
        }
    }

    int fd() {
        return socket.intValue();
    }

    @Override
    boolean isClosed() {
        return socket.closed;
    }

    /**
     * With the descriptor: our own EPOLL_CTL_ADD (EPOLLEXCLUSIVE when shared) and DEL. On the
     * fallback, a pause cancels Netty's registration (Netty then deletes the open descriptor
     * from epoll) and a resume registers anew: from 4.2.13 Netty drops a descriptor from epoll
     * when its interest set empties but later modifies it as if it were still there.
     */
    @Override
    void interest(boolean on) throws IOException {
        if (loop.hasDescriptor()) {
            if (on) {
                loop.add(registration, socket.intValue(),
                        group != null ? EpollLoop.IN | Syscalls.EPOLLEXCLUSIVE : EpollLoop.IN);
            } else {
                loop.remove(socket.intValue());
            }
        } else if (on) {
            registration = loop.register(socket);
            loop.add(registration, socket.intValue(), EpollLoop.IN);
        } else if (registration != null) {
            IoRegistration r = registration;
            registration = null;
            r.cancel();
        }
    }

    @Override
    void close() {
        if (socket.closed) {
            return;
        }
        if (group != null && !paused()) {
            // A dup shares its open file with the other loops' descriptors, and the kernel drops
            // an epoll entry only when the file's last descriptor closes: closing ours alone would
            // leave this loop woken (level-triggered, so on every wait) for connections queued on
            // the socket until the last loop closes, and a reused descriptor number would receive
            // this socket's events. Take it out of our epoll first (AcceptQueueIT).
            try {
                interest(false);
            } catch (IOException e) {
                log.warn("listener remove from epoll failed vip={} cause=\"{}\"", home.vip.name(), e.toString());
            }
        }
        socket.closeNow();
    }

    /** The listening socket is readable: accept what is queued, up to the per-event budget. */
    private void acceptReady() {
        for (int i = 0; i < ACCEPTS_PER_EVENT && !socket.closed; i++) {
            int fd;
            try {
                fd = loop.accept(socket.intValue());
            } catch (IOException e) {
                acceptFailed(e);
                return;
            }
            if (fd < 0) {
                return; // nothing more to accept
            }
            accepted(fd);
        }
    }

    private void accepted(int fd) {
        BackendPool pool = home.vip.pool(); // read once: the connection keeps this snapshot
        InetSocketAddress remote = VipOnLoop.needsClientAddress(pool) ? loop.acceptedAddress() : null;
        VipOnLoop to = home.place(group);
        if (to != home) {
            try {
                to.loop.executor.execute(() -> to.adopt(((EpollLoop) to.loop).accepted(fd), pool, remote));
                return;
            } catch (RejectedExecutionException e) { // that loop is shutting down: serve it here
                home.takeBack(to);
            }
        }
        home.adopt(loop.accepted(fd), pool, remote);
    }

    /** The listening descriptor, registered level-triggered. */
    private static final class Listening extends EpollLoop.Handle {
        private final EpollListener listener;
        private boolean closed;

        Listening(int fd, EpollListener listener) {
            super(fd);
            this.listener = listener;
        }

        @Override
        public void handle(IoRegistration registration, IoEvent event) {
            if (!closed) {
                listener.acceptReady();
            }
        }

        /** Closes the descriptor (the kernel drops it from epoll), then the registration. Idempotent. */
        void closeNow() {
            if (closed) {
                return;
            }
            closed = true;
            closeDescriptor();
            if (listener.registration != null) {
                listener.registration.cancel();
            }
        }

        /** Netty closes registered handles when the loop shuts down. */
        @Override
        public void close() {
            closeNow();
        }
    }
}
