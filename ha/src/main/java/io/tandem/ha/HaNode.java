package io.tandem.ha;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HaConfig;
import io.tandem.config.HostPort;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of the HA group: holds ZooKeeper leases for VIP addresses, talks to its peers over
 * the peer link, and adds/removes/announces the addresses it owns through an
 * {@link AddressManager}. The protocol and the failure matrix are in docs/ha.md.
 *
 * <p>Everything that changes ownership runs on one HA control thread: ZooKeeper events, peer
 * heartbeats, probe answers and claim results are posted to it, it asks the {@link Arbiter}
 * what to do, and hands blocking work (ZooKeeper transactions, {@code ip}, ARP) to virtual
 * threads. Address operations for one address run in order.
 *
 * <p>Lifecycle: {@link #start} → {@link #close} (idempotent; releases every address and
 * deletes this node's leases so a peer can take them at once).
 */
public final class HaNode implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HaNode.class);
    private static final int RECENT_EVENTS = 64;

    private final HaConfig config;
    private final Group group;
    private final AddressManager addresses;
    private final KernelFence fence;
    private final FenceDeadline fenceDeadline;
    private final AtomicLong fenceRenewals = new AtomicLong();
    private final AtomicLong fenceFailures = new AtomicLong();
    private final AtomicLong fenceRenewNanosMax = new AtomicLong();
    /** How often the fence is renewed: every heartbeat, or more often when probe_timeout is short. */
    private final long fencePeriod;
    private final long fenceDownWindow;
    private final OwnershipListener listener;
    private final long incarnation;
    private final Arbiter arbiter;
    private final ScheduledExecutorService control;
    private final ExecutorService io = Executors.newVirtualThreadPerTaskExecutor();
    private final LeaseStore store;
    private final PeerLink link;
    private final AtomicBoolean refreshQueued = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicLong tokens = new AtomicLong();
    private final Map<String, Long> serveToken = new ConcurrentHashMap<>();
    private final Deque<OwnershipEvent> recent = new ConcurrentLinkedDeque<>();
    private final AtomicBoolean watchdogFired = new AtomicBoolean();
    private volatile long lastTickDone = now();
    private volatile List<String> servedSnapshot = List.of();
    /** Whether a peer link was up at the last decision: only then can a peer take over quickly. */
    private volatile boolean peerUp;
    private final AtomicInteger recentSize = new AtomicInteger();

    // control-thread state
    private final Map<String, CompletableFuture<Void>> chains = new HashMap<>();
    private final Map<String, Long> answered = new HashMap<>();
    private final Map<String, Arbiter.ProbeState> lastProbe = new HashMap<>();
    private long sequence;
    private ScheduledFuture<?> ticker;
    private volatile HaView view;

    private HaNode(HaConfig config, AddressManager addresses, KernelFence fence, OwnershipListener listener)
            throws IOException {
        this.config = config;
        this.group = Group.of(config);
        this.addresses = addresses;
        this.fence = fence;
        long interval = config.heartbeatInterval().toMillis();
        long probe = config.probeTimeout().toMillis();
        // Margin for ZooKeeper delivering a probe and our answer (FenceDeadline, rule 2): one
        // interval, at most a quarter of the probe timeout.
        long down = Math.max(1, probe - Math.min(interval, probe / 4));
        this.fenceDeadline = new FenceDeadline(Math.max(down, config.heartbeatTimeout().toMillis() + probe
                - 2 * interval), down, interval);
        this.fencePeriod = Math.max(1, Math.min(interval, down / 3));
        this.fenceDownWindow = down;
        this.listener = listener;
        this.incarnation = System.currentTimeMillis() * 1000 + ThreadLocalRandom.current().nextInt(1000);
        List<String> peerIds = config.peers().stream().map(HaConfig.Peer::id).toList();
        this.arbiter = new Arbiter(config.nodeId(), peerIds, group.preferredOwners(), config.preempt(),
                Arbiter.Timing.of(config), incarnation, now());
        this.control = Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().name("tandem-ha-control-" + config.nodeId()).daemon().unstarted(r));
        this.store = new LeaseStore(config, new LeaseStore.Events() {
            @Override
            public void state(ZkState state, long sessionId) {
                post(() -> onZkState(state, sessionId));
            }

            @Override
            public void changed() {
                if (refreshQueued.compareAndSet(false, true)) {
                    post(() -> {
                        refreshQueued.set(false);
                        refresh();
                    });
                }
            }

            @Override
            public void initialized() {
                post(() -> {
                    arbiter.cacheReady(now());
                    refresh();
                });
            }
        });
        this.link = new PeerLink(config, new PeerLink.Events() {
            @Override
            public void heartbeat(String peer, PeerMessage.Heartbeat hb, long atMs) {
                post(() -> onHeartbeat(peer, hb, atMs));
            }

            @Override
            public void lost(String peer, String cause, long atMs) {
                post(() -> onLinkLost(peer, cause, atMs));
            }

            @Override
            public void refused(String peer, long atMs) {
                post(() -> arbiter.refused(peer, atMs));
            }

            @Override
            public void message(String peer, PeerMessage message) {
                if (message instanceof PeerMessage.BackendEjected b) {
                    io.execute(() -> listener.peerBackendEjected(b));
                }
            }
        }, HaNode::now);
        this.view = buildView();
    }

    /**
     * Starts a node: removes leftover VIP addresses of a previous run from the interface (a
     * crashed process leaves them behind), binds the peer link, connects to ZooKeeper. Returns at
     * once; addresses are acquired as leases are won.
     *
     * @throws IOException when the peer-link port cannot be bound
     */
    public static HaNode start(HaConfig config, AddressManager addresses, OwnershipListener listener)
            throws IOException {
        return start(config, addresses, KernelFence.OFF, listener, true);
    }

    /**
     * Starts a node with a self-fence ({@link KernelFence}): installed before anything else, so
     * every managed address drops packets until this node holds it and renews it.
     *
     * @throws IOException when the peer-link port cannot be bound or the fence cannot be installed
     */
    public static HaNode start(HaConfig config, AddressManager addresses, KernelFence fence,
                               OwnershipListener listener) throws IOException {
        return start(config, addresses, fence, listener, true);
    }

    /** {@code watchdog} false: tests that simulate a whole-process freeze (SIGSTOP stops the watchdog too). */
    static HaNode start(HaConfig config, AddressManager addresses, OwnershipListener listener, boolean watchdog)
            throws IOException {
        return start(config, addresses, KernelFence.OFF, listener, watchdog);
    }

    static HaNode start(HaConfig config, AddressManager addresses, KernelFence fence, OwnershipListener listener,
                        boolean watchdog) throws IOException {
        requireNonNull(config, "config");
        requireNonNull(addresses, "addresses");
        requireNonNull(fence, "fence");
        requireNonNull(listener, "listener");
        HaNode node = new HaNode(config, addresses, fence, listener);
        if (!fence.active()) { // a caller may install it first, to choose what to do when it cannot
            fence.install(config.addresses().stream().map(HaConfig.Address::address).toList());
        }
        addresses.warmUp();
        for (HaConfig.Address v : config.addresses()) {
            try {
                addresses.remove(v.address());
            } catch (IOException e) {
                log.warn("stale address sweep failed address={} error=\"{}\"", v.address(), e.toString());
            }
        }
        node.link.start();
        node.store.start();
        long tick = config.heartbeatInterval().toMillis();
        node.ticker = node.control.scheduleWithFixedDelay(node::tick, tick, tick, TimeUnit.MILLISECONDS);
        if (fence.active() && node.fencePeriod < tick) {
            node.control.scheduleWithFixedDelay(() -> node.renewFence(node.arbiter.heldEpochs().keySet()),
                    node.fencePeriod, node.fencePeriod, TimeUnit.MILLISECONDS);
        }
        if (!config.addressLifetime().isZero()) {
            long every = Math.max(250, config.addressLifetime().toMillis() / 3);
            node.control.scheduleAtFixedRate(node::renewAddresses, every, every, TimeUnit.MILLISECONDS);
        }
        if (watchdog) {
            Thread.ofPlatform().daemon().name("tandem-ha-watchdog-" + config.nodeId()).start(node::watchdog);
        }
        log.info("ha node started node={} incarnation={} peer_port={} peers={} addresses={} preferred={}",
                config.nodeId(), node.incarnation, node.link.port(), config.peers().size(), config.addresses().size(),
                node.group.preferredOwners());
        return node;
    }

    /** The current snapshot (never blocks). */
    public HaView view() {
        return view;
    }

    /** The bound peer-link port (useful when {@code listen} asked for port 0). */
    public int peerPort() {
        return link.port();
    }

    /** Tells every peer that this node's passive detector ejected {@code backend} of the VIP named {@code vipName}. */
    public void publishBackendEjected(String vipName, HostPort backend, String reason) {
        link.send(new PeerMessage.BackendEjected(config.nodeId(), vipName, backend, reason,
                System.currentTimeMillis()));
    }

    // ------------------------------------------------------------------ control thread

    private void post(Runnable r) {
        try {
            control.execute(() -> {
                try {
                    r.run();
                    step();
                } catch (RuntimeException e) {
                    log.error("ha control task failed node={}", config.nodeId(), e);
                }
            });
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    private void tick() {
        try {
            long now = now();
            if (watchdogFired.getAndSet(false)) {
                arbiter.releaseAll(OwnershipCause.ISOLATED, "control thread stalled; watchdog removed the addresses");
            }
            if (arbiter.tick(now)) {
                log.warn("ha control thread was late node={} (frozen or paused?) revalidating held addresses={}",
                        config.nodeId(), arbiter.heldEpochs().keySet());
            }
            step();
            fenceDeadline.ran(now); // also while holding nothing: the first serve after must not look like a stall
            renewFence(arbiter.heldEpochs().keySet());
            sendHeartbeat();
            lastTickDone = now();
        } catch (RuntimeException e) {
            log.error("ha tick failed node={}", config.nodeId(), e);
        }
    }

    /**
     * The control thread sends the heartbeats and answers the probes, so when it hangs (a
     * deadlock, a stuck listener) the peers take the addresses over; this thread, independent of
     * it, removes them first. The threshold stays below the earliest peer takeover:
     * heartbeat timeout + probe timeout - one interval. It stays put when no peer link was up
     * before the stall: a peer that (re)connects during the stall can still take over after its
     * probe goes unanswered, and the stalled node is fenced when it resumes — the same window
     * as a frozen process (docs/ha.md, failure matrix).
     */
    private void watchdog() {
        long interval = Math.max(5, config.heartbeatInterval().toMillis() / 2);
        long threshold = config.heartbeatTimeout().toMillis() + config.probeTimeout().toMillis()
                - config.heartbeatInterval().toMillis();
        while (!closed.get()) {
            try {
                Thread.sleep(interval); // periodic check, not a wait for a condition
            } catch (InterruptedException e) {
                return;
            }
            long stalled = now() - lastTickDone;
            List<String> served = servedSnapshot;
            // With no peer link up (the peer is dead or never came), nobody is about to take the
            // addresses over: removing them would turn a stall into an outage for nothing.
            if (stalled > threshold && !served.isEmpty() && peerUp && !closed.get()
                    && watchdogFired.compareAndSet(false, true)) {
                serveToken.clear();
                log.error("ha control thread stalled node={} stalled_ms={} removing addresses={} (peers will take them over)",
                        config.nodeId(), stalled, served);
                for (String vipAddress : served) {
                    try {
                        addresses.remove(vipAddress);
                    } catch (IOException | RuntimeException e) {
                        log.error("watchdog address remove failed node={} address={} error=\"{}\"", config.nodeId(),
                                vipAddress,
                                e.toString());
                    }
                }
                servedSnapshot = List.of();
            }
        }
    }

    private void sendHeartbeat() {
        Map<String, PeerMessage.Echo> echoes = new HashMap<>();
        long now = now();
        long takeoverPath = config.heartbeatTimeout().toMillis() + config.probeTimeout().toMillis();
        for (Arbiter.Peer p : arbiter.peers()) {
            if (p.heartbeat != null && FenceDeadline.mayEcho(p.up, p.upSince, now, takeoverPath)) {
                echoes.put(p.id, new PeerMessage.Echo(p.heartbeat.incarnation(), p.heartbeat.sequence()));
            }
        }
        long seq = ++sequence;
        fenceDeadline.sent(seq, now()); // before sending: an earlier anchor is the safe side
        link.send(new PeerMessage.Heartbeat(config.nodeId(), incarnation, seq, arbiter.zkUsable(),
                arbiter.heldEpochs(), echoes));
    }

    /**
     * Lets packets in for {@code vipAddresses} until the fence deadline (on the control thread,
     * before the heartbeat that promises them: see {@link FenceDeadline}). The deadline is
     * absolute in the kernel too ({@link KernelFence#renew}), so a call descheduled between the
     * computation and the netlink send cannot stretch it. A failed renewal releases the
     * addresses: a node that cannot renew its fence would blackhole them.
     */
    private void renewFence(java.util.Collection<String> vipAddresses) {
        if (!fence.active() || vipAddresses.isEmpty()) {
            return;
        }
        long now0 = now();
        Map<String, Boolean> links = new HashMap<>();
        boolean seesProbes = arbiter.zkUsable();
        for (Arbiter.Peer p : arbiter.peers()) {
            links.put(p.id, p.up);
            // Our own probe unacknowledged for longer than the down window: ZooKeeper does not
            // hear us, so we would not see the peer's probe either.
            seesProbes &= !(p.probe == Arbiter.ProbeState.SENT && now0 - p.probeSentAt > fenceDownWindow);
        }
        long until = fenceDeadline.deadline(links, seesProbes, now0) * 1_000_000;
        long t0 = System.nanoTime();
        if (until - t0 < 1_000_000) {
            return; // nothing left to grant: the elements run out by themselves
        }
        try {
            fence.renew(vipAddresses, until);
        } catch (IOException | RuntimeException e) {
            fenceFailures.incrementAndGet();
            log.error("self-fence renewal failed node={} addresses={} error=\"{}\" (releasing them: packets to them "
                    + "would be dropped)", config.nodeId(), vipAddresses, e.toString());
            long now = now();
            for (String a : List.copyOf(vipAddresses)) {
                arbiter.addressFailed(a, now);
            }
            return;
        }
        fenceRenewals.incrementAndGet();
        fenceRenewNanosMax.accumulateAndGet(System.nanoTime() - t0, Math::max);
    }

    /** The self-fence: what it is, whether it filters, renewals, failures, the slowest renewal in µs. */
    public record FenceStats(String description, boolean active, long renewals, long failures, long maxRenewMicros) {
    }

    /** The self-fence's counters (any thread). */
    public FenceStats fenceStats() {
        return new FenceStats(fence.describe(), fence.active(), fenceRenewals.get(), fenceFailures.get(),
                fenceRenewNanosMax.get() / 1000);
    }

    private void onZkState(ZkState state, long sessionId) {
        ZkState before = arbiter.zk();
        arbiter.zkState(state, sessionId, now());
        if (before != state) {
            log.info("zookeeper state node={} state={} session=0x{}", config.nodeId(), state,
                    Long.toHexString(sessionId));
        }
        if (state == ZkState.CONNECTED) {
            refresh();
        }
    }

    private void onHeartbeat(String peer, PeerMessage.Heartbeat hb, long at) {
        Arbiter.Peer p = arbiter.peer(peer);
        boolean wasUp = p != null && p.up;
        long previousIncarnation = p != null && p.heartbeat != null ? p.heartbeat.incarnation() : 0;
        arbiter.heartbeat(peer, hb, at);
        PeerMessage.Echo echo = hb.echoes().get(config.nodeId());
        if (echo != null && echo.incarnation() == incarnation) {
            fenceDeadline.acked(peer, echo.sequence());
        }
        if (p != null && !wasUp) {
            log.info("peer link up node={} peer={} incarnation={}{}", config.nodeId(), peer, hb.incarnation(),
                    previousIncarnation != 0 && previousIncarnation != hb.incarnation() ? " restarted=true" : "");
        }
    }

    private void onLinkLost(String peer, String cause, long at) {
        Arbiter.Peer p = arbiter.peer(peer);
        if (p != null && p.up) {
            log.info("peer link lost node={} peer={} cause={} silence_ms={}", config.nodeId(), peer, cause,
                    at - p.lastHeartbeatAt);
        }
        arbiter.linkLost(peer, cause, at);
    }

    private void refresh() {
        long now = now();
        arbiter.leases(store.leases(), now);
        store.probesToMe().forEach((prober, nonce) -> {
            if (!nonce.equals(answered.get(prober))) {
                answered.put(prober, nonce);
                store.writeAck(prober, nonce);
            }
        });
        for (Arbiter.Peer p : arbiter.peers()) {
            if (!p.up && (p.probe == Arbiter.ProbeState.SENT || p.probe == Arbiter.ProbeState.WRITTEN)
                    && store.ackFrom(p.id) == p.nonce) {
                arbiter.probeAnswered(p.id, p.nonce, now);
            }
        }
    }

    private void step() {
        long now = now();
        List<Action> actions = arbiter.evaluate(now);
        boolean changed = false;
        for (Action a : actions) {
            changed |= a instanceof Action.Serve || a instanceof Action.Release;
            execute(a, now);
        }
        logProbeVerdicts();
        if (changed) {
            sendHeartbeat();
        }
        if (!watchdogFired.get()) {
            servedSnapshot = List.copyOf(arbiter.heldEpochs().keySet());
            peerUp = arbiter.peers().stream().anyMatch(p -> p.up);
        }
        view = buildView();
    }

    private void execute(Action a, long now) {
        String me = config.nodeId();
        switch (a) {
            case Action.Claim c -> io.execute(() -> {
                long epoch = claim(c.vipAddress(), c.seen());
                post(() -> arbiter.claimDone(c.vipAddress(), c.cause(), c.fromPeer(), now, epoch, now()));
            });
            case Action.Reassert r -> io.execute(() -> {
                long epoch = claim(r.vipAddress(), r.seen());
                if (epoch >= 0) {
                    log.info("lease re-asserted node={} address={} epoch={} session=0x{}", me, r.vipAddress(), epoch,
                            Long.toHexString(store.sessionId()));
                }
                post(() -> arbiter.claimDone(r.vipAddress(), OwnershipCause.RECOVERED, null, now, epoch, now()));
            });
            case Action.Serve s -> serve(s);
            case Action.Release r -> release(r);
            case Action.Probe p -> {
                log.info("peer probe node={} peer={} nonce={} (link down, asking through ZooKeeper)", me, p.peer(),
                        p.nonce());
                store.writeProbe(p.peer(), p.nonce(), (ok, nonce) -> {
                    if (ok) {
                        post(() -> arbiter.probeWritten(p.peer(), nonce, now()));
                    }
                });
            }
            case Action.DropLink d -> {
                log.info("peer link lost node={} peer={} cause=heartbeat_timeout", me, d.peer());
                link.drop(d.peer());
            }
            case Action.CheckZooKeeper c -> io.execute(() -> {
                boolean answered;
                try {
                    store.read(c.vipAddress());
                    answered = true;
                } catch (Exception e) {
                    answered = false;
                    log.info("zookeeper check before a hand-back failed node={} address={} error=\"{}\" (not handing "
                            + "it back until ZooKeeper answers)", me, c.vipAddress(), e.toString());
                }
                boolean ok = answered;
                post(() -> arbiter.zkChecked(ok, now()));
            });
            case Action.Revalidate r -> io.execute(() -> {
                for (String vipAddress : r.vipAddresses()) {
                    try {
                        Lease fresh = store.read(vipAddress);
                        post(() -> arbiter.revalidated(vipAddress, fresh, now()));
                    } catch (Exception e) {
                        if (!closed.get()) {
                            log.warn("revalidation read failed node={} address={} error=\"{}\"", me, vipAddress,
                                    e.toString());
                        }
                    }
                }
            });
        }
    }

    private long claim(String vipAddress, Lease seen) {
        try {
            return store.claim(vipAddress, seen);
        } catch (Exception e) {
            log.debug("claim not committed node={} address={} seen_epoch={} error=\"{}\"", config.nodeId(), vipAddress,
                    seen.epoch(), e.toString());
            return -1;
        }
    }

    private void serve(Action.Serve s) {
        // The fence first (on this thread, before the address exists): packets are let in from
        // the moment the address is added, never before this node holds it.
        renewFence(List.of(s.vipAddress()));
        long token = tokens.incrementAndGet();
        serveToken.put(s.vipAddress(), token);
        String detail = s.fromPeer() == null ? "" : "from " + s.fromPeer();
        chain(s.vipAddress(), () -> {
            if (!Long.valueOf(token).equals(serveToken.get(s.vipAddress()))) {
                return; // released (or the watchdog fired) before the add got its turn
            }
            long t0 = now();
            try {
                addOrRenew(s.vipAddress());
            } catch (IOException | RuntimeException e) {
                log.error("address add failed node={} address={} error=\"{}\" (releasing the lease)", config.nodeId(),
                        s.vipAddress(), e.toString());
                post(() -> arbiter.addressFailed(s.vipAddress(), now()));
                return;
            }
            long addrMs = now() - t0;
            record(new OwnershipEvent(s.vipAddress(), true, s.epoch(), s.cause(), detail, System.currentTimeMillis(),
                    s.detectMs(), s.decideMs(), addrMs));
            if (s.cause() == OwnershipCause.PEER_DEAD) {
                log.info("vip acquired node={} address={} epoch={} cause={} from={} silence_ms={} decide_ms={} address_ms={} takeover_ms={}",
                        config.nodeId(), s.vipAddress(), s.epoch(), s.cause(), s.fromPeer(), s.detectMs(), s.decideMs(),
                        addrMs, s.decideMs() + addrMs);
            } else {
                log.info("vip acquired node={} address={} epoch={} cause={} address_ms={}", config.nodeId(), s.vipAddress(),
                        s.epoch(), s.cause(), addrMs);
            }
            if (s.cause() == OwnershipCause.PEER_DEAD && s.detectMs() >= 0 && s.decideMs() >= 0) {
                listener.takeover(s.vipAddress(), s.fromPeer(), s.detectMs() + s.decideMs() + addrMs);
            }
            listener.acquired(s.vipAddress(), s.epoch(), s.cause());
        });
        scheduleAnnouncements(s.vipAddress(), token);
    }

    private void addOrRenew(String vipAddress) throws IOException {
        if (config.addressLifetime().isZero()) {
            addresses.add(vipAddress);
        } else {
            addresses.addWithLifetime(vipAddress, config.addressLifetime());
        }
    }

    /**
     * With an address lifetime, every held address is renewed three times per lifetime, in
     * order with its other operations. Runs on the control thread's scheduler on purpose: a
     * control thread that hangs stops renewing, and the kernel removes the addresses by itself.
     */
    private void renewAddresses() {
        serveToken.forEach((vipAddress, token) -> chain(vipAddress, () -> {
            if (token.equals(serveToken.get(vipAddress))) {
                try {
                    addresses.addWithLifetime(vipAddress, config.addressLifetime());
                } catch (IOException | RuntimeException e) {
                    log.warn("address renewal failed node={} address={} error=\"{}\"", config.nodeId(), vipAddress,
                            e.toString());
                }
            }
        }));
    }

    /** Later than this, a scheduled gratuitous ARP is not sent (see scheduleAnnouncements). */
    private long lateAnnouncementMs() {
        return config.heartbeatTimeout().toMillis();
    }

    private void scheduleAnnouncements(String vipAddress, long token) {
        long spacing = config.garpSpacing().toMillis();
        long repeat = config.garpRepeatAfter().toMillis();
        for (int burst = 0; burst < (repeat > 0 ? 2 : 1); burst++) {
            for (int i = 0; i < config.garpCount(); i++) {
                long delay = burst * repeat + i * spacing;
                long due = now() + delay;
                Runnable announce = () -> chain(vipAddress, () -> {
                    // An announcement far behind its time means this process was frozen: a peer
                    // may own the address by now, and a stale ARP would pull clients back here.
                    long late = now() - due;
                    if (delay > 0 && late > lateAnnouncementMs()) {
                        log.warn("gratuitous arp skipped node={} address={} late_ms={} (frozen or stalled?)",
                                config.nodeId(), vipAddress, late);
                        return;
                    }
                    if (Long.valueOf(token).equals(serveToken.get(vipAddress))) {
                        try {
                            addresses.announce(vipAddress);
                        } catch (IOException | RuntimeException e) {
                            log.warn("gratuitous arp failed node={} address={} error=\"{}\"", config.nodeId(), vipAddress,
                                    e.toString());
                        }
                    }
                });
                if (delay == 0) {
                    announce.run();
                } else {
                    try {
                        control.schedule(announce, delay, TimeUnit.MILLISECONDS);
                    } catch (RejectedExecutionException e) {
                        return;
                    }
                }
            }
        }
    }

    private void release(Action.Release r) {
        serveToken.remove(r.vipAddress());
        if (fence.active()) {
            try {
                fence.revoke(r.vipAddress());
            } catch (IOException | RuntimeException e) {
                log.error("self-fence revoke failed node={} address={} error=\"{}\" (the address is removed anyway; "
                        + "the element expires by itself)", config.nodeId(), r.vipAddress(), e.toString());
            }
        }
        chain(r.vipAddress(), () -> {
            long t0 = now();
            try {
                addresses.remove(r.vipAddress());
            } catch (IOException | RuntimeException e) {
                log.error("address remove failed node={} address={} error=\"{}\"", config.nodeId(), r.vipAddress(),
                        e.toString());
            }
            long addrMs = now() - t0;
            if (r.deleteOwner()) {
                store.deleteOwner(r.vipAddress());
            }
            record(new OwnershipEvent(r.vipAddress(), false, r.epoch(), r.cause(), r.detail(), System.currentTimeMillis(),
                    -1, -1, addrMs));
            log.info("vip released node={} address={} epoch={} cause={} detail=\"{}\" address_ms={}", config.nodeId(),
                    r.vipAddress(), r.epoch(), r.cause(), r.detail(), addrMs);
            listener.released(r.vipAddress(), r.cause());
        });
    }

    /** Runs {@code op} on a virtual thread after every earlier operation on the same address. */
    private void chain(String vipAddress, Runnable op) {
        CompletableFuture<Void> previous = chains.getOrDefault(vipAddress, CompletableFuture.completedFuture(null));
        chains.put(vipAddress, previous.thenRunAsync(op, io).exceptionally(e -> {
            log.error("address operation failed node={} address={}", config.nodeId(), vipAddress, e);
            return null;
        }));
    }

    private void record(OwnershipEvent e) {
        recent.addLast(e);
        if (recentSize.incrementAndGet() > RECENT_EVENTS) {
            recent.pollFirst();
            recentSize.decrementAndGet();
        }
        post(() -> { }); // rebuild the view with the event
    }

    private void logProbeVerdicts() {
        for (Arbiter.Peer p : arbiter.peers()) {
            Arbiter.ProbeState before = lastProbe.put(p.id, p.probe);
            if (before != p.probe && (p.probe == Arbiter.ProbeState.ALIVE || p.probe == Arbiter.ProbeState.DEAD)) {
                if (p.probe == Arbiter.ProbeState.DEAD) {
                    log.warn("peer declared dead node={} peer={} link_cause={} since_link_loss_ms={} proof=\"{}\"",
                            config.nodeId(), p.id, p.downCause, p.downAt < 0 ? -1 : p.verdictAt - p.downAt, p.deadProof);
                } else {
                    log.warn("peer link down but peer alive in ZooKeeper node={} peer={} link_cause={} (no takeover)",
                            config.nodeId(), p.id, p.downCause);
                }
            }
        }
    }

    private HaView buildView() {
        long now = now();
        long wall = System.currentTimeMillis();
        Map<String, Arbiter.Held> held = arbiter.held();
        List<HaView.VipAddressView> vipAddresses = new ArrayList<>();
        for (String vipAddress : arbiter.vipAddresses()) {
            Arbiter.Held h = held.get(vipAddress);
            Lease l = arbiter.lease(vipAddress);
            vipAddresses.add(new HaView.VipAddressView(vipAddress, arbiter.preferredOwner(vipAddress), h != null,
                    h != null ? h.epoch() : l.epoch(), l.owner(), h != null ? wall - (now - h.since()) : -1));
        }
        List<HaView.PeerView> peers = new ArrayList<>();
        for (Arbiter.Peer p : arbiter.peers()) {
            PeerMessage.Heartbeat hb = p.heartbeat;
            peers.add(new HaView.PeerView(p.id, p.up, p.lastHeartbeatAt < 0 ? -1 : now - p.lastHeartbeatAt,
                    p.downCause, p.probe.name(), hb != null && hb.zkConnected(), hb == null ? Map.of() : hb.held()));
        }
        return new HaView(config.nodeId(), incarnation, arbiter.zk(), arbiter.sessionId(), peers, vipAddresses,
                List.copyOf(recent));
    }

    static long now() {
        return System.nanoTime() / 1_000_000;
    }

    // ------------------------------------------------------------------ shutdown and test hooks

    /**
     * Releases every address (removing it and deleting this node's lease so a peer can claim
     * it at once), then closes the peer link and the ZooKeeper session. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        CompletableFuture<Void> released = new CompletableFuture<>();
        try {
            control.execute(() -> {
                if (ticker != null) {
                    ticker.cancel(false);
                }
                for (Action a : arbiter.shutdown()) {
                    execute(a, now());
                }
                sendHeartbeat();
                CompletableFuture.allOf(chains.values().toArray(CompletableFuture[]::new))
                        .whenComplete((v, e) -> released.complete(null));
            });
            released.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            log.warn("ha node close did not release every address in time node={} error=\"{}\"", config.nodeId(),
                    e.toString());
        }
        control.shutdownNow();
        link.close();
        store.close();
        io.shutdownNow();
        fence.close();
        log.info("ha node closed node={}", config.nodeId());
    }

    /** Test hook: the process "dies": no more decisions, sockets closed, ZooKeeper session left to expire. */
    void crashForTest() {
        closed.set(true);
        control.shutdownNow();
        link.closeAbruptly();
        io.shutdownNow();
    }

    /** Test hook: closes the ZooKeeper client of a crashed node (after the test is done with it). */
    void abandonForTest() {
        store.close();
    }

    /** Test hook: blocks the control thread (no heartbeats, no probe answers, no decisions) until the returned latch opens. */
    CountDownLatch freezeForTest() {
        CountDownLatch thaw = new CountDownLatch(1);
        control.execute(() -> {
            try {
                thaw.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return thaw;
    }
}
