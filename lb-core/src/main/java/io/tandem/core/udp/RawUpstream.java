package io.tandem.core.udp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * A session's upstream socket on epoll without a Netty channel: a connected datagram socket
 * registered directly with the event loop's epoll ({@link EpollIoHandle}, Netty 4.2's I/O
 * handle API). Per echo this skips what a channel costs and a datagram does not need: the
 * outbound buffer and its flush, a receive buffer allocation, the {@code DatagramPacket}
 * envelope, two pipeline traversals and their reference counting (perf/UDP.md). A forward is
 * one {@code send} at once; a reply is one {@code recv} into the loop's scratch buffer, copied
 * into an exact-size buffer for the listening socket (which still batches replies with
 * {@code sendmmsg}).
 *
 * <p>Same semantics as the channel path: the socket is connected, so ICMP port unreachable
 * from the backend surfaces as {@code ECONNREFUSED} on the next {@code send} or {@code recv}
 * (epoll reports the socket error as {@code EPOLLERR}). Like Netty's connected read, a
 * zero-length datagram from the backend is indistinguishable from "nothing to read" and is
 * not relayed. Level-triggered: one datagram per readiness event, so the common case (one
 * reply waiting) costs no extra {@code recv} that would only return {@code EAGAIN}.
 *
 * <p>Under a {@link RawListener} (the default on epoll) replies are read with {@code recvmmsg}
 * straight into the listener's reply batch instead (all queued replies in one call, no copy, and
 * zero-length datagrams are relayed), and forwards are sent by the listener with one
 * {@code sendmmsg} per session and receive batch; {@link #write} is the channel listener's path.
 *
 * <p>Confined to its event loop, like the session that owns it.
 */
final class RawUpstream implements Session.Link, EpollIoHandle {
    private final Socket socket;
    private final Session session;
    private IoRegistration registration;
    private boolean closed;

    private RawUpstream(Socket socket, Session session) {
        this.socket = socket;
        this.session = session;
    }

    /** True when {@code loop} can host raw upstream sockets (an epoll event loop). */
    static boolean supported(Object loop) {
        return loop instanceof IoEventLoop l && l.isCompatible(EpollIoHandle.class);
    }

    /** Opens a socket connected to {@code backend} and registers it for reading on {@code loop}. */
    static RawUpstream open(Session session, IoEventLoop loop, InetSocketAddress backend) throws IOException {
        Socket socket = Socket.newSocketDgram();
        RawUpstream link = new RawUpstream(socket, session);
        try {
            socket.connect(backend);
            Future<IoRegistration> reg = loop.register(link);
            // On its own loop the registration completes inline (SingleThreadIoEventLoop.register).
            if (!reg.isSuccess()) {
                Throwable cause = reg.cause();
                throw new IOException("epoll registration " + (cause == null ? "did not complete inline" : "failed"),
                        cause);
            }
            link.registration = reg.getNow();
            link.registration.submit(EpollIoOps.EPOLLIN);
        } catch (IOException | RuntimeException e) {
            link.close();
            throw e;
        }
        return link;
    }

    @Override
    public FileDescriptor fd() {
        return socket;
    }

    @Override
    public boolean write(ByteBuf content) {
        try {
            int len = content.readableBytes();
            int sent;
            if (content.hasMemoryAddress()) {
                sent = socket.sendAddress(content.memoryAddress(), content.readerIndex(), content.writerIndex());
            } else if (content.isDirect() && content.nioBufferCount() == 1) {
                ByteBuffer nio = content.internalNioBuffer(content.readerIndex(), len);
                sent = socket.send(nio, nio.position(), nio.limit());
            } else {
                ByteBuffer copy = session.owner().scratch(len);
                copy.limit(len);
                content.getBytes(content.readerIndex(), copy);
                sent = socket.send(copy, 0, len);
            }
            return sent == len || len == 0; // 0 = EAGAIN: socket buffer full, the datagram is dropped
        } catch (IOException e) {
            session.onLinkFailure(this, e);
            return false;
        } finally {
            content.release();
        }
    }

    @Override
    public boolean needsFlush() {
        return false;
    }

    @Override
    public void flush() {
    }

    int fdInt() {
        return socket.intValue();
    }

    /** The socket's local address (getsockname), or null. */
    InetSocketAddress localAddress() {
        return closed ? null : socket.localAddress();
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        if (closed) {
            return;
        }
        ListenerHandler owner = session.owner();
        RawListener raw = owner.raw;
        if (raw != null) {
            raw.readReplies(session, this); // recvmmsg straight into the listener's reply batch
            return;
        }
        int cap = owner.settings.maxDatagramSize() + 1;
        ByteBuffer scratch = owner.scratch(cap);
        int n;
        try {
            n = socket.recv(scratch, 0, cap);
        } catch (IOException e) {
            session.onLinkFailure(this, e);
            return;
        }
        if (n > 0) {
            session.onRawReply(this, scratch, n);
        }
    }

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
            socket.close();
        } catch (IOException ignored) {
            // nothing to do: the descriptor is gone either way
        }
    }

    @Override
    public String toString() {
        return "raw[fd=" + socket.intValue() + (closed ? " closed" : "") + "]";
    }
}
