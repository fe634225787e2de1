package io.tandem.core.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * An in-memory {@link TcpSocket} for unit tests: the test plays the peer. What the peer sends
 * waits in {@link #inbound} until the connection reads it; what the connection writes lands in
 * {@link #received}, up to a window the test opens ({@link #peerTakes}); FIN, reset and connect
 * outcomes are the test's to decide. Readiness follows the seam's contract: flags kept until an
 * operation used them up, reported to the owner when the peer does something.
 */
final class MemorySocket implements TcpSocket {
    final String name;
    private final MemoryLoop loop;
    private final ByteBuf inbound = Unpooled.buffer();
    /** What the connection wrote to this socket's peer, in order. */
    final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private long room = Long.MAX_VALUE;
    private boolean peerFin;
    private IOException peerError;
    private IOException connectError;
    private boolean connected;
    private boolean readable;
    private boolean writable;
    private boolean peerShut;
    private Owner owner;
    InetSocketAddress local;
    InetSocketAddress remote;
    /** Set by the connection. */
    boolean outputShut;
    boolean closed;
    boolean reset;
    boolean noDelay;
    boolean longLived;
    int userTimeoutMillis;
    InetSocketAddress connectTo;
    /** Reads made (each {@link #read} and {@link #spliceIn} call). */
    int reads;

    MemorySocket(MemoryLoop loop, String name, boolean connected) {
        this.loop = loop;
        this.name = name;
        this.connected = connected;
        this.writable = connected;
    }

    // ---- the peer's side (the test) ------------------------------------------------------

    /** The peer sends {@code text}. */
    MemorySocket peerSends(String text) {
        return peerSends(text.getBytes(StandardCharsets.US_ASCII));
    }

    MemorySocket peerSends(byte[] bytes) {
        inbound.writeBytes(bytes);
        readable = true;
        fire(0);
        return this;
    }

    /** The peer sends its FIN (after anything it sent before). */
    MemorySocket peerFin() {
        peerFin = true;
        peerShut = true;
        readable = true;
        fire(0);
        return this;
    }

    /** The peer resets the connection. */
    MemorySocket peerResets() {
        peerError = new IOException("recv(..) failed: Connection reset by peer");
        readable = true;
        writable = true;
        fire(ERROR);
        return this;
    }

    /** The peer's window: the connection may write {@code bytes} more (then it is full). */
    MemorySocket window(long bytes) {
        room = bytes;
        return this;
    }

    /** The peer read what it got and takes {@code bytes} more. */
    MemorySocket peerTakes(long bytes) {
        room = bytes;
        writable = true;
        fire(0);
        return this;
    }

    /** A connecting socket: the handshake completes. */
    void accept() {
        connected = true;
        writable = true;
        fire(0);
    }

    /** A connecting socket: the backend refuses. */
    void refuse() {
        refuseWith(new ConnectException("connect(..) failed: Connection refused: " + connectTo));
    }

    /** A connecting socket: the connect fails with {@code error}. */
    void refuseWith(IOException error) {
        connectError = error;
        readable = true;
        writable = true;
        fire(ERROR | HANGUP);
    }

    String receivedText() {
        return received.toString(StandardCharsets.US_ASCII);
    }

    /** Bytes the peer sent that the connection has not read yet. */
    int unread() {
        return inbound.readableBytes();
    }

    private void fire(int events) {
        if (owner != null && !closed) {
            owner.ready(this, events);
        }
    }

    // ---- TcpSocket -----------------------------------------------------------------------

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

    @Override
    public void register(Owner owner) {
        this.owner = owner;
    }

    @Override
    public int read(Scratch scratch) throws IOException {
        reads++;
        check();
        int n = Math.min(inbound.readableBytes(), scratch.capacity());
        if (n == 0) {
            if (peerFin) {
                return -1;
            }
            readable = false;
            return 0;
        }
        inbound.readBytes(scratch.buffer.duplicate().clear().limit(n));
        if (n < scratch.capacity() && !peerShut) {
            readable = false;
        }
        return n;
    }

    @Override
    public int write(Scratch scratch, int offset, int len) throws IOException {
        check();
        int w = (int) Math.min(len, room);
        byte[] bytes = new byte[w];
        scratch.buffer.duplicate().clear().position(offset).get(bytes);
        return wrote(bytes, len);
    }

    @Override
    public int write(ByteBuf buf) throws IOException {
        check();
        int len = buf.readableBytes();
        int w = (int) Math.min(len, room);
        byte[] bytes = new byte[w];
        buf.getBytes(buf.readerIndex(), bytes);
        return wrote(bytes, len);
    }

    private int wrote(byte[] bytes, int len) throws IOException {
        if (outputShut) {
            throw new IOException("send(..) failed: Broken pipe");
        }
        received.write(bytes);
        room -= bytes.length;
        if (bytes.length < len) {
            writable = false;
        }
        return bytes.length;
    }

    @Override
    public int spliceIn(Pipe pipe, int max) throws IOException {
        reads++;
        check();
        int n = Math.min(inbound.readableBytes(), max);
        if (n == 0) {
            if (peerShut) {
                return -1;
            }
            readable = false;
            return 0;
        }
        loop.pipe(pipe).writeBytes(inbound, n);
        return n;
    }

    @Override
    public int spliceOut(Pipe pipe, int len) throws IOException {
        check();
        ByteBuf in = loop.pipe(pipe);
        int w = (int) Math.min(Math.min(len, room), in.readableBytes());
        byte[] bytes = new byte[w];
        in.readBytes(bytes);
        return wrote(bytes, len);
    }

    private void check() throws IOException {
        if (closed) {
            throw new IOException("closed");
        }
        if (peerError != null) {
            throw peerError;
        }
    }

    @Override
    public void shutdownOutput() throws IOException {
        check();
        outputShut = true;
    }

    @Override
    public void closeNow() {
        if (!closed) {
            closed = true;
            inbound.release();
        }
    }

    @Override
    public void resetAndClose() {
        if (!closed) {
            reset = true;
            closeNow();
        }
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public boolean connect(InetSocketAddress to) {
        connectTo = to;
        return loop.connectAtOnce;
    }

    @Override
    public boolean finishConnect(InetSocketAddress to, int events) throws IOException {
        if (connectError != null) {
            throw connectError;
        }
        return connected;
    }

    @Override
    public IOException pendingError() {
        return peerError != null ? peerError : new IOException("socket error: none pending");
    }

    @Override
    public void setNoDelay() {
        noDelay = true;
    }

    @Override
    public void setLongLived(int userTimeoutMillis) {
        longLived = true;
        this.userTimeoutMillis = userTimeoutMillis;
    }

    @Override
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return remote;
    }

    @Override
    public String toString() {
        return "memory[" + name + "]";
    }
}
