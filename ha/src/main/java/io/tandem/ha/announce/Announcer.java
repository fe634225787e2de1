package io.tandem.ha.announce;

import static java.util.Objects.requireNonNull;

import io.tandem.config.AnnounceSettings;
import io.tandem.config.HaConfig;
import io.tandem.ha.AddressManager;
import io.tandem.ha.HaView;
import io.tandem.ha.IpAddressManager;
import io.tandem.ha.ZkState;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routed side of a node in {@code ha.announce: {mode: bgp}}: writes and supervises this node's
 * BIRD ({@link Bird}), hands the HA node the {@link RoutedAddressManager} it puts the leased
 * addresses on the VIP interface with, and in anycast mode puts every address there itself while
 * the node is not isolated ({@link AnycastRule}); the HA node then holds no lease for them. Polls
 * BIRD once a second for {@link #view()}.
 *
 * <p>Lifecycle: {@link #start} before the HA node, {@link #attach} once it runs, {@link #close}
 * after it closed (its leased addresses are gone by then: withdrawn), which removes the anycast
 * addresses and stops BIRD (a BGP Cease: the router drops this node's routes at once).
 */
public final class Announcer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Announcer.class);
    private static final long POLL_MS = 1_000;
    private static final long ANYCAST_TICK_MS = 20;
    private static final long BACKEND_TICK_MS = 50;

    private final HaConfig config;
    private final AnnounceSettings settings;
    private final Bird bird;
    private final AddressManager kernel;
    private final List<String> addresses;
    private final List<String> peerNames = new ArrayList<>();
    private final List<String> neighbors = new ArrayList<>();
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(3,
            Thread.ofPlatform().name("tandem-announce").daemon(true).factory());
    private final AnycastRule rule = new AnycastRule();
    private volatile BirdStatus status = BirdStatus.DOWN;
    private volatile boolean anycastAnnounced;
    /** Serializes adding/removing the anycast addresses with renewing their lifetime. */
    private final Object anycastLock = new Object();
    private volatile boolean closed;
    /** Per address (in {@link #addresses}' order): the backend hold and what BIRD was last told (null: unknown). */
    private final List<BackendHold> holds = new ArrayList<>();
    private final Boolean[] vipEnabled;
    private long birdStartsSeen = -1;
    private volatile java.util.Map<String, String> withheld = java.util.Map.of();
    private volatile java.util.Map<String, Boolean> lastEligible = java.util.Map.of();

    private Announcer(HaConfig config, Bird bird, AddressManager kernel) {
        this.config = config;
        this.settings = config.announce();
        this.bird = bird;
        this.kernel = kernel;
        this.addresses = config.addresses().stream().map(HaConfig.Address::address).toList();
        for (int i = 0; i < settings.neighbors().size(); i++) {
            peerNames.add(BirdConfig.peerName(i));
            neighbors.add(settings.neighbors().get(i).address());
        }
        for (int i = 0; i < addresses.size(); i++) {
            holds.add(new BackendHold());
        }
        this.vipEnabled = new Boolean[addresses.size()];
    }

    /** Writes {@code bird.conf} for {@code config} and starts BIRD; fails when BIRD rejects the config. */
    public static Announcer start(HaConfig config) throws IOException {
        requireNonNull(config, "config");
        AnnounceSettings s = config.announce();
        if (!s.bgp()) {
            throw new IllegalArgumentException("ha.announce.mode: arp (expected bgp for an announcer)");
        }
        String routerId = s.routerId().orElseGet(() -> config.listen().host());
        if (!BirdConfig.v4(routerId)) {
            throw new IllegalArgumentException("ha.announce.router_id: missing (expected an IPv4 literal: ha.listen "
                    + routerId + " is not IPv4)");
        }
        Path dir = s.runDir().orElse(Path.of("/run/tandem", "bird-" + config.cluster() + "-" + config.nodeId()));
        List<String> addresses = config.addresses().stream().map(HaConfig.Address::address).toList();
        String text = BirdConfig.render(s, config.nodeId(), routerId, config.interfaceName(), addresses);
        AddressManager kernel = new IpAddressManager(config.interfaceName());
        if (s.anycast()) {
            for (String a : addresses) {
                kernel.remove(a); // a previous run's, announced until BIRD reads the kernel again
            }
        }
        Bird bird = Bird.start(s.bird(), s.birdc(), dir, text);
        Announcer a = new Announcer(config, bird, kernel);
        a.timer.scheduleWithFixedDelay(a::poll, 0, POLL_MS, TimeUnit.MILLISECONDS);
        log.info("announcer started node={} mode=bgp anycast={} router_id={} local_as={} neighbors={} bfd={} addresses={} dir={}",
                config.nodeId(), s.anycast(), routerId, s.localAs(), a.neighbors,
                s.bfd().map(b -> b.interval().toMillis() + "ms x" + b.multiplier()).orElse("off"),
                BirdConfig.describe(addresses), dir);
        return a;
    }

    /**
     * The HA config the HA node runs with: unchanged for single-owner mode; with no addresses in
     * anycast mode (they are nobody's lease: this announcer puts them up on every healthy node).
     */
    public HaConfig haNodeConfig() {
        if (!settings.anycast()) {
            return config;
        }
        return new HaConfig(config.nodeId(), config.cluster(), config.listen(), config.peers(), config.zkConnect(),
                config.zkSessionTimeout(), config.zkConnectionTimeout(), config.interfaceName(),
                config.heartbeatInterval(), config.heartbeatTimeout(), config.probeTimeout(), config.isolationGrace(),
                config.claimDelay(), config.preempt(), config.preemptDelay(), config.garpCount(), config.garpSpacing(),
                config.garpRepeatAfter(), config.addressLifetime(), List.of(), config.zone(), settings,
                config.selfFence());
    }

    /** The address manager for the HA node: the VIP interface, no gratuitous ARP. */
    public AddressManager addressManager() {
        return new RoutedAddressManager(kernel);
    }

    /** In anycast mode, starts following {@code view} (ZooKeeper and peer links) to announce or withdraw. */
    public void attach(Supplier<HaView> view) {
        requireNonNull(view, "view");
        if (settings.anycast()) {
            timer.scheduleWithFixedDelay(() -> anycastTick(view), 0, ANYCAST_TICK_MS, TimeUnit.MILLISECONDS);
            if (!config.addressLifetime().isZero()) {
                // As HaNode does for leased addresses: a frozen node stops renewing, the kernel expires the
                // address and BIRD withdraws it (its BIRD is not frozen and would announce it forever).
                long every = Math.max(250, config.addressLifetime().toMillis() / 3);
                timer.scheduleAtFixedRate(this::renewAnycast, every, every, TimeUnit.MILLISECONDS);
            }
        }
    }

    private void renewAnycast() {
        synchronized (anycastLock) {
            if (closed || !anycastAnnounced) {
                return;
            }
            for (String a : addresses) {
                try {
                    kernel.addWithLifetime(a, config.addressLifetime());
                } catch (IOException | RuntimeException e) {
                    log.warn("anycast address renewal failed node={} address={} error=\"{}\"", config.nodeId(), a,
                            e.toString());
                }
            }
        }
    }

    /**
     * With {@code withdraw_without_backends}, starts following {@code eligible}: for each VIP address
     * (an IP literal), whether any VIP listening on it has an eligible backend now. An address it
     * does not name (no VIP on it) is not held back. Until this is attached nothing is announced in
     * that mode (the per-address protocols start disabled).
     */
    public void attachBackends(Supplier<java.util.Map<String, Boolean>> eligible) {
        requireNonNull(eligible, "eligible");
        if (settings.withdrawWithoutBackends()) {
            timer.scheduleWithFixedDelay(() -> backendTick(eligible), 0, BACKEND_TICK_MS, TimeUnit.MILLISECONDS);
        }
    }

    private void backendTick(Supplier<java.util.Map<String, Boolean>> eligible) {
        if (closed) {
            return;
        }
        java.util.Map<String, Boolean> byAddress;
        try {
            byAddress = normalized(eligible.get());
            lastEligible = byAddress;
        } catch (RuntimeException e) {
            // the control loop did not answer in time: keep the last verdicts rather than guess
            log.warn("backend eligibility unknown node={} error=\"{}\" (keeping the last verdicts)", config.nodeId(),
                    e.toString());
            byAddress = lastEligible;
        }
        long starts = bird.starts();
        if (starts != birdStartsSeen) {
            java.util.Arrays.fill(vipEnabled, null); // a new BIRD starts with them disabled again
            birdStartsSeen = starts;
        }
        long now = System.nanoTime() / 1_000_000;
        long hold = settings.backendHoldDown().toMillis();
        java.util.Map<String, String> reasons = new java.util.TreeMap<>();
        for (int i = 0; i < addresses.size(); i++) {
            String a = addresses.get(i);
            boolean any = byAddress.getOrDefault(normalize(a), true);
            boolean want = holds.get(i).announce(any, now, hold);
            String why = holds.get(i).reason(now, hold);
            if (why != null) {
                reasons.put(a, why);
            }
            if (Boolean.valueOf(want).equals(vipEnabled[i])) {
                continue;
            }
            if (bird.setEnabled(BirdConfig.vipProtocol(i), want)) {
                boolean first = vipEnabled[i] == null;
                vipEnabled[i] = want;
                if (want) {
                    log.info("route announced node={} address={} reason=\"{}\"", config.nodeId(), a,
                            first ? "eligible backend" : "eligible backend for the hold-down " + hold + "ms");
                } else {
                    log.warn("route withdrawn node={} address={} reason=\"no eligible backend on any VIP of the"
                            + " address\"", config.nodeId(), a);
                }
            }
        }
        withheld = java.util.Map.copyOf(reasons);
    }

    private static java.util.Map<String, Boolean> normalized(java.util.Map<String, Boolean> in) {
        java.util.Map<String, Boolean> out = new java.util.HashMap<>();
        in.forEach((k, v) -> out.merge(normalize(k), v, Boolean::logicalOr));
        return out;
    }

    private static String normalize(String address) {
        try {
            return java.net.InetAddress.ofLiteral(address).getHostAddress();
        } catch (IllegalArgumentException e) {
            return address;
        }
    }

    private void anycastTick(Supplier<HaView> view) {
        if (closed) {
            return;
        }
        HaView v = view.get();
        boolean zk = v.zk() == ZkState.CONNECTED;
        boolean link = v.peers().stream().anyMatch(HaView.PeerView::linkUp);
        boolean want = rule.announce(zk, link, System.nanoTime() / 1_000_000, config.isolationGrace().toMillis());
        if (want == anycastAnnounced) {
            return;
        }
        synchronized (anycastLock) {
            changeAnycast(want, v, link);
        }
    }

    private void changeAnycast(boolean want, HaView v, boolean link) {
        for (String a : addresses) {
            try {
                if (want && !config.addressLifetime().isZero()) {
                    kernel.addWithLifetime(a, config.addressLifetime());
                } else if (want) {
                    kernel.add(a);
                } else {
                    kernel.remove(a);
                }
            } catch (IOException | RuntimeException e) {
                log.error("anycast address change failed node={} address={} announce={} error=\"{}\"",
                        config.nodeId(), a, want, e.toString());
                return; // retried at the next tick
            }
        }
        anycastAnnounced = want;
        log.info("anycast {} node={} addresses={} zk={} peer_link_up={}", want ? "announced" : "withdrawn",
                config.nodeId(), BirdConfig.describe(addresses), v.zk(), link);
    }

    private void poll() {
        try {
            status = bird.status(peerNames, neighbors);
        } catch (RuntimeException e) {
            log.warn("bird status failed error=\"{}\"", e.toString());
            status = BirdStatus.DOWN;
        }
    }

    /** What this node announces and how its sessions are, as of the last poll (at most ~1 s old). */
    public AnnounceView view() {
        BirdStatus s = status;
        Set<String> announced = new TreeSet<>();
        for (String p : s.announced()) {
            announced.add(p.substring(0, p.indexOf('/')));
        }
        return new AnnounceView("bgp", settings.anycast(), s.running(), bird.pid(), bird.starts(),
                settings.anycast() ? anycastAnnounced : null, List.copyOf(announced), s.sessions(), s.bfd(),
                settings.withdrawWithoutBackends(), withheld);
    }

    /** Whether the anycast addresses are up now (false in single-owner mode). */
    public boolean anycastAnnounced() {
        return anycastAnnounced;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        timer.shutdownNow();
        try {
            timer.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (settings.anycast()) {
            for (String a : addresses) {
                try {
                    kernel.remove(a);
                } catch (IOException | RuntimeException e) {
                    log.warn("anycast address not removed node={} address={} error=\"{}\"", config.nodeId(), a,
                            e.toString());
                }
            }
            anycastAnnounced = false;
        }
        bird.close();
        log.info("announcer closed node={}", config.nodeId());
    }

    /**
     * The announce part of {@code /api/ha}.
     *
     * @param announced the VIP addresses exported to at least one established BGP session
     * @param anycastUp in anycast mode whether this node has its addresses up; null in single-owner mode
     * @param withdrawWithoutBackends whether {@code ha.announce.withdraw_without_backends} is on
     * @param withheld the addresses held back for their backends, each with why ("no eligible
     *                 backend", or the hold-down still running); empty when none is
     */
    public record AnnounceView(String mode, boolean anycast, boolean birdRunning, long birdPid, long birdStarts,
                               Boolean anycastUp, List<String> announced, List<BirdStatus.Session> sessions,
                               List<BirdStatus.BfdSession> bfd, boolean withdrawWithoutBackends,
                               java.util.Map<String, String> withheld) {
        public AnnounceView {
            withheld = withheld == null ? java.util.Map.of() : java.util.Map.copyOf(withheld);
        }

        /** The view before {@code withdraw_without_backends}. */
        public AnnounceView(String mode, boolean anycast, boolean birdRunning, long birdPid, long birdStarts,
                            Boolean anycastUp, List<String> announced, List<BirdStatus.Session> sessions,
                            List<BirdStatus.BfdSession> bfd) {
            this(mode, anycast, birdRunning, birdPid, birdStarts, anycastUp, announced, sessions, bfd, false,
                    java.util.Map.of());
        }
    }
}
