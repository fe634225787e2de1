package io.tandem.core.vip;

import static java.util.Objects.requireNonNull;

import io.tandem.core.pool.Backend;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds traffic that this node would proxy back into itself: a VIP whose backend is the VIP's
 * own listen address, directly (a backend {@code 127.0.0.1:P} of a VIP on {@code 127.0.0.1:P},
 * a host name that resolves to it, a discovery entry, one of the host's addresses under a
 * wildcard listener) or through other VIPs of the node (A → B → A). Unchecked, one client
 * connection makes the node connect to itself again and again until it runs out of file
 * descriptors (issue #15, item 8). Two checks, both cheap on the common path:
 *
 * <ol>
 *   <li><b>Before connecting</b> ({@link #check}): a backend address of this host (loopback, or
 *       one of its interface addresses) that is a listen address of this node, exactly or under
 *       a wildcard listener, enters that VIP for certain. If that VIP is the one connecting, or
 *       one the flow already passed through, it is a {@linkplain Check#LOOP loop}: no socket is
 *       opened. A backend whose port no listener of the node uses cannot loop: one bit test,
 *       the whole cost for nearly every connect.</li>
 *   <li><b>On arrival</b> ({@link #arrivedFrom}): a connect that may reach one of our listeners
 *       (another VIP of the node, or an address not known as the host's: {@link Check#TRACK})
 *       is registered under its socket's local address as soon as the engine knows it (right
 *       after the connect call; on NIO once connected). An accepted connection (or a new UDP
 *       session) whose peer address is registered came from this node and carries the
 *       {@link Hop}s of the flow so far; if they include the VIP it arrives at, it is a loop and
 *       is cut. The lookup only runs while some socket is registered or about to be.</li>
 * </ol>
 *
 * <p>A TCP arrival can beat its own registration (the kernel queues the connection during the
 * connect call, and another event loop may accept it before the connecting one registers it).
 * So an arrival from an address of this host that is not registered while some registration is
 * {@linkplain #pending pending} is looked at again a moment later ({@link #unsure}); if it is
 * still unknown then, it goes on, and a loop is cut one hop later. UDP has no such race: the
 * upstream socket is registered before its first datagram is sent.
 *
 * <p>The host's addresses are read off the event loops when a listener is bound and every
 * {@link #REFRESH_SECONDS} seconds while one exists (addresses come and go: HA). Process-wide
 * (the kernel's view is too), thread-safe: listeners change on the control loop's bind and
 * close, the data path reads.
 */
public final class SelfLoops {
    private static final Logger log = LoggerFactory.getLogger(SelfLoops.class);
    static final int REFRESH_SECONDS = 2;

    /** TCP and UDP ports are separate spaces. */
    public enum Proto { TCP, UDP }

    /** What {@link #check} found for one connect. */
    public enum Check {
        /** The address is none of this node's listeners: connect as usual. */
        NONE,
        /**
         * It is (or may be) one of them: another VIP of this node, or a listener's port on an
         * address not known as the host's. Connect, {@link #track} the socket's local address as
         * soon as it is known, {@linkplain #pending} until then.
         */
        TRACK,
        /** It enters a VIP this flow already passed through: do not connect. */
        LOOP
    }

    /**
     * One pass of a flow through this node: it entered {@link #vip} and left for {@link #backend};
     * {@link #previous} is how it entered (null: from outside). Immutable but for the
     * {@linkplain #markLooped looped} mark, which the arrival side sets for the connecting side.
     */
    public static final class Hop {
        private final Vip vip;
        private final Backend backend;
        private final Hop previous;
        private volatile boolean looped;

        public Hop(Vip vip, Backend backend, Hop previous) {
            this.vip = requireNonNull(vip, "vip");
            this.backend = requireNonNull(backend, "backend");
            this.previous = previous;
        }

        public Vip vip() {
            return vip;
        }

        public Backend backend() {
            return backend;
        }

        public Hop previous() {
            return previous;
        }

        /** Whether the flow passed through {@code v} at this hop or before. */
        public boolean visits(Vip v) {
            for (Hop h = this; h != null; h = h.previous) {
                if (h.vip == v) {
                    return true;
                }
            }
            return false;
        }

        /**
         * Marks this hop's outbound connection as the one that came back: set by the arrival side
         * before it resets the arrival, so the connecting side reads the reset (during its connect,
         * or after) as a self-loop, not as a failure of the backend's.
         */
        public void markLooped() {
            looped = true;
        }

        public boolean looped() {
            return looped;
        }

        @Override
        public String toString() {
            return "Hop[vip=" + vip.name() + " backend=" + backend + (previous == null ? "" : " after " + previous) + "]";
        }
    }

    private record Listening(Vip vip, InetAddress address) {
        boolean wildcard() {
            return address.isAnyLocalAddress();
        }
    }

    private static final Table TCP = new Table();
    private static final Table UDP = new Table();
    /** The host's addresses, as of the last read (wildcard listeners only need them). */
    private static volatile Set<InetAddress> hostAddresses = Set.of();
    private static volatile boolean useHostAddresses = true;
    /** Guards {@link #refresher}. */
    private static final Object REFRESH = new Object();
    private static Thread refresher;

    private SelfLoops() {
    }

    private static Table table(Proto p) {
        return p == Proto.TCP ? TCP : UDP;
    }

    /** {@code vip} listens on {@code bound} (the actual address, port resolved). Any thread. */
    public static void listening(Proto p, Vip vip, InetSocketAddress bound) {
        table(p).listening(new Listening(requireNonNull(vip, "vip"), bound.getAddress()), bound.getPort());
        startRefresher();
    }

    /** {@code vip} stopped listening on {@code bound}. */
    public static void closed(Proto p, Vip vip, InetSocketAddress bound) {
        table(p).closed(new Listening(requireNonNull(vip, "vip"), bound.getAddress()), bound.getPort());
    }

    /**
     * Before {@code vip} connects to {@code dst} for a flow that entered it through
     * {@code arrivedVia} (null: from outside). Per connect: a bit test when no listener of the
     * node uses {@code dst}'s port.
     */
    public static Check check(Proto p, InetSocketAddress dst, Vip vip, Hop arrivedVia) {
        Table t = table(p);
        int port = dst.getPort();
        if (!t.hasPort(port)) {
            return Check.NONE;
        }
        InetAddress ip = dst.getAddress();
        if (ip == null) {
            return Check.NONE;
        }
        // Only an address of this host reaches our listeners for certain: a listen address may also
        // be a VIP this node is standby for (bound with IP_FREEBIND, owned by the peer for now).
        boolean local = ip.isLoopbackAddress() || (useHostAddresses && hostAddresses.contains(ip));
        Check result = Check.NONE;
        for (Listening l : t.on(port)) {
            if (l.wildcard()) {
                // An IPv6 wildcard listener is dual-stack (bindv6only=0), an IPv4 one takes IPv4 only.
                if (!(ip instanceof Inet4Address) && l.address() instanceof Inet4Address) {
                    continue;
                }
            } else if (!l.address().equals(ip)) {
                continue;
            }
            if (local && (l.vip() == vip || (arrivedVia != null && arrivedVia.visits(l.vip())))) {
                return Check.LOOP;
            }
            result = Check.TRACK;
        }
        return result;
    }

    /**
     * A {@link Check#TRACK} connect of {@code p} starts ({@code +1}, before its connect call) or
     * has been {@linkplain #track registered} or given up ({@code -1}).
     */
    public static void pending(Proto p, int delta) {
        table(p).pending.addAndGet(delta);
    }

    /**
     * Whether an arrival from {@code peer} that is not (yet) registered may still be one of our
     * sockets: a registration is pending and {@code peer} is an address of this host. The caller
     * looks again a moment later.
     */
    public static boolean unsure(Proto p, InetSocketAddress peer) {
        Table t = table(p);
        if (t.pending.get() <= 0 || peer == null || peer.getAddress() == null || t.outbound.containsKey(peer)) {
            return false;
        }
        InetAddress ip = peer.getAddress();
        return ip.isLoopbackAddress() || hostAddresses.contains(ip);
    }

    /**
     * Registers an outbound socket of {@code hop} (after its connect call) by its local address,
     * so that its arrival at one of our listeners is recognised. Undo with {@link #untrack}
     * before the socket is closed.
     */
    public static void track(Proto p, InetSocketAddress local, Hop hop) {
        if (local == null || local.getAddress() == null || local.getPort() == 0) {
            return;
        }
        Table t = table(p);
        if (t.outbound.put(local, hop) == null) {
            t.tracked.incrementAndGet();
        }
    }

    /** The socket at {@code local} of {@code hop} is closing. */
    public static void untrack(Proto p, InetSocketAddress local, Hop hop) {
        if (local == null) {
            return;
        }
        Table t = table(p);
        if (t.outbound.remove(local, hop)) {
            t.tracked.decrementAndGet();
        }
    }

    /** Whether any socket is tracked: only then does an arrival need {@link #arrivedFrom}. One volatile read. */
    public static boolean tracking(Proto p) {
        return table(p).tracked.get() > 0;
    }

    /** Whether any socket is tracked or about to be: only then does an arrival need looking at. Two volatile reads. */
    public static boolean watching(Proto p) {
        Table t = table(p);
        return t.tracked.get() > 0 || t.pending.get() > 0;
    }

    /** The flow an arrival from {@code peer} belongs to, when {@code peer} is one of our tracked sockets; else null. */
    public static Hop arrivedFrom(Proto p, InetSocketAddress peer) {
        return peer == null ? null : table(p).outbound.get(peer);
    }

    /** Reads the host's addresses now (a netlink round trip: never on an event loop). */
    static void refreshHostAddresses() {
        Set<InetAddress> all = new HashSet<>();
        try {
            for (var it = NetworkInterface.getNetworkInterfaces().asIterator(); it.hasNext(); ) {
                it.next().getInetAddresses().asIterator().forEachRemaining(all::add);
            }
        } catch (SocketException | RuntimeException e) {
            log.debug("host addresses not read cause=\"{}\"", e.toString());
            return;
        }
        hostAddresses = Set.copyOf(all);
    }

    /** For tests: whether {@link #check} may use the host's addresses (false: wildcard listeners only know loopback). */
    static void useHostAddresses(boolean use) {
        useHostAddresses = use;
    }

    /** While a listener exists, re-reads the host's addresses every few seconds (they come and go: HA). */
    private static void startRefresher() {
        if (!TCP.any() && !UDP.any()) {
            return;
        }
        synchronized (REFRESH) {
            if (refresher != null) {
                return;
            }
            refresher = Thread.ofVirtual().name("tandem-host-addresses").start(() -> {
                try {
                    while (TCP.any() || UDP.any()) {
                        refreshHostAddresses();
                        TimeUnit.SECONDS.sleep(REFRESH_SECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    synchronized (REFRESH) {
                        refresher = null;
                    }
                }
                if (TCP.any() || UDP.any()) {
                    startRefresher(); // a listener came back as this thread was stopping
                }
            });
        }
    }

    /** Listeners by port and tracked outbound sockets of one protocol. */
    private static final class Table {
        /** One bit per port that some listener of the node uses. */
        private final AtomicLongArray ports = new AtomicLongArray(65536 / 64);
        /** The listeners of each port in use (immutable lists, replaced on change). */
        private final ConcurrentHashMap<Integer, List<Listening>> byPort = new ConcurrentHashMap<>();
        private final ConcurrentHashMap<InetSocketAddress, Hop> outbound = new ConcurrentHashMap<>();
        private final AtomicInteger tracked = new AtomicInteger();
        /** TCP connects to be tracked whose local address is not registered yet. */
        private final AtomicInteger pending = new AtomicInteger();

        /** Listeners now. */
        private final AtomicInteger listeners = new AtomicInteger();

        boolean any() {
            return listeners.get() > 0;
        }

        boolean hasPort(int port) {
            return (ports.get(port >>> 6) & (1L << (port & 63))) != 0;
        }

        List<Listening> on(int port) {
            return byPort.getOrDefault(port, List.of());
        }

        synchronized void listening(Listening l, int port) {
            List<Listening> next = new ArrayList<>(on(port));
            next.add(l);
            byPort.put(port, List.copyOf(next));
            setPort(port, true);
            listeners.incrementAndGet();
        }

        synchronized void closed(Listening l, int port) {
            List<Listening> next = new ArrayList<>(on(port));
            if (!next.remove(l)) {
                return;
            }
            listeners.decrementAndGet();
            if (next.isEmpty()) {
                byPort.remove(port);
                setPort(port, false);
            } else {
                byPort.put(port, List.copyOf(next));
            }
        }

        private void setPort(int port, boolean on) {
            int i = port >>> 6;
            long bit = 1L << (port & 63);
            long v;
            do {
                v = ports.get(i);
            } while (!ports.compareAndSet(i, v, on ? v | bit : v & ~bit));
        }
    }
}
