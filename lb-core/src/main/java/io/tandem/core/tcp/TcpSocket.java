package io.tandem.core.tcp;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The socket seam of the TCP data path: what {@link TcpConnection} asks of each of its two
 * sockets, in the manner of HAProxy's {@code xprt_ops} ({@code rcv_buf}, {@code snd_buf},
 * {@code rcv_pipe}, {@code snd_pipe}) and Envoy's {@code IoHandle}. The connection logic is
 * written once above it; below it are {@link RawSocket} (a bare descriptor on the loop's epoll,
 * the default on Linux) and {@link NioSocket} (a {@code java.nio} channel on Netty's NIO loop,
 * copy only).
 *
 * <p><b>Readiness is edge-style</b> whatever the implementation: the socket keeps what was
 * reported ({@link #readable}, {@link #writable}, {@link #peerShut}) until an operation used it
 * up (a read that found nothing or emptied the queue, a write that did not fit), and then it
 * reports again only when something new happens. So the connection reads while its source is
 * readable and resumes a source by itself when its target took the backlog. {@link RawSocket} gets
 * that from edge-triggered epoll; {@link NioSocket} emulates it on a level-triggered selector by
 * asking for input only while it is not readable and for output only while it is not writable.
 *
 * <p>Every method runs on the socket's event loop. Operations return counts; errors (a reset,
 * a broken pipe) throw {@link IOException}.
 */
interface TcpSocket {

    /** {@link Owner#ready} events: an error is pending on the socket (epoll's EPOLLERR). */
    int ERROR = 0x008;
    /** {@link Owner#ready} events: the socket is shut both ways or failed (epoll's EPOLLHUP). */
    int HANGUP = 0x010;

    /** Who handles a socket's readiness: its connection. */
    interface Owner {
        /**
         * Something was reported on {@code socket}: its flags say what; {@code events} adds
         * {@link #ERROR} and {@link #HANGUP} when the implementation can tell them (epoll).
         */
        void ready(TcpSocket socket, int events);

        /** The event loop is shutting down and closed {@code socket}: release what is held for it. */
        void loopClosed(TcpSocket socket);
    }

    /** Input, the peer's FIN or an error was reported and not used up yet. */
    boolean readable();

    /** Output space (or an error) was reported and not used up yet. */
    boolean writable();

    /** The peer's FIN was reported: everything it sent is in the receive queue. Sticky; false where unknown (NIO). */
    boolean peerShut();

    /** Registers with the socket's event loop for readiness, reported to {@code owner}. */
    void register(Owner owner) throws IOException;

    /**
     * Reads into {@code scratch} from its start, up to its capacity: bytes read (> 0), -1 at the
     * end of the stream, 0 when nothing is queued. Clears {@link #readable} when the queue is
     * empty (0, or a short read before the peer's FIN).
     */
    int read(Scratch scratch) throws IOException;

    /** Writes {@code len} bytes of {@code scratch} from {@code offset}: bytes written; clears {@link #writable} when short. */
    int write(Scratch scratch, int offset, int len) throws IOException;

    /** Writes the readable bytes of {@code buf} (its indexes unchanged): bytes written; clears {@link #writable} when short. */
    int write(ByteBuf buf) throws IOException;

    /**
     * Moves up to {@code max} bytes from the socket into {@code pipe} without copying them:
     * bytes moved (> 0), -1 at the end of the stream, 0 when nothing is queued (then
     * {@link #readable} is cleared). Only where the loop {@linkplain TcpLoop#canSplice can splice}.
     */
    int spliceIn(Pipe pipe, int max) throws IOException;

    /** Moves {@code len} bytes from {@code pipe} into the socket: bytes moved; clears {@link #writable} when short. */
    int spliceOut(Pipe pipe, int len) throws IOException;

    /** Sends this side's FIN ({@code shutdown(SHUT_WR)}); input stays open. */
    void shutdownOutput() throws IOException;

    /** Closes: a FIN when every byte was read, as the kernel decides. Idempotent. */
    void closeNow();

    /** Closes with SO_LINGER 0, so the peer gets a reset. Idempotent. */
    void resetAndClose();

    boolean isClosed();

    /** Starts a non-blocking connect: true when already connected, false when in progress. */
    boolean connect(InetSocketAddress to) throws IOException;

    /**
     * Readiness was reported ({@code events}) on a connecting socket: true when the connect to
     * {@code to} completed, false while it is in progress; throws why it failed.
     */
    boolean finishConnect(InetSocketAddress to, int events) throws IOException;

    /** The socket's pending error as an exception (for an {@link #ERROR} with nothing to read or write). */
    IOException pendingError();

    /** TCP_NODELAY: a proxy must not add Nagle delays to small writes. */
    void setNoDelay() throws IOException;

    /**
     * SO_KEEPALIVE, and TCP_USER_TIMEOUT when {@code userTimeoutMillis} > 0 (where the platform
     * has it): what only a connection that lives needs.
     */
    void setLongLived(int userTimeoutMillis) throws IOException;

    /**
     * Before {@link #connect}: the connection leaves from {@code address} ({@code vips[].source}),
     * with a port the kernel picks at connect from {@code portLow..portHigh} (0, 0: from its
     * ephemeral range). A failure is the node's own (no source port left, an address it cannot
     * use), never the backend's.
     */
    default void bindSource(InetAddress address, int portLow, int portHigh) throws IOException {
        throw new IOException("vips[].source is not supported by this transport");
    }

    /** This end's address; null when unknown (closed, or an NIO socket not connected yet). */
    InetSocketAddress localAddress();

    /** The peer's address; null when unknown. */
    InetSocketAddress remoteAddress();
}
