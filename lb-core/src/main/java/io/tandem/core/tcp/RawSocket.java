package io.tandem.core.tcp;

import static io.tandem.core.tcp.EpollLoop.ERR;
import static io.tandem.core.tcp.EpollLoop.HUP;
import static io.tandem.core.tcp.EpollLoop.IN;
import static io.tandem.core.tcp.EpollLoop.OUT;
import static io.tandem.core.tcp.EpollLoop.RDHUP;

import io.netty.buffer.ByteBuf;
import io.netty.channel.IoEvent;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoEvent;
import io.tandem.sys.Syscalls;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The epoll implementation of the {@link TcpSocket} seam, the default on Linux: a bare
 * non-blocking descriptor registered with its event loop's epoll through Netty 4.2's I/O handle
 * API, with no channel, pipeline, config or promise around it. Its system calls go through its
 * {@link EpollLoop} (FFM, no JNI transition); copy reads and writes use the loop's scratch at its
 * native address, splice moves bytes through a {@link Pipe} without them entering the JVM.
 *
 * <p><b>Edge-triggered</b>: added to epoll once, for input, output and the peer's FIN, and never
 * modified. The kernel reports each change once; the flags keep what it reported until an
 * operation used it up. One {@code epoll_ctl} per socket for its whole life, where
 * level-triggered interest changes cost one each, and a socket that stays shut both ways while
 * its bytes wait cannot make the loop spin on EPOLLHUP.
 *
 * <p>Why not a Netty channel: per proxied connection, two channels cost about as much CPU in user
 * space (pipelines, configs, promises, attribute maps) and in extra system calls (getsockname,
 * getsockopt SO_SNDBUF/SO_LINGER, epoll_ctl per interest change) as the kernel's own work for the
 * connection (docs/data-path.md).
 *
 * <p>Confined to its event loop.
 */
final class RawSocket extends EpollLoop.Handle implements TcpSocket {
    private final EpollLoop loop;
    private boolean readable;
    private boolean writable;
    private boolean peerShut;
    private boolean closed;
    private Owner owner;
    private IoRegistration registration;

    RawSocket(EpollLoop loop, int fd) {
        super(fd);
        this.loop = loop;
    }

    @Override
    public boolean readable() {
        return readable;
    }

    @Override
    public boolean writable() {
        return writable;
    }

    @Override
    public boolean peerShut() {
        return peerShut;
    }

    /**
     * Registers with the loop and adds the socket to its epoll, edge-triggered, for input, output
     * and the peer's FIN: the only {@code epoll_ctl} of its life.
     */
    @Override
    public void register(Owner owner) throws IOException {
        this.owner = owner;
        registration = loop.register(this);
        loop.add(registration, intValue(), EpollLoop.SOCKET_EVENTS);
    }

    @Override
    public int read(Scratch scratch) throws IOException {
        int cap = scratch.capacity();
        int n = loop.recv(intValue(), scratch.address, cap);
        if (n == 0 || (n > 0 && n < cap && !peerShut)) {
            // Nothing, or a short read that emptied the queue: what arrives later is a new edge.
            // (With the FIN already reported there is no later edge: the caller reads on to the EOF.)
            readable = false;
        }
        return n;
    }

    @Override
    public int write(Scratch scratch, int offset, int len) throws IOException {
        return sent(loop.send(intValue(), scratch.address + offset, len), len);
    }

    @Override
    public int write(ByteBuf buf) throws IOException {
        int len = buf.readableBytes();
        long at = buf.hasMemoryAddress() ? buf.memoryAddress() + buf.readerIndex()
                : MemorySegment.ofBuffer(buf.internalNioBuffer(buf.readerIndex(), len)).address();
        return sent(loop.send(intValue(), at, len), len);
    }

    private int sent(int written, int len) {
        if (written < len) {
            writable = false; // full: the next output edge says when there is room
        }
        return written;
    }

    /**
     * splice(2) answers 0 both for "nothing queued" and at the end of the stream; a 0 is the end
     * only once epoll reported the peer's FIN: every byte sent before the FIN is then queued, and
     * 0 means the queue is empty. (Taking any 0 for the end loses the tail of a stream that ends
     * right after a burst.)
     */
    @Override
    public int spliceIn(Pipe pipe, int max) throws IOException {
        int n = loop.splice(intValue(), pipe.writeFd, max);
        if (n == 0) {
            if (peerShut) {
                return -1;
            }
            readable = false;
        }
        return n;
    }

