package io.tandem.ha;

import io.tandem.config.HostPort;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * Two (or more) {@link HaNode}s in one JVM against one real ZooKeeper, each with a recording
 * {@link AddressManager} writing into a shared {@link Ledger}, optional {@link TcpProxy}s in
 * front of ZooKeeper and the peer links so a test can cut or blackhole them.
 */
final class HaFixture implements AutoCloseable {
    static final List<String> VIP_ADDRESSES = List.of("10.99.0.1", "10.99.0.2", "10.99.0.3", "10.99.0.4");

    record Change(String node, String vipAddress, boolean acquired, OwnershipCause cause, long epoch, long nanos) {
    }

    final class Member {
        final String id;
        final int listenPort;
        HaNode node;
        TcpProxy zkProxy;
        final AtomicInteger adds = new AtomicInteger();
        final AtomicInteger removes = new AtomicInteger();
        final AtomicInteger announces = new AtomicInteger();

        Member(String id, int listenPort) {
            this.id = id;
            this.listenPort = listenPort;
        }

        HaView view() {
            return node.view();
        }

        List<String> served() {
            return node.view().servedHere();
        }
    }

    final String cluster = "it-" + UUID.randomUUID().toString().substring(0, 8);
    final Ledger ledger = new Ledger();
    final ConcurrentLinkedQueue<Change> changes = new ConcurrentLinkedQueue<>();
    final Map<String, Member> members = new ConcurrentHashMap<>();
    final Map<String, TcpProxy> peerProxies = new ConcurrentHashMap<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final String zkConnect;
    /** False to model a whole-process freeze (SIGSTOP also stops the watchdog). */
    boolean watchdog = true;

    HaFixture(String zkConnect, String... ids) throws IOException {
        this.zkConnect = zkConnect;
        for (String id : ids) {
            members.put(id, new Member(id, freePort()));
        }
    }

    /** Routes {@code from}'s peer link to {@code to} through a proxy (created on first use). */
    TcpProxy peerProxy(String from, String to) throws IOException {
        String key = from + "->" + to;
        TcpProxy p = peerProxies.get(key);
        if (p == null) {
            p = new TcpProxy(members.get(to).listenPort);
            peerProxies.put(key, p);
            closeables.add(p);
        }
        return p;
    }

    /** Routes {@code id}'s ZooKeeper connection through a proxy (created on first use). */
    TcpProxy zkProxy(String id) throws IOException {
        Member m = members.get(id);
        if (m.zkProxy == null) {
            m.zkProxy = new TcpProxy(HostPort.parse(zkConnect).port());
            closeables.add(m.zkProxy);
        }
        return m.zkProxy;
    }

    /** Every value of the node's config, said here (the builder has no defaults). */
    HaConfigBuilder config(String id) {
        Member m = members.get(id);
        String zk = m.zkProxy != null ? m.zkProxy.address() : zkConnect;
        HaConfigBuilder b = new HaConfigBuilder(id, cluster, HostPort.of("127.0.0.1", m.listenPort), zk)
                .zkSession(Duration.ofSeconds(4), Duration.ofSeconds(1))
                .claimDelay(Duration.ofSeconds(2)) // a slow-starting preferred owner must not lose its addresses
                // behaviour tests run on a shared, noisy CI box: relaxed detection so that a slow
                // scheduler never fakes a failure; the measuring tests tighten it (fastDetection)
                .heartbeat(Duration.ofMillis(25), Duration.ofMillis(250))
                .probeTimeout(Duration.ofMillis(250))
                .isolationGrace(Duration.ofMillis(250))
                .preempt(false, Duration.ofSeconds(10))
                .interfaceName("lo") // the recording address manager never touches it
                .garp(2, Duration.ofMillis(50), Duration.ZERO)
                .addressLifetime(Duration.ZERO);
        for (Member other : members.values()) {
            if (!other.id.equals(id)) {
                TcpProxy proxy = peerProxies.get(id + "->" + other.id);
                b.peer(other.id, HostPort.of("127.0.0.1", proxy != null ? proxy.port() : other.listenPort));
            }
        }
        VIP_ADDRESSES.forEach(b::vipAddress);
        return b;
    }

    Member start(String id) throws IOException {
        return start(id, UnaryOperator.identity());
    }

    Member start(String id, UnaryOperator<HaConfigBuilder> tune) throws IOException {
        Member m = members.get(id);
        ledger.revive(id);
        OwnershipListener listener = new OwnershipListener() {
            @Override
            public void acquired(String address, long epoch, OwnershipCause cause) {
                changes.add(new Change(id, address, true, cause, epoch, System.nanoTime()));
            }

            @Override
            public void released(String address, OwnershipCause cause) {
                changes.add(new Change(id, address, false, cause, -1, System.nanoTime()));
            }
        };
        m.node = HaNode.start(tune.apply(config(id)).build(),
                ledger.forNode(id, m.adds, m.removes, m.announces), listener, watchdog);
        closeables.add(m.node);
        return m;
    }

    /** The process of {@code id} dies: its sockets close, its ZooKeeper session is left to expire. */
    void crash(String id) {
        Member m = members.get(id);
        m.node.crashForTest();
        if (m.zkProxy != null) {
            m.zkProxy.cut();
        }
        ledger.forget(id);
        closeables.add(m.node::abandonForTest);
    }

    /**
     * Tight detection for the tests that measure takeover time: 20 ms heartbeats, 60 ms timeouts
     * (the config's defaults are wider, 25 ms / 150 ms / 100 ms, for loaded hosts).
     */
    static HaConfigBuilder fastDetection(HaConfigBuilder b) {
        return b.heartbeat(Duration.ofMillis(20), Duration.ofMillis(60)).probeTimeout(Duration.ofMillis(60))
                .isolationGrace(Duration.ofMillis(60));
    }

    Member member(String id) {
        return members.get(id);
    }

    /** Each address served by exactly the given node, per the ledger. */
    Map<String, java.util.Set<String>> holders() {
        return ledger.holders();
    }

    List<Change> changes(String node, boolean acquired) {
        return changes.stream().filter(c -> c.node().equals(node) && c.acquired() == acquired).toList();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception ignored) {
                // best effort
            }
        }
    }
}
