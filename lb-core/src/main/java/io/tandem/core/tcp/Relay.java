package io.tandem.core.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.Native;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.SocketChannelConfig;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * One direction of a proxied connection (client to backend, or back): moves bytes from
 * {@code source} to {@code target} and propagates the source's FIN as a shutdownOutput of the
 * target once every byte before it has been written. Confined to the connection's event loop.
 *
 * <p><b>Copy</b>: the source reads on AUTO_READ once the target exists; each read is written
 * to the target and the burst flushed once at read-complete. When a write leaves the target
 * unwritable, AUTO_READ goes off (Netty's read loop checks it before every read, so it stops
 * at once) until the target's writability comes back. Buffered bytes per direction are
 * therefore bounded by the target's high water mark plus one read. Why not AUTO_READ off with
 * a {@code read()} per burst: on epoll every such read() re-adds EPOLLIN and Netty removes it
 * again after the read, two {@code epoll_ctl} per burst and direction (perf/PROFILE.md).
 *
 * <p><b>Splice</b> (both channels epoll): Netty's {@code spliceTo} moves the bulk through a
 * kernel pipe with its own EPOLLOUT backpressure. It has a known defect: when the peer's FIN
 * (EPOLLRDHUP) arrives it shuts the input down after one splice batch and bytes still queued
 * in the socket are never read (reference/netty-epoll-notes.md). So when the source's input is
 * shut down we drain the rest ourselves: splice(2) socket → our pipe → target, each chunk
 * written as a {@link PipeRegion} through the target's outbound buffer (ordered after Netty's
 * own splice-out tasks), until splice reports EOF; only then is the target's output shut down.
 * Linux keeps queued data readable after {@code shutdown(SHUT_RD)}, which is what makes the
 * drain possible.
 */
final class Relay implements Direction {
    /**
     * {@link io.tandem.config.RelayMode#AUTO} switches a direction to splice after this many
     * bytes. 64 KiB: below it (handshakes, small request/response) the copy path's lower
     * latency and zero setup cost win; above it the stream is bulk and splice saves the CPU of
     * copying through the JVM (~35-45% less proxy CPU measured). Per direction, so a large
     * download splices while its small request stays on copy.
     */
    static final long AUTO_SPLICE_AFTER = 64 * 1024;
    /**
     * ... and only from a read burst (the reads between two read-completes) of at least this
     * many bytes: a bulk stream. Keep-alive traffic of small messages passes 64 KiB on a long
     * connection too, but splicing a few hundred bytes per message costs more than copying
     * them (two splice calls and Netty's splice tasks per message: keep-alive CPU per request
     * was ~20 % higher with {@code auto} than with {@code copy}, perf/PROFILE.md).
     */
    static final int AUTO_SPLICE_MIN_BURST = 16 * 1024;
    static final long NEVER = Long.MAX_VALUE;
    /** Upper bound per drain splice; the pipe's capacity (64 KiB by default) is the real limit. */
    private static final int DRAIN_CHUNK = 1 << 20;

    private final ProxyConnection conn;
    private final Channel source;
    private final LongAdder vipBytes;
    private final long spliceAfter;
    private Channel target;
    private LongAdder backendBytes;
    private boolean started;
    private boolean waitingWritable;
    private boolean inputDone;
    private boolean outputDone;
    private boolean splicing;
    /** Bytes added to the counters so far (copied, drained, or accounted from TCP_INFO). */
    private long counted;
    /** Bytes read since the last read-complete. */
    private int burst;
    /** Bytes read before the target existed (a client that sends and closes during connect). */
    private List<ByteBuf> early;
    private FileDescriptor[] pipe;

    Relay(ProxyConnection conn, Channel source, LongAdder vipBytes, long spliceAfter) {
        this.conn = conn;
        this.source = source;
        this.vipBytes = vipBytes;
        this.spliceAfter = spliceAfter;
    }

    boolean outputDone() {
        return outputDone;
    }

    boolean splicing() {
        return splicing;
    }

    Channel source() {
        return source;
    }

    /** Netty's splice moves this direction's bytes where only the kernel sees them. */
    @Override
    public boolean kernelOnly() {
        return splicing;
    }

    @Override
    public int sourceFd() {
        return source instanceof AbstractEpollStreamChannel ch && ch.isOpen() ? ch.fd().intValue() : -1;
    }

