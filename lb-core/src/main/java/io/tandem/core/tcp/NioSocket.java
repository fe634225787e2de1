package io.tandem.core.tcp;

import static java.nio.channels.SelectionKey.OP_CONNECT;
import static java.nio.channels.SelectionKey.OP_READ;
import static java.nio.channels.SelectionKey.OP_WRITE;

import io.netty.buffer.ByteBuf;
import io.netty.channel.IoEvent;
import io.netty.channel.IoRegistration;
import io.netty.channel.nio.NioIoEvent;
import io.netty.channel.nio.NioIoHandle;
import io.netty.channel.nio.NioIoOps;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SocketChannel;

/**
 * The portable implementation of the {@link TcpSocket} seam, for machines without epoll: a
 * {@code java.nio} {@link SocketChannel} registered with Netty's NIO event loop (its selector)
 * through Netty 4.2's I/O handle API. Copy only: no splice, no TCP_USER_TIMEOUT, no
 * IP_FREEBIND; the peer's FIN is known only when a read returns the end of the stream.
 *
 * <p><b>Edge-style readiness on a level-triggered selector</b>: the socket asks for input
 * ({@code OP_READ}) only while its {@link #readable} flag is clear and for output
 * ({@code OP_WRITE}) only while {@link #writable} is clear. A report sets the flag and drops that
 * interest; an operation that uses the flag up (a read that emptied the queue, a short write)
 * clears it and asks again. So the connection above sees the same readiness as on epoll, and a
 * socket whose bytes wait for a slow target is not reported on every select.
 *
 * <p>Confined to its event loop.
 */
final class NioSocket implements TcpSocket, NioIoHandle {
    private final NioLoop loop;
    private final SocketChannel channel;
    private boolean readable;
    private boolean writable;
    private boolean connecting;
    private boolean closed;
    /** The ops asked of the selector; -1 before the first submit. */
    private int interest = -1;
    private Owner owner;
    private IoRegistration registration;

    /** @param connected an accepted channel: connected, with room to write */
    NioSocket(NioLoop loop, SocketChannel channel, boolean connected) {
        this.loop = loop;
        this.channel = channel;
        this.writable = connected;
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
        return false; // NIO has no FIN report: the end shows as a read of -1
    }

    @Override
    public void register(Owner owner) throws IOException {
        this.owner = owner;
        registration = loop.register(this);
        updateInterest();
    }

    /** Asks the selector for what the flags do not already say (see the class comment). */
    private void updateInterest() {
        if (registration == null || closed) {
            return;
        }
        int ops = connecting ? OP_CONNECT : (readable ? 0 : OP_READ) | (writable ? 0 : OP_WRITE);
        if (ops != interest) {
            interest = ops;
            registration.submit(NioIoOps.valueOf(ops));
        }
    }

    @Override
    public int read(Scratch scratch) throws IOException {
        ByteBuffer b = scratch.buffer;
        b.clear();
        int n = channel.read(b);
        if (n >= 0 && n < b.capacity()) {
            readable = false; // the queue is empty (or will be reported again: the selector is level-triggered)
            updateInterest();
        }
        return n;
    }

    @Override
    public int write(Scratch scratch, int offset, int len) throws IOException {
        ByteBuffer b = scratch.buffer;
        b.clear().position(offset).limit(offset + len);
        return sent(channel.write(b), len);
    }

    @Override
    public int write(ByteBuf buf) throws IOException {
        int len = buf.readableBytes();
        return sent(channel.write(buf.internalNioBuffer(buf.readerIndex(), len)), len);
    }

    private int sent(int written, int len) {
        if (written < len) {
            writable = false;
            updateInterest();
        }
        return written;
    }

    @Override
    public int spliceIn(Pipe pipe, int max) {
        throw new UnsupportedOperationException("NIO sockets do not splice");
    }

    @Override
    public int spliceOut(Pipe pipe, int len) {
        throw new UnsupportedOperationException("NIO sockets do not splice");
    }

