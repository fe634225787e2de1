package io.tandem.ha;

import io.tandem.config.HaConfig;
import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The direct TCP link between nodes. Each node <em>dials</em> every peer and sends its own
 * frames on that connection, and <em>accepts</em> the peers' connections to read theirs: a
 * peer is "up" while frames arrive on its inbound connection. A peer process that dies closes
 * that connection (EOF or reset, within a millisecond); a peer host that vanishes goes silent
 * and the read times out after the heartbeat timeout.
 *
 * <p>Control-plane traffic only (one small frame per peer per heartbeat interval), so plain
 * blocking sockets on virtual threads: no event loop is involved.
 */
final class PeerLink implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(PeerLink.class);

    interface Events {
        void heartbeat(String peer, PeerMessage.Heartbeat hb, long atMs);

        void lost(String peer, String cause, long atMs);

        /**
         * A connection to the peer's link port was refused: its host is up and answering, but
         * nothing listens there, so the peer process is gone (a stopped or hung process still
         * has its listening socket, which the kernel keeps accepting on).
         */
        void refused(String peer, long atMs);

        void message(String peer, PeerMessage message);
    }

    private final String me;
    private final List<HaConfig.Peer> peers;
    private final int readTimeoutMs;
    private final int connectTimeoutMs;
    private final long reconnectDelayMs;
    private final Events events;
    private final LongSupplier clock;
    private final ServerSocket server;
    private final Map<String, BlockingQueue<byte[]>> outbox = new ConcurrentHashMap<>();
    private final Map<String, Socket> inbound = new ConcurrentHashMap<>();
    private final Map<String, Socket> outbound = new ConcurrentHashMap<>();
    private volatile boolean closed;

    PeerLink(HaConfig s, Events events, LongSupplier clockMs) throws IOException {
        this.me = s.nodeId();
        this.peers = s.peers();
        this.readTimeoutMs = (int) s.heartbeatTimeout().toMillis();
        this.connectTimeoutMs = (int) Math.max(100, s.heartbeatTimeout().toMillis());
        this.reconnectDelayMs = Math.max(10, s.heartbeatInterval().toMillis());
        this.events = events;
        this.clock = clockMs;
        this.server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(s.listen().host(), s.listen().port()), 16);
        for (HaConfig.Peer p : peers) {
            outbox.put(p.id(), new ArrayBlockingQueue<>(64));
        }
    }

    void start() {
        Thread.ofVirtual().name("tandem-ha-accept-" + me).start(this::acceptLoop);
        for (HaConfig.Peer p : peers) {
            Thread.ofVirtual().name("tandem-ha-dial-" + me + "-" + p.id()).start(() -> dialLoop(p));
        }
    }

    int port() {
        return server.getLocalPort();
    }

    /** Queues a frame for every peer; when a peer's queue is full the oldest frame goes. */
    void send(PeerMessage m) {
        byte[] frame = PeerCodec.encode(m);
        for (BlockingQueue<byte[]> q : outbox.values()) {
            while (!q.offer(frame)) {
                q.poll();
            }
        }
    }

    /** Closes the inbound connection of {@code peer} (declared lost by its silence). */
    void drop(String peer) {
        Socket s = inbound.remove(peer);
        closeQuietly(s);
    }

    /** Test hook: every socket closes at once, as when the process dies. */
    void closeAbruptly() {
        closed = true;
        closeQuietly(server);
        inbound.values().forEach(PeerLink::closeQuietly);
        outbound.values().forEach(PeerLink::closeQuietly);
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                Thread.ofVirtual().name("tandem-ha-read-" + me).start(() -> readLoop(s));
            } catch (IOException e) {
                if (!closed) {
                    log.warn("peer link accept failed node={} error=\"{}\"", me, e.toString());
                }
            }
        }
    }

    private void readLoop(Socket s) {
        String peer = null;
        String cause;
        try (s) {
            s.setSoTimeout(readTimeoutMs);
            s.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
            while (true) {
                PeerMessage m = PeerCodec.read(in);
                long now = clock.getAsLong();
                if (peer == null) {
                    if (!(m instanceof PeerMessage.Heartbeat) || !outbox.containsKey(m.nodeId())) {
                        log.warn("peer link rejected node={} remote={} first_frame_from=\"{}\" (expected a heartbeat from a configured peer)",
                                me, s.getRemoteSocketAddress(), m.nodeId());
                        return;
                    }
                    peer = m.nodeId();
                    Socket previous = inbound.put(peer, s);
                    closeQuietly(previous);
                }
                if (inbound.get(peer) != s) {
                    return; // superseded by a newer connection or dropped
                }
                switch (m) {
                    case PeerMessage.Heartbeat hb -> events.heartbeat(peer, hb, now);
                    default -> events.message(peer, m);
                }
            }
        } catch (SocketTimeoutException e) {
            cause = "heartbeat_timeout";
        } catch (EOFException e) {
            cause = "eof";
        } catch (IOException e) {
            cause = "error: " + e.getMessage();
        }
        if (peer != null && !closed && inbound.remove(peer, s)) {
            events.lost(peer, cause, clock.getAsLong());
            String lostPeer = peer;
            peers.stream().filter(p -> p.id().equals(lostPeer)).findFirst()
                    .ifPresent(p -> Thread.ofVirtual().name("tandem-ha-check-" + me + "-" + lostPeer)
                            .start(() -> checkRefused(p)));
        }
    }

    /**
     * One connection attempt right after a link loss: the dialer would only notice the dead
     * peer at its next failed write plus the reconnect pacing. A refusal is the cheapest proof
     * that the peer process is gone; an accepted connection is closed at once (the peer's
     * reader sees EOF before any frame and ignores it).
     */
    private void checkRefused(HaConfig.Peer p) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(p.address().host(), p.address().port()), connectTimeoutMs);
        } catch (IOException e) {
            if (refusal(e) && !closed) {
                events.refused(p.id(), clock.getAsLong());
            }
        }
    }

    private static boolean refusal(IOException e) {
        return e instanceof java.net.ConnectException && e.getMessage() != null
                && e.getMessage().contains("refused");
    }

    private void dialLoop(HaConfig.Peer p) {
        BlockingQueue<byte[]> q = outbox.get(p.id());
        while (!closed) {
            try (Socket s = new Socket()) {
                s.setTcpNoDelay(true);
                s.connect(new InetSocketAddress(p.address().host(), p.address().port()), connectTimeoutMs);
                outbound.put(p.id(), s);
                q.clear(); // frames queued while disconnected are stale; the next heartbeat says it all
                if (closed) {
                    return;
                }
                log.debug("peer link dialled node={} peer={} address={}", me, p.id(), p.address());
                OutputStream out = s.getOutputStream();
                while (!closed) {
                    byte[] frame = q.poll(reconnectDelayMs * 10, TimeUnit.MILLISECONDS);
                    if (frame != null) {
                        out.write(frame);
                        out.flush();
                    }
                }
            } catch (IOException e) {
                log.debug("peer link to peer={} failed error=\"{}\"", p.id(), e.toString());
                if (refusal(e) && !closed) {
                    events.refused(p.id(), clock.getAsLong());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } finally {
                outbound.remove(p.id());
            }
            if (!closed) {
                try {
                    Thread.sleep(reconnectDelayMs); // reconnect pacing, not a wait for a condition
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    @Override
    public void close() {
        closeAbruptly();
    }
}