    /** Bytes counted so far: exact while copying; a spliced direction's kernel bytes are added only at its end. */
    @Override
    public long counted() {
        return counted;
    }

    @Override
    public boolean inputDone() {
        return inputDone;
    }

    /** Connects this direction to its target and starts moving bytes. */
    void start(Channel target, LongAdder backendBytes) {
        this.target = target;
        this.backendBytes = backendBytes;
        this.started = true;
        if (early != null) {
            for (ByteBuf buf : early) {
                count(buf.readableBytes());
                target.write(buf, target.voidPromise());
            }
            early = null;
            target.flush();
            conn.relayed(this);
        }
        if (inputDone) {
            finishOutput();
        } else if (spliceAfter == 0) {
            startSplice();
        } else {
            resumeIfWritable();
        }
    }

    void onRead(ByteBuf buf) {
        if (conn.closing()) {
            buf.release();
            return;
        }
        if (!started) {
            conn.touch();
            if (early == null) {
                early = new ArrayList<>(2);
            }
            early.add(buf);
            return;
        }
        conn.relayed(this);
        int n = buf.readableBytes();
        count(n);
        burst += n;
        target.write(buf, target.voidPromise());
        if (!waitingWritable && !target.isWritable()) {
            waitingWritable = true;
            source.config().setAutoRead(false); // stops Netty's read loop before its next read
        }
    }

    void onReadComplete() {
        if (!started || splicing || conn.closing()) {
            return;
        }
        target.flush();
        boolean bulk = burst >= AUTO_SPLICE_MIN_BURST || spliceAfter == 0;
        burst = 0;
        if (!inputDone && bulk && copiedEnoughToSplice()) {
            startSplice();
        }
    }

    /** The target's writability changed (its handler forwards the event here). */
    void onTargetWritabilityChanged() {
        if (waitingWritable && target.isWritable() && !conn.closing()) {
            waitingWritable = false;
            if (!inputDone && !splicing) {
                resumeIfWritable();
            }
        }
    }

    /** The source sent FIN (ChannelInputShutdownEvent). */
    void onInputShutdown() {
        if (inputDone) {
            return;
        }
        inputDone = true;
        conn.inputShutdown(this);
        if (!started || conn.closing()) {
            return; // start() finishes the direction once the target exists
        }
        if (splicing) {
            // Stop Netty's reader; run the drain after the current epollInReady has returned.
            source.config().setAutoRead(false);
            source.eventLoop().execute(this::drain);
        } else {
            // Nothing more to read; with AUTO_READ on Netty would keep EPOLLIN until its next wake-up.
            source.config().setAutoRead(false);
            finishOutput();
        }
    }

    /** Reads on AUTO_READ while the target is writable (setting it on issues the first read). */
    private void resumeIfWritable() {
        if (copiedEnoughToSplice()) {
            startSplice();
        } else if (target.isWritable()) {
            source.config().setAutoRead(true);
        } else {
            waitingWritable = true;
            source.config().setAutoRead(false);
        }
    }

    private boolean copiedEnoughToSplice() {
        return counted >= spliceAfter;
    }