    @Override
    public void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    @Override
    public boolean connect(InetSocketAddress to) throws IOException {
        connecting = true;
        boolean done;
        try {
            done = channel.connect(to);
        } catch (IOException e) {
            throw withAddress(e, to);
        }
        if (done) {
            connected();
        }
        updateInterest();
        return done;
    }

    @Override
    public boolean finishConnect(InetSocketAddress to, int events) throws IOException {
        boolean done;
        try {
            done = channel.finishConnect();
        } catch (IOException e) {
            throw withAddress(e, to);
        }
        if (done) {
            connected();
            updateInterest();
        }
        return done;
    }

    private void connected() {
        connecting = false;
        writable = true;
    }

    /** NIO's connect errors name no address ("Connection refused"); the epoll path's do. */
    private static IOException withAddress(IOException e, InetSocketAddress to) {
        ConnectException c = new ConnectException(e.getMessage() + ": " + to);
        c.initCause(e);
        return c;
    }

    @Override
    public IOException pendingError() {
        return new IOException("socket error"); // never asked: NIO reports no error events
    }

    @Override
    public void setNoDelay() throws IOException {
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
    }

    /**
     * java.nio has neither IP_FREEBIND nor IP_BIND_ADDRESS_NO_PORT nor a per-socket port range: an
     * address is bound as it is (it must be on this host already, and the bind reserves the port
     * for that address whatever the backend), a port range is refused. Validation refuses
     * {@code source.ports} with {@code runtime.transport: nio}; with {@code auto} on a host
     * without epoll each such connect fails as a local error with this message.
     */
    @Override
    public void bindSource(InetAddress address, int portLow, int portHigh) throws IOException {
        if (portLow != 0) {
            throw new IOException("vips[].source.ports needs the epoll transport (NIO cannot set a socket's port range)");
        }
        channel.bind(new InetSocketAddress(address, 0));
    }

    /** SO_KEEPALIVE; java.nio has no TCP_USER_TIMEOUT. */
    @Override
    public void setLongLived(int userTimeoutMillis) throws IOException {
        channel.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
    }

    boolean isKeepAlive() throws IOException {
        return channel.getOption(StandardSocketOptions.SO_KEEPALIVE);
    }

    boolean isTcpNoDelay() throws IOException {
        return channel.getOption(StandardSocketOptions.TCP_NODELAY);
    }

    @Override
    public InetSocketAddress localAddress() {
        return address(false);
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return address(true);
    }

    private InetSocketAddress address(boolean peer) {
        try {
            return (InetSocketAddress) (peer ? channel.getRemoteAddress() : channel.getLocalAddress());
        } catch (IOException e) {
            return null; // closed
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void closeNow() {
        if (closed) {
            return;
        }
        closed = true;
        if (registration != null) {
            registration.cancel();
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // the channel is gone either way
        }
    }

    @Override
    public void resetAndClose() {
        if (closed) {
            return;
        }
        try {
            channel.setOption(StandardSocketOptions.SO_LINGER, 0);
        } catch (IOException | RuntimeException ignored) {
            // already dead (reset by the peer): a plain close is all that is left
        }
        closeNow();
    }

    // ---- NioIoHandle ----------------------------------------------------------------------

    @Override
    public SelectableChannel selectableChannel() {
        return channel;
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        if (closed) {
            return;
        }
        int ready = ((NioIoEvent) event).ops().value();
        if ((ready & OP_READ) != 0) {
            readable = true;
        }
        if ((ready & OP_WRITE) != 0) {
            writable = true;
        }
        updateInterest();
        owner.ready(this, 0);
    }

    /** Netty calls this when the event loop shuts down with the socket still registered. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        channel.close();
        if (owner != null) {
            owner.loopClosed(this);
        }
    }

    @Override
    public String toString() {
        return "nio[" + channel + (closed ? " closed" : "") + "]";
    }
}