    @Override
    public int spliceOut(Pipe pipe, int len) throws IOException {
        return sent(loop.splice(pipe.readFd, intValue(), len), len);
    }

    @Override
    public void shutdownOutput() throws IOException {
        loop.shutdownOutput(intValue());
    }

    @Override
    public boolean connect(InetSocketAddress to) throws IOException {
        return loop.connect(intValue(), to);
    }

    /** An error or hang-up means the connect failed (its SO_ERROR says why); writable without one, that it completed. */
    @Override
    public boolean finishConnect(InetSocketAddress to, int events) throws IOException {
        if ((events & (ERR | HUP)) != 0) {
            IOException cause = loop.connectFailure(intValue(), to);
            throw cause != null ? cause : new ConnectException("connect failed (epoll error without a socket error)");
        }
        return writable;
    }

    @Override
    public IOException pendingError() {
        try {
            int e = loop.getInt(intValue(), Syscalls.SOL_SOCKET, Syscalls.SO_ERROR);
            return new IOException("socket error: " + (e == 0 ? "none pending" : Syscalls.strerror(e)));
        } catch (IOException e) {
            return e;
        }
    }

    @Override
    public void bindSource(InetAddress address, int portLow, int portHigh) throws IOException {
        loop.bindSource(intValue(), address, portLow, portHigh);
    }

    @Override
    public void setNoDelay() throws IOException {
        loop.setInt(intValue(), Syscalls.IPPROTO_TCP, Syscalls.TCP_NODELAY, 1);
    }

    @Override
    public void setLongLived(int userTimeoutMillis) throws IOException {
        loop.setInt(intValue(), Syscalls.SOL_SOCKET, Syscalls.SO_KEEPALIVE, 1);
        if (userTimeoutMillis > 0) {
            loop.setInt(intValue(), Syscalls.IPPROTO_TCP, Syscalls.TCP_USER_TIMEOUT, userTimeoutMillis);
        }
    }

    boolean isKeepAlive() throws IOException {
        return loop.getInt(intValue(), Syscalls.SOL_SOCKET, Syscalls.SO_KEEPALIVE) != 0;
    }

    boolean isTcpNoDelay() throws IOException {
        return loop.getInt(intValue(), Syscalls.IPPROTO_TCP, Syscalls.TCP_NODELAY) != 0;
    }

    @Override
    public InetSocketAddress localAddress() {
        return closed ? null : loop.localAddress(intValue());
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return closed ? null : loop.remoteAddress(intValue());
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    /**
     * Closes the descriptor, then drops the registration. In that order the kernel removes the
     * descriptor from epoll by itself, which saves the {@code EPOLL_CTL_DEL} Netty would issue for
     * a descriptor that is still open.
     */
    @Override
    public void closeNow() {
        if (closed) {
            return;
        }
        closed = true;
        closeDescriptor();
        if (registration != null) {
            registration.cancel();
        }
    }

    @Override
    public void resetAndClose() {
        if (closed) {
            return;
        }
        try {
            loop.lingerZero(intValue());
        } catch (IOException ignored) {
            // the socket is already dead (reset by the peer): a plain close is all that is left
        }
        closeNow();
    }

    // ---- EpollLoop.Handle -----------------------------------------------------------------

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        if (closed) {
            return;
        }
        int ready = ((EpollIoEvent) event).ops().value();
        if ((ready & (IN | RDHUP | HUP | ERR)) != 0) {
            readable = true; // an error or a FIN is read too: the read reports it
        }
        if ((ready & (RDHUP | HUP)) != 0) {
            peerShut = true;
        }
        if ((ready & (OUT | HUP | ERR)) != 0) {
            writable = true; // an error is written too: the write reports it
        }
        owner.ready(this, ready & (ERR | HUP));
    }

    /**
     * Netty calls this when the event loop shuts down with the socket still registered: close it
     * and let the owner release what it holds. Our own closes go through {@link #closeNow}.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeDescriptor();
        if (owner != null) {
            owner.loopClosed(this);
        }
    }

    @Override
    public String toString() {
        return "raw[fd=" + intValue() + (closed ? " closed" : "") + "]";
    }
}
