package io.tandem.core.udp;

import java.io.IOException;
import java.net.InetSocketAddress;

/**
 * The socket side of one listening UDP socket, on one event loop: the listening socket and the
 * upstream sockets its sessions open. The seam between the session logic ({@link Sessions},
 * {@link Session}: which backend, when a session starts, moves and ends, what is counted) and the
 * system calls that move the bytes. The logic never sees a payload, only lengths.
 *
 * <p>Implementations drive the logic: on a readable listening socket they look a client up in
 * {@link Sessions} (opening a session if new), ask {@link Sessions#route} for its upstream
 * socket and send the datagram there; on a readable upstream socket they tell the session
 * ({@link Session#replied}) and send the reply to the client out of the listening socket.
 *
 * <ul>
 *   <li>{@link EpollSockets}: the default on Linux. Bare descriptors registered with the loop's
 *       epoll, {@code recvmmsg}/{@code sendmmsg} on native batches in both directions.</li>
 *   <li>{@link NioSockets}: {@code java.nio} datagram channels registered with the loop's NIO
 *       selector, a datagram per system call: for machines without epoll.</li>
 * </ul>
 *
 * <p>Confined to the loop: every method runs on it.
 */
interface DatagramSockets {

    /** The listening socket's bound address (the actual port when 0 was asked). */
    InetSocketAddress localAddress();

    /**
     * Opens a datagram socket connected to {@code backend} for {@code session} and registers it
     * for reading on this loop; whatever arrives on it is {@code session}'s reply.
     *
     * @throws IOException when no socket could be opened or connected ({@link io.tandem.sys.Errno#local}
     *                     tells the node's own resource errors from the others)
     */
    Upstream open(Session session, InetSocketAddress backend) throws IOException;

    /** Closes the listening socket (the sessions' upstream sockets are closed by their sessions). Idempotent. */
    void close();

    /**
     * A session's connected socket to its backend: the backend sees one source port per session,
     * and ICMP port unreachable from it comes back on this socket (as {@code ECONNREFUSED}), for
     * this session only.
     */
    interface Upstream {
        /** The socket's local address (for {@link io.tandem.core.vip.SelfLoops}), or null if unknown. */
        InetSocketAddress localAddress();

        /** Deregisters and closes the socket. Idempotent. */
        void close();
    }
}
