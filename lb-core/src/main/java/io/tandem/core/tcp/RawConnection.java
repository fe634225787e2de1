package io.tandem.core.tcp;

import static io.tandem.core.tcp.RawSocket.ERR;
import static io.tandem.core.tcp.RawSocket.HUP;
import static java.util.concurrent.TimeUnit.MILLISECONDS;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoop;
import io.netty.channel.epoll.Native;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.concurrent.ScheduledFuture;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A proxied TCP connection of the raw epoll engine: the client's accepted socket and the
 * backend's socket are {@link RawSocket}s on the same event loop, and two {@link Flow}s move the
 * bytes, one per direction.
 *
 * <p><b>Copy</b>: a read lands in the loop's scratch buffer and is written to the target at
 * once. Only what the target does not take is kept (a pooled buffer of the remainder); the
 * source is then not read again until the target has taken it (EPOLLOUT). So a direction holds
 * at most one read of bytes, and a connection that is merely idle holds no buffer at all.
 *
 * <p><b>Splice</b>: socket to this direction's own pipe to socket with splice(2), the bytes
 * never entering the JVM; the same back-pressure rule with the pipe as the buffer. End of
 * stream: splice answers 0 both for "nothing to read yet" and for EOF, so a 0 is taken as EOF
 * only once epoll has reported the peer's FIN (EPOLLRDHUP/EPOLLHUP): every byte sent before
 * the FIN is then already in the socket's queue, and 0 means it is empty. (Netty's own splice
 * shuts the input at RDHUP and loses what is still queued; reference/netty-epoll-notes.md.)
 * Since we see every spliced byte, counters, the idle clock and the response watch treat both
 * modes alike.
 *
 * <p><b>Readiness</b>: both sockets are edge-triggered ({@link RawSocket}): a direction reads
 * while its source has reported input not yet used up, and picks reading up again by itself
 * when its target took the backlog (no new edge would come for bytes already queued) or when
 * its per-event budget ran out (a task on the loop).
 *
 * <p><b>Ends</b>: a source's EOF becomes a {@code shutdown(SHUT_WR)} of its target once every byte
 * before it was written (half-close is propagated both ways); when the second direction ends,
 * both sockets are closed (the close sends that direction's FIN). Any error — a reset, a broken
 * pipe, a timeout — resets both peers (SO_LINGER 0), so neither mistakes a cut stream for a
 * complete one.
 *
 * <p>Confined to its event loop; the control loop reaches it only through {@link #reset()}.
 */
final class RawConnection extends ProxiedConnection implements RawSocket.Listener {
    private static final Logger log = LoggerFactory.getLogger(RawConnection.class);
    /** Reads (or splices) per readiness event and direction before other sockets get their turn. */
    private static final int READS_PER_EVENT = 16;
    /** Bytes asked of one splice(2) into the pipe; the pipe's capacity (64 KiB by default) is the real limit. */
    private static final int SPLICE_CHUNK = 1 << 20;
    private static final long NEVER = Long.MAX_VALUE;
    private static final ClosedChannelException RESET_REQUESTED = new StacklessClosed("reset requested");

    private final RawListener owner;
    final RawSocket client;
    private final InetSocketAddress remote;
    private final long spliceAfter;
    private final int userTimeoutMillis;
    private final Flow up;
    private Flow down;
    /** The backend's socket: connecting while {@link #down} is null, connected after. */
    private RawSocket server;
    private long connectStart;
    private ScheduledFuture<?> connectTimer;

    /**
     * @param remote the client's address when the VIP needs it (hashing policy, PROXY header), else null
     */
    RawConnection(RawListener owner, BackendPool pool, RawSocket client, InetSocketAddress remote) {
        super(owner.vip, pool, owner.events, owner.warn);
        this.owner = owner;
        this.client = client;
        this.remote = remote;
        this.spliceAfter = switch (config.relay()) {
            case COPY -> NEVER;
            case SPLICE -> 0;
            case AUTO -> Relay.AUTO_SPLICE_AFTER;
        };
        long userTimeout = config.timeouts().userTimeout().toMillis();
        this.userTimeoutMillis = userTimeout > 0 ? timeoutMillis(userTimeout) : 0;
        // EVERY_REQUEST must see each client send when it happens; with splice we still see every
        // read, so both directions may splice here (unlike the channel engine).
        this.up = new Flow(client, vip.stats().bytesIn, spliceAfter);
    }

    /**
     * Accepted on the owner's loop: admit, add the client socket to epoll (its input, FIN or reset
     * during the connect is remembered and handled once the backend is there), connect.
     */
    void open() {
        if (putOffArrival(this::open)) {
            return; // maybe from one of our own sockets not registered yet: decided a moment later
        }
        if (!admit()) {
            owner.ended(); // counted when accepted
            return;
        }
        try {
            client.register(owner.loop, owner.epollFd, this);
            client.arm();
        } catch (IOException | RuntimeException e) {
            abort(e);
            return;
        }
        start();
    }

    // ---- ProxiedConnection ---------------------------------------------------------------------

    @Override
    EventLoop loop() {
        return owner.loop;
    }

    @Override
    Direction up() {
        return up;
    }

    @Override
    Direction down() {
        return down;
    }

    @Override
    boolean clientWritable() {
        return down == null || !down.hasBacklog();
    }

    @Override
    InetAddress clientAddress() {
        return remote == null ? null : remote.getAddress();
    }

    @Override
    Object clientForLog() {
        if (remote != null) {
            return remote;
        }
        return client.remoteAddress(); // getpeername: logs only
    }

    @Override
    InetSocketAddress peerAddress() {
        return remote != null ? remote : client.remoteAddress();
    }

    @Override
    void closeClient() {
        client.closeNow();
    }

    @Override
    void resetClient() {
        resetAndClose(client);
        released();
    }

    @Override
    void closeIdle() {
        teardown();
    }

    @Override
    public void reset() {
        owner.loop.execute(() -> abort(RESET_REQUESTED));
    }

    /** Whether client bytes wait in the proxy for the backend to take them (on the loop; tests). */
    boolean clientBytesWaiting() {
        return up.hasBacklog();
    }

    // ---- connect -------------------------------------------------------------------------------

    @Override
    void connect(Backend b) {
        attempts++;
        connectStart = System.nanoTime();
        RawSocket s;
        try {
            s = RawSocket.stream(b.socketAddress().getAddress(), owner.calls);
        } catch (IOException | RuntimeException e) { // out of file descriptors and the like: the node's fault
            connectFailedLocally(b, e);
            return;
        }
        try {
            // TCP_NODELAY as Netty and HAProxy do: a proxy must not add Nagle delays to small writes.
            s.setTcpNoDelay();
            if (!timerArmedLate()) {
                setLongLivedOptions(s);
            } // else: when the connection has lived a second (lived()); most end long before
            s.register(owner.loop, owner.epollFd, this);
            server = s;
            s.arm();
        } catch (IOException | RuntimeException e) { // options or epoll on a fresh socket: the node's fault too
            failAttemptLocally(s, b, e);
            return;
        }
        try {
            boolean connectedNow = s.connect(b.socketAddress());
            if (tracksAttempt()) {
                connectIssued(b, s.localAddress()); // getsockname: only for a backend that may be one of our listeners
            }
            if (connectedNow) {
                backendConnected(b);
            } else {
                connectTimer = owner.loop.schedule(this::connectTimedOut, connectTimeoutMillis, MILLISECONDS);
            }
        } catch (IOException | RuntimeException e) {
            failAttempt(s, b, e); // the backend's failure, unless the errno says the node's (connectFailed)
        }
    }

    /**
     * SO_KEEPALIVE and TCP_USER_TIMEOUT on the backend socket. Both only matter to a connection
     * that lives: keepalive probes start after minutes of silence, and the user timeout counts
     * how long written data stays unacknowledged. So with late-armed timers they are set once the
     * connection has lived about a second ({@link #lived}), saving two setsockopt calls for every
     * connection that ends before (with a new connection per request, nearly all); a user timeout
     * under two seconds is set at once.
     */
    private void setLongLivedOptions(RawSocket s) throws IOException {
        s.setKeepAlive();
        if (userTimeoutMillis > 0) {
            s.setUserTimeout(userTimeoutMillis);
        }
    }

    @Override
    void lived() {
        if (server != null && !server.isClosed()) {
            try {
                setLongLivedOptions(server);
            } catch (IOException e) {
                abort(e);
            }
        }
    }

    private void connectTimedOut() {
        connectTimer = null;
        if (down == null && server != null && attempt != null && !closing) {
            failAttempt(server, attempt, new ConnectTimeoutException("connection timed out after "
                    + connectTimeoutMillis + " ms: " + attempt.socketAddress()));
        }
    }

    /** The connecting socket became writable or failed. */
    private void connectReady(int ready) {
        Backend b = attempt;
        if ((ready & (ERR | HUP)) != 0) {
            IOException cause;
            try {
                cause = server.connectFailure(b.socketAddress()); // getsockopt(SO_ERROR)
            } catch (IOException e) {
                cause = e;
            }
            failAttempt(server, b, cause != null ? cause
                    : new java.net.ConnectException("connect failed (epoll error without a socket error)"));
        } else if (server.writable) {
            // Writable without an error: the handshake completed (no SO_ERROR syscall needed).
            backendConnected(b);
        }
    }

    private void failAttemptLocally(RawSocket s, Backend b, Throwable cause) {
        s.closeNow();
        if (server == s) {
            server = null;
        }
        connectFailedLocally(b, cause);
    }

    private void failAttempt(RawSocket s, Backend b, Throwable cause) {
        cancelConnectTimer();
        s.closeNow();
        if (server == s) {
            server = null;
        }
        connectFailed(b, cause, System.nanoTime() - connectStart);
    }

    private void cancelConnectTimer() {
        if (connectTimer != null) {
            connectTimer.cancel(false);
            connectTimer = null;
        }
    }

    private void backendConnected(Backend b) {
        cancelConnectTimer();
        connected(b, System.nanoTime() - connectStart);
        down = new Flow(server, vip.stats().bytesOut, spliceAfter);
        down.start(client, b.stats().bytesIn);
        up.start(server, b.stats().bytesOut);
        ByteBuf header = ProxyProtocolHeader.encode(config.proxyProtocol(), remote, remote == null ? null
                : owner.boundAddress != null ? owner.boundAddress : client.localAddress(), owner.alloc);
        startTimer();
        try {
            if (header != null) {
                up.queue(header); // ahead of every client byte: the client is not read while it is queued
                up.flush();       // then reads what the client sent meanwhile
            } else if (client.readable) {
                up.read(); // what the client sent (or its FIN) while we connected
            }
            if (!closing && server.readable) {
                down.read(); // a server that speaks first
            }
        } catch (IOException | RuntimeException e) {
            abort(e);
        }
    }

    // ---- events --------------------------------------------------------------------------------

    @Override
    public void ready(RawSocket s, int ready) {
        if (closing) {
            return;
        }
        if (down == null) { // still connecting
            if (s == server) {
                connectReady(ready);
            } else if ((ready & ERR) != 0) {
                abort(errorOf(s)); // the client reset: no use finishing the connect
            }
            return; // the client's input and FIN are remembered in its flags until then
        }
        Flow out = s == client ? up : down;  // s is its source
        Flow in = s == client ? down : up;   // s is its target
        try {
            boolean acted = false;
            if (s.writable && in.hasBacklog()) {
                in.flush(); // throws the socket's error, if any; reads on if the backlog went out
                acted = true;
            }
            if (closing) {
                return;
            }
            if (s.readable && out.wantsRead()) {
                out.read(); // throws the socket's error, if any
            } else if ((ready & ERR) != 0 && !acted) {
                // An error on a socket we are neither reading nor writing now (a reset while the
                // other side is slow): edge-triggered, it would not be reported again.
                throw errorOf(s);
            }
        } catch (IOException | RuntimeException e) {
            abort(e);
        }
    }

    private static IOException errorOf(RawSocket s) {
        return s.pendingError();
    }

    @Override
    public void loopClosed(RawSocket socket) {
        // The event loop is shutting down: Netty closes the descriptors, we free the rest.
        closing = true;
        client.closeNow();
        if (server != null) {
            server.closeNow();
        }
        cleanup();
    }

    // ---- ends ----------------------------------------------------------------------------------

    /** Both directions ended with a FIN: close both sockets (no unread bytes: plain closes send FIN). */
    private void teardown() {
        closing = true;
        client.closeNow();
        if (server != null) {
            server.closeNow();
        }
        cleanup();
    }

    /** Tears the connection down with RST on both sides. Idempotent. */
    void abort(Throwable cause) {
        if (client.isClosed() && (server == null || server.isClosed())) {
            return; // already torn down
        }
        closing = true;
        if (log.isDebugEnabled()) {
            log.debug("connection reset vip={} client={} backend={} cause=\"{}\"", vip.name(), clientForLog(),
                    backend(), cause.toString());
        }
        cancelConnectTimer();
        resetAndClose(client);
        if (server != null) {
            resetAndClose(server);
        }
        cleanup();
    }

    /** Closes {@code s} with SO_LINGER=0 so its peer gets RST. */
    private static void resetAndClose(RawSocket s) {
        if (s.isClosed()) {
            return;
        }
        try {
            s.setLingerZero();
        } catch (IOException ignored) {
            // the socket is already dead (reset by the peer): a plain close is all that is left
        }
        s.closeNow();
    }

    private void cleanup() {
        cancelConnectTimer();
        up.free();
        if (down != null) {
            down.free();
        }
        released();
    }

    private void released() {
        if (release()) {
            owner.ended();
        }
    }

    private static final class StacklessClosed extends ClosedChannelException {
        private final String message;

        StacklessClosed(String message) {
            this.message = message;
        }

        @Override
        public String getMessage() {
            return message;
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    // ---- one direction -------------------------------------------------------------------------

    /** One direction: bytes from {@link #src} to {@link #dst}, copied or spliced, and its FIN. */
    private final class Flow implements Direction {
        private final RawSocket src;
        private final LongAdder vipBytes;
        private final long spliceAfter;
        private RawSocket dst;
        private LongAdder backendBytes;
        /** Bytes read but not yet taken by {@link #dst} (copy), or the PROXY header. */
        private ByteBuf pending;
        private FileDescriptor pipeOut;
        private FileDescriptor pipeIn;
        /** Bytes in the pipe not yet spliced to {@link #dst}. */
        private int inPipe;
        private boolean splicing;
        private boolean inputDone;
        private boolean outputDone;
        private boolean resumeQueued;
        private long counted;

        Flow(RawSocket src, LongAdder vipBytes, long spliceAfter) {
            this.src = src;
            this.vipBytes = vipBytes;
            this.spliceAfter = spliceAfter;
            this.splicing = spliceAfter == 0;
        }

        void start(RawSocket target, LongAdder backendBytes) {
            this.dst = target;
            this.backendBytes = backendBytes;
        }

        @Override
        public boolean kernelOnly() {
            return false; // spliced bytes pass through our splice calls: we see every one
        }

        @Override
        public int sourceFd() {
            return src.isClosed() ? -1 : src.intValue();
        }

        @Override
        public long counted() {
            return counted;
        }

        @Override
        public boolean inputDone() {
            return inputDone;
        }

        boolean hasBacklog() {
            return pending != null || inPipe > 0;
        }

        boolean wantsRead() {
            return dst != null && !inputDone && pending == null && inPipe == 0;
        }

        /** Queues {@code buf} (the PROXY header) ahead of anything read. */
        void queue(ByteBuf buf) {
            pending = buf;
        }

        /**
         * Reads what the source has and passes it on, until the source is empty (its readiness is
         * used up), the target is full (it waits for the target's next output edge) or the
         * per-event budget is spent (it goes on in a task, after other sockets had their turn).
         */
        void read() throws IOException {
            if (splicing) {
                readSplice();
            } else {
                readCopy();
            }
            if (src.readable && wantsRead() && !closing) {
                resumeLater();
            }
        }

        private void readCopy() throws IOException {
            ByteBuffer scratch = owner.scratch;
            long address = owner.scratchAddress;
            int cap = scratch.capacity();
            int burst = 0;
            for (int i = 0; i < READS_PER_EVENT; i++) {
                int n = src.recv(address, cap); // > 0 bytes, -1 EOF, 0 nothing (EAGAIN)
                if (n == 0) {
                    src.readable = false;
                    break;
                }
                if (n < 0) {
                    eof();
                    return;
                }
                count(n);
                burst += n;
                int w = dst.send(address, n);
                if (w < n) {
                    keep(scratch, w, n);
                    dst.writable = false;
                    return;
                }
                if (n < cap && !src.peerShut) {
                    // A short read emptied the queue: anything that arrives later is a new edge.
                    // (With the FIN already reported there is no later edge: read on to the EOF.)
                    src.readable = false;
                    break;
                }
            }
            if (spliceAfter != NEVER && burst >= Relay.AUTO_SPLICE_MIN_BURST && counted >= spliceAfter) {
                // A bulk stream (a big read burst after the first bytes): splice from now on.
                splicing = true;
            }
        }

        private void readSplice() throws IOException {
            if (pipeOut == null) {
                FileDescriptor[] pipe = FileDescriptor.pipe();
                pipeIn = pipe[0];
                pipeOut = pipe[1];
            }
            for (int i = 0; i < READS_PER_EVENT; i++) {
                int n = Native.splice(src.intValue(), -1, pipeOut.intValue(), -1, SPLICE_CHUNK);
                if (n == 0) {
                    // Nothing queued: the end of the stream if the FIN was reported, else used up.
                    if (src.peerShut) {
                        eof();
                    } else {
                        src.readable = false;
                    }
                    return;
                }
                count(n);
                inPipe = n;
                inPipe -= Native.splice(pipeIn.intValue(), -1, dst.intValue(), -1, n);
                if (inPipe > 0) {
                    dst.writable = false;
                    return; // the target is full: wait for its output edge
                }
            }
        }

        /**
         * Writes what the target did not take before. When all of it is written the direction
         * ends (the source had its EOF) or reads on: edge-triggered, the source will not report
         * the bytes that are already queued again.
         */
        void flush() throws IOException {
            if (pending != null) {
                int len = pending.readableBytes();
                long at = pending.hasMemoryAddress() ? pending.memoryAddress() + pending.readerIndex()
                        : MemorySegment.ofBuffer(pending.internalNioBuffer(pending.readerIndex(), len)).address();
                int w = dst.send(at, len);
                pending.skipBytes(w);
                if (pending.isReadable()) {
                    dst.writable = false;
                    return;
                }
                pending.release();
                pending = null;
            } else if (inPipe > 0) {
                inPipe -= Native.splice(pipeIn.intValue(), -1, dst.intValue(), -1, inPipe);
                if (inPipe > 0) {
                    dst.writable = false;
                    return;
                }
            }
            if (inputDone) {
                finish();
            } else if (src.readable && dst != null) {
                read();
            }
        }

        /** The budget ran out with input left: go on after the loop has served other sockets. */
        private void resumeLater() {
            if (resumeQueued) {
                return;
            }
            resumeQueued = true;
            owner.loop.execute(() -> {
                resumeQueued = false;
                if (!closing && src.readable && wantsRead()) {
                    try {
                        read();
                    } catch (IOException | RuntimeException e) {
                        abort(e);
                    }
                }
            });
        }

        private void keep(ByteBuffer scratch, int from, int to) {
            ByteBuf rest = owner.alloc.directBuffer(to - from);
            rest.writeBytes(scratch.duplicate().position(from).limit(to));
            pending = rest;
        }

        private void count(int n) {
            counted += n;
            vipBytes.add(n);
            backendBytes.add(n);
            relayed(this);
        }

        private void eof() throws IOException {
            inputDone = true;
            inputShutdown(this);
            if (!hasBacklog()) {
                finish();
            }
        }

        /** Every byte before the source's FIN was written: pass the FIN on. */
        private void finish() throws IOException {
            outputDone = true;
            Flow other = this == up ? down : up;
            if (other.outputDone) {
                // The last direction: closing both sockets sends this FIN (the other was sent),
                // and neither has unread bytes, so neither close is a reset.
                teardown();
                return;
            }
            dst.shutdownOutput();
        }

        void free() {
            if (pending != null) {
                pending.release();
                pending = null;
            }
            if (pipeIn != null) {
                closeQuietly(pipeIn);
                closeQuietly(pipeOut);
                pipeIn = null;
                pipeOut = null;
            }
        }
    }

    private static void closeQuietly(FileDescriptor fd) {
        try {
            fd.close();
        } catch (IOException ignored) {
            // nothing useful to do: the descriptor is gone either way
        }
    }
}