    @SuppressWarnings("deprecation") // spliceTo: deprecated for its tail loss, which drain() repairs
    private void startSplice() {
        splicing = true;
        ((SocketChannelConfig) source.config()).setAllowHalfClosure(true); // the tail drain needs the FIN as an input shutdown
        AbstractEpollStreamChannel src = (AbstractEpollStreamChannel) source;
        src.spliceTo((AbstractEpollStreamChannel) target, Integer.MAX_VALUE).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                conn.abort(f.cause()); // no-op when we are the ones closing
            }
        });
        // Netty's splice reads on AUTO_READ and pauses it itself while the target is full.
        src.config().setAutoRead(true);
        conn.kernelOnlyStarted();
    }

    /** Moves what is left in the source socket after its FIN, one pipe-full at a time. */
    private void drain() {
        if (conn.closing()) {
            return;
        }
        try {
            if (pipe == null) {
                pipe = FileDescriptor.pipe();
            }
            int n = Native.splice(fd(source), -1, pipe[1].intValue(), -1, DRAIN_CHUNK);
            if (n > 0) {
                conn.relayed(this);
                counted += n;
                vipBytes.add(n);
                backendBytes.add(n);
                target.writeAndFlush(new PipeRegion(pipe[0], fd(target), n)).addListener((ChannelFuture f) -> {
                    if (f.isSuccess()) {
                        drain();
                    } else {
                        conn.abort(f.cause());
                    }
                });
            } else {
                // Our pipe is empty and the socket queue held only bytes before the FIN: 0 is EOF.
                finishOutput();
            }
        } catch (IOException e) {
            conn.abort(e);
        }
    }

    /** Shuts the target's output down after every byte queued before it has been written. */
    private void finishOutput() {
        target.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                conn.abort(f.cause());
                return;
            }
            if (splicing) {
                // Netty's splice-out tasks re-enable AUTO_READ when they finish; all are done now.
                source.config().setAutoRead(false);
                accountSpliced();
            }
            if (conn.otherDirectionDone(this)) {
                // The last direction: the connection closes both channels now, and a close of a
                // target whose own input already reached EOF (the other direction finished) sends
                // the same FIN a shutdownOutput would. Skipping the shutdown saves a syscall and
                // the stack-trace exception Netty builds in every shutdownOutput (perf/PROFILE.md).
                outputDone = true;
                conn.directionDone();
                return;
            }
            if (target instanceof AbstractEpollStreamChannel epoll) {
                // shutdown(SHUT_WR) on the socket itself: Netty's shutdownOutput() builds a
                // ChannelOutputShutdownException with a full stack trace every time (for the
                // writes it would fail; we have none pending: the empty flush above completed).
                // The socket records the state, so the channel's isOutputShutdown() stays true.
                try {
                    ((Socket) epoll.fd()).shutdown(false, true);
                } catch (IOException | RuntimeException e) {
                    conn.abort(e);
                    return;
                }
                outputShut();
                return;
            }
            ((DuplexChannel) target).shutdownOutput().addListener((ChannelFuture s) -> {
                if (!s.isSuccess()) {
                    conn.abort(s.cause());
                } else {
                    outputShut();
                }
            });
        });
    }

    /**
     * The target's output is shut down; its input (the other direction's source) is still open.
     * When that peer's FIN arrives now, both FINs have crossed: a half-closing shutdown(SHUT_RD)
     * would fail with ENOTCONN (Netty throws a NotYetConnectedException with a stack trace for
     * it, per connection). So the target closes at EOF instead, and ProxyConnection finishes the
     * other direction from the close ({@link #onSourceEof}). Not while that direction splices:
     * the splice tail drain needs the half-closed input (it re-enables half-closure itself).
     */
    private void outputShut() {
        outputDone = true;
        Relay other = conn.other(this);
        if (other != null && !other.splicing && !other.inputDone) {
            ((SocketChannelConfig) target.config()).setAllowHalfClosure(false);
        }
        conn.directionDone();
    }

    /**
     * The source closed at its EOF (half-closure was off, see {@link #outputShut}): everything it
     * sent was read before. Finish like a FIN.
     */
    void onSourceEof() {
        if (inputDone) {
            return;
        }
        inputDone = true;
        conn.inputShutdown(this);
        finishOutput();
    }

    /**
     * Adds the bytes Netty's splice moved (invisible to the JVM) to the counters, from the
     * kernel's count of bytes received on the source socket. Call while the source is open.
     */
    void accountSpliced() {
        if (!splicing || !source.isOpen()) {
            return;
        }
        long total = TcpInfo.bytesReceived(fd(source));
        if (inputDone && total > 0) {
            total--; // the FIN takes one sequence number, and tcpi_bytes_received counts it
        }
        if (total > counted) {
            long delta = total - counted;
            counted = total;
            vipBytes.add(delta);
            backendBytes.add(delta);
        }
    }

    private void count(int n) {
        counted += n;
        vipBytes.add(n);
        backendBytes.add(n);
    }

    private static int fd(Channel ch) {
        return ((AbstractEpollStreamChannel) ch).fd().intValue();
    }

    /** Frees what this direction holds; call once both channels are closed. */
    void release() {
        if (early != null) {
            early.forEach(ByteBuf::release);
            early = null;
        }
        if (pipe != null) {
            for (FileDescriptor fd : pipe) {
                try {
                    fd.close();
                } catch (IOException ignored) {
                    // nothing useful to do; the fd is gone either way
                }
            }
            pipe = null;
        }
    }
}
