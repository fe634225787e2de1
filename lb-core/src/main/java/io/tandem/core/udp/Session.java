package io.tandem.core.udp;

import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.LocalErrors;
import io.tandem.core.vip.SelfLoops;
import io.tandem.sys.Errno;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client address and the backend it is pinned to, with its own upstream socket connected to
 * that backend ({@link DatagramSockets.Upstream}). Because the upstream socket is connected and
 * private to the session, a reply needs no lookup: whatever arrives on it goes to {@link #client}
 * out of the listening socket that created the session, and the kernel reports ICMP port
 * unreachable from the backend on it ({@link PortUnreachableException}) — a passive health
 * signal, after which the session moves to another backend on its next datagram.
 *
 * <p>The backend is re-checked against the VIP's current pool on each client datagram (one
 * volatile read plus an identity compare when the pool did not change); a backend that left the
 * pool (ineligible, removed) is replaced the same way. With
 * {@link io.tandem.config.UdpOptions#responsesPerRequest()} N, the session ends once the backend has answered
 * every client datagram with N datagrams (DNS: 1).
 *
 * <p>Lives on its listener's event loop (the upstream socket is registered on the same loop),
 * so none of this needs locks.
 */
final class Session {
    private static final Logger log = LoggerFactory.getLogger(Session.class);

    final InetSocketAddress client;
    /** The table key of an IPv4 client received by the epoll side (see {@link SessionTable}), when {@link #keyed4}. */
    final long key4;
    final boolean keyed4;
    /** How this client's flow entered the node when it is one of our own upstream sockets; null: from outside. */
    final SelfLoops.Hop arrivedVia;
    private final Sessions owner;

    // Intrusive LRU links, owned by SessionTable.
    Session prev;
    Session next;
    boolean linked;
    long lastActive;

    private Backend backend;                  // null before the first pick and after the backend failed or left
    private DatagramSockets.Upstream upstream; // connected to backend while backend != null
    private BackendPool seenPool;
    private List<Backend> failed = List.of();
    private boolean repinPending;
    private long attachedNanos;
    private long lastSentNanos;
    private boolean answered;
    private int owed;                         // replies still expected (responsesPerRequest mode)
    // The upstream's local address while registered with SelfLoops (only when the backend may be one of ours).
    private InetSocketAddress trackedLocal;
    private SelfLoops.Hop trackedHop;

    /** This session's count in its client's per-client limits; null when none applies. Loop-confined. */
    io.tandem.core.vip.ClientTracker.Slot clientSlot;

    Session(InetSocketAddress client, Sessions owner, long key4, boolean keyed4, SelfLoops.Hop arrivedVia) {
        this.client = client;
        this.owner = owner;
        this.key4 = key4;
        this.keyed4 = keyed4;
        this.arrivedVia = arrivedVia;
    }

    Backend backend() {
        return backend;
    }

    DatagramSockets.Upstream upstream() {
        return upstream;
    }

    /**
     * Before a client datagram is sent: re-checks the pinned backend against the current pool and
     * picks (or re-picks) one if needed, opening the upstream socket.
     *
     * @return the upstream socket to send on, or null when no backend is available (the datagram
     *         is dropped and counted here)
     */
    DatagramSockets.Upstream route(long now) {
        BackendPool pool = owner.vip.pool();
        if (backend != null && pool != seenPool) {
            seenPool = pool;
            if (!contains(pool, backend)) {
                log.debug("udp session re-pinned vip={} client={} backend={} reason=\"left pool\"",
                        owner.vip.name(), client, backend);
                detach();
                repinPending = true;
            }
        }
        if (backend == null && !attach(pool, now)) {
            return null;
        }
        lastSentNanos = now;
        return upstream;
    }

    /** Picks a backend and opens an upstream socket to it; false: nothing picked or opened (counted). */
    private boolean attach(BackendPool pool, long now) {
        seenPool = pool;
        Backend picked = pool.pick(client.getAddress(), failed);
        if (picked == null && !failed.isEmpty()) {
            // Every backend failed once for this client: start over rather than black-hole it.
            failed = List.of();
            picked = pool.pick(client.getAddress(), failed);
        }
        SelfLoops.Check check = SelfLoops.Check.NONE;
        boolean looped = false;
        while (picked != null) {
            check = SelfLoops.check(SelfLoops.Proto.UDP, picked.socketAddress(), owner.vip, arrivedVia);
            if (check != SelfLoops.Check.LOOP) {
                break;
            }
            // It leads back into this VIP: report it, and skip it (no socket opened).
            looped = true;
            owner.selfLoop(owner.vip, picked);
            addFailed(picked);
            picked = pool.pick(client.getAddress(), failed);
        }
        if (picked == null) {
            if (looped) {
                owner.stats.droppedSelfLoop.increment();
            } else {
                owner.stats.droppedNoBackend.increment();
                owner.vip.stats().noBackend.increment();
            }
            return false;
        }
        DatagramSockets.Upstream up;
        try {
            up = owner.sockets().open(this, picked.socketAddress());
        } catch (IOException | RuntimeException e) { // socket() (out of descriptors), connect(), registration
            int local = Errno.local(e);
            if (local != 0) { // the node's own resource error: never the backend's
                owner.vip.localErrors().record(LocalErrors.Op.CONNECT, local, e, "datagram dropped");
                owner.stats.droppedLocalError.increment();
            } else {
                owner.warnSocketFailure(e);
                owner.stats.droppedNoBackend.increment();
                owner.vip.stats().noBackend.increment();
            }
            return false;
        }
        upstream = up;
        backend = picked;
        attachedNanos = now;
        answered = false;
        owed = 0;
        picked.stats().active.incrementAndGet();
        picked.stats().totalConnections.increment();
        if (repinPending) {
            repinPending = false;
            owner.stats.sessionsRepinned.increment();
        }
        if (check == SelfLoops.Check.TRACK) {
            // Registered before the first datagram is sent: its arrival at one of our listeners is recognised.
            track(up.localAddress(), picked);
        }
        return true;
    }

    /** {@code datagrams} client datagrams ({@code bytes} in all) went out to the backend. */
    void forwarded(int datagrams, long bytes) {
        if (owner.options.responsesPerRequest() > 0) {
            owed += owner.options.responsesPerRequest() * datagrams;
        }
        owner.countForwarded(datagrams);
        Backend b = backend;
        if (b != null) {
            b.stats().bytesOut.add(bytes);
        }
    }

    /**
     * A reply of {@code len} bytes from the backend is being relayed to the client.
     *
     * @return true when it completed the session (responses per request): the session is closed,
     *         and later replies read with it are not relayed
     */
    boolean replied(int len, long now) {
        if (!answered) {
            // A UDP connect() proves nothing about the backend; its first answer does.
            answered = true;
            owner.events.connected(owner.vip, backend, now - attachedNanos);
        }
        owner.table.touch(this, now);
        backend.stats().bytesIn.add(len);
        if (owner.options.responsesPerRequest() > 0 && --owed <= 0) {
            owner.close(this, Sessions.Reason.COMPLETED);
            return true;
        }
        return false;
    }

    /** Whether {@code up} is this session's current upstream socket (not one it already replaced or closed). */
    boolean isCurrent(DatagramSockets.Upstream up) {
        return up == upstream;
    }

    /**
     * A send or receive on {@code up} failed. ICMP port unreachable ends the pinning: a passive
     * signal against the backend, one dropped datagram, and the next datagram picks another
     * backend. Anything else is only logged (the caller counted what was lost).
     */
    void failed(DatagramSockets.Upstream up, Throwable cause, long now) {
        if (up != upstream) {
            return; // an older upstream of this session
        }
        Backend b = backend;
        if (!isPortUnreachable(cause)) {
            log.debug("udp upstream error vip={} client={} backend={} reason=\"{}\"",
                    owner.vip.name(), client, b, cause.toString());
            return;
        }
        log.debug("udp backend failed vip={} client={} backend={} reason=\"{}\"",
                owner.vip.name(), client, b, cause.toString());
        owner.events.connectFailed(owner.vip, b, cause, now - lastSentNanos);
        b.stats().connectFailures.increment();
        owner.stats.droppedBackendUnreachable.increment();
        addFailed(b);
        detach();
        repinPending = true;
    }

    /** Closes the upstream socket; the session is over (the table already forgot it). */
    void close() {
        detach();
    }

    private void detach() {
        untrack();
        DatagramSockets.Upstream up = upstream;
        Backend b = backend;
        upstream = null;
        backend = null;
        owed = 0;
        if (up != null) {
            up.close();
        }
        if (b != null) {
            b.stats().active.decrementAndGet();
        }
    }

    /** Registers the upstream socket at {@code local} so its arrival at one of our listeners is recognised. */
    private void track(InetSocketAddress local, Backend b) {
        if (local != null && trackedLocal == null) {
            trackedHop = new SelfLoops.Hop(owner.vip, b, arrivedVia);
            trackedLocal = local;
            SelfLoops.track(SelfLoops.Proto.UDP, local, trackedHop);
        }
    }

    private void untrack() {
        if (trackedLocal != null) {
            SelfLoops.untrack(SelfLoops.Proto.UDP, trackedLocal, trackedHop);
            trackedLocal = null;
            trackedHop = null;
        }
    }

    private void addFailed(Backend b) {
        if (failed.isEmpty()) {
            failed = new ArrayList<>(2);
        }
        if (!failed.contains(b)) {
            failed.add(b);
        }
    }

    private static boolean contains(BackendPool pool, Backend b) {
        List<Backend> backends = pool.backends();
        for (int i = 0, n = backends.size(); i < n; i++) {
            Backend x = backends.get(i);
            if (x == b || x.address().equals(b.address())) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "Session[client=" + client + " backend=" + backend + " upstream=" + upstream + " owed=" + owed
                + " idle_ms=" + (System.nanoTime() - lastActive) / 1_000_000 + "]";
    }

    /** ECONNREFUSED on a connected UDP socket is how the kernel reports ICMP port unreachable. */
    static boolean isPortUnreachable(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause()) {
            if (t instanceof PortUnreachableException) {
                return true;
            }
        }
        return false;
    }

    /** The exception both socket sides report ICMP port unreachable with ({@code call} failed with ECONNREFUSED). */
    static PortUnreachableException portUnreachable(String call) {
        return new PortUnreachableException(call + "(..) failed: Connection refused");
    }
}
