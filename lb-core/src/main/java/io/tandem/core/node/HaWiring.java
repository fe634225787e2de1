package io.tandem.core.node;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.tandem.config.HaConfig;
import io.tandem.core.control.ControlLoop;
import io.tandem.core.metrics.Metrics;
import io.tandem.ha.AddressManager;
import io.tandem.ha.HaNode;
import io.tandem.ha.announce.Announcer;
import io.tandem.ha.HaView;
import io.tandem.ha.IpAddressManager;
import io.tandem.ha.KernelFence;
import io.tandem.ha.NftFence;
import io.tandem.ha.OwnershipCause;
import io.tandem.ha.OwnershipListener;
import io.tandem.ha.PeerMessage;
import io.tandem.ha.ZkState;
import java.io.IOException;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins a node to its HA group: starts the {@link HaNode} on the config's {@code ha} section (the
 * HA module's only settings) with the real address manager ({@code ip addr} + gratuitous ARP),
 * counts ownership changes, resets the connections proxied on an address this node gave up, and
 * connects the shared health view both ways (this node's passive ejections go out on the peer
 * link; a peer's ejections make this node re-probe at once).
 *
 * <p>Every {@code tandem_ha_*} series is registered here, at start, for every configured address
 * and peer: a node that never changed anything exports zeros, not nothing (absent and zero must
 * not look alike to an alert).
 */
final class HaWiring {
    private static final Logger log = LoggerFactory.getLogger(HaWiring.class);
    static final Set<OwnershipCause> ACQUIRE_CAUSES = EnumSet.of(OwnershipCause.PREFERRED, OwnershipCause.FREE_LEASE,
            OwnershipCause.PEER_DEAD, OwnershipCause.RECOVERED);

    private HaWiring() {
    }

    static HaNode start(HaConfig config, ControlLoop control, Metrics metrics) throws IOException {
        return startAnnouncing(config, control, metrics).node();
    }

    /** A started HA node and, with {@code ha.announce: {mode: bgp}}, its announcer (else null). */
    record Started(HaNode node, Announcer announcer) {
    }

    /**
     * {@link #start}, and in BGP mode first the {@link Announcer} (BIRD, supervised): the HA node
     * then puts its addresses on the VIP interface without gratuitous ARP, and in anycast mode holds
     * no lease for them (the announcer puts them up while the node is not isolated). The caller
     * closes the announcer after the HA node.
     */
    static Started startAnnouncing(HaConfig config, ControlLoop control, Metrics metrics) throws IOException {
        if (!config.announce().bgp()) {
            return new Started(startNode(config, new IpAddressManager(config.interfaceName()), control, metrics),
                    null);
        }
        Announcer announcer = Announcer.start(config);
        try {
            HaNode node = startNode(announcer.haNodeConfig(), announcer.addressManager(), control, metrics);
            announcer.attach(node::view);
            announcer.attachBackends(control::eligibleByAddress);
            control.attachAnnounce(announcer::view);
            AnnounceMetrics.register(metrics.registry(), announcer, config);
            return new Started(node, announcer);
        } catch (IOException | RuntimeException e) {
            announcer.close();
            throw e;
        }
    }

    private static HaNode startNode(HaConfig config, AddressManager manager, ControlLoop control, Metrics metrics)
            throws IOException {
        List<String> addresses = config.addresses().stream().map(HaConfig.Address::address).toList();
        registerCounters(metrics, addresses);
        HaNode node = HaNode.start(config, manager, fence(config), listener(control, metrics));
        control.attachHa(node::view, node::publishBackendEjected);
        registerGauges(metrics.registry(), node::view, config);
        registerFence(metrics.registry(), node);
        return node;
    }

    /**
     * The self-fence {@code ha.self_fence} asks for: {@code nftables} must install (else the node
     * does not start: an operator who asked for it must not run without it), {@code auto} uses it
     * when it installs and says loudly when it does not, {@code off} has none.
     */
    static KernelFence fence(HaConfig config) throws IOException {
        if (config.selfFence() == HaConfig.SelfFence.OFF) {
            log.info("self-fence off (ha.self_fence: off): a starved or frozen node keeps accepting its addresses "
                    + "until it runs again");
            return KernelFence.OFF;
        }
        NftFence fence;
        try {
            fence = NftFence.forNode(config.nodeId());
            fence.install(config.addresses().stream().map(HaConfig.Address::address).toList());
        } catch (IOException | RuntimeException | LinkageError e) {
            if (config.selfFence() == HaConfig.SelfFence.NFTABLES) {
                throw new IOException("ha.self_fence: nftables could not be installed: " + e.getMessage(), e);
            }
            log.warn("self-fence unavailable (ha.self_fence: auto) error=\"{}\" — running without it: a starved or "
                    + "frozen node keeps accepting its addresses until it runs again (docs/ha.md, Self-fencing)",
                    e.getMessage());
            return KernelFence.OFF;
        }
        log.info("self-fence on: {}", fence.describe());
        return fence;
    }

    static void registerFence(MeterRegistry registry, HaNode node) {
        Gauge.builder("tandem.ha.self.fence.active", node, n -> n.fenceStats().active() ? 1 : 0)
                .description("1 while the kernel self-fence (ha.self_fence) filters this node's VIP addresses, else 0")
                .strongReference(true).register(registry);
        FunctionCounter.builder("tandem.ha.self.fence.renewals", node, n -> n.fenceStats().renewals())
                .description("Self-fence renewals (one nfnetlink transaction each, every heartbeat while holding)")
                .register(registry); // weak reference: the node outlives its metrics
        FunctionCounter.builder("tandem.ha.self.fence.failures", node, n -> n.fenceStats().failures())
                .description("Self-fence renewals that failed (the addresses were released)")
                .register(registry);
    }

    /** What the HA node tells this node: counted, logged, and a released address's connections reset. */
    static OwnershipListener listener(ControlLoop control, Metrics metrics) {
        return new OwnershipListener() {
            @Override
            public void acquired(String address, long epoch, OwnershipCause cause) {
                log.info("vip address acquired address={} epoch={} cause={}", address, epoch, cause);
                changes(metrics, address, "acquired", cause).increment();
            }

            @Override
            public void released(String address, OwnershipCause cause) {
                log.info("vip address released address={} cause={}", address, cause);
                changes(metrics, address, "released", cause).increment();
                resetOrphans(control, metrics, address, cause);
            }

            @Override
            public void takeover(String address, String fromPeer, long millis) {
                takeoverTimer(metrics.registry(), address).record(millis, TimeUnit.MILLISECONDS);
            }

            @Override
            public void peerBackendEjected(PeerMessage.BackendEjected m) {
                control.peerEjected(m.vipName(), m.backend(), m.nodeId() + ": " + m.reason());
            }
        };
    }

    /**
     * The address is gone from this node's interface: its clients' packets reach the new owner
     * now (or nobody), so the connections proxied here on it can never complete. Reset them at
     * once (client and backend get an RST) instead of keeping them until the idle timeout, where
     * they would also hold up the next drain for its full timeout.
     */
    private static void resetOrphans(ControlLoop control, Metrics metrics, String address, OwnershipCause cause) {
        control.resetConnectionsOn(address).whenComplete((byVip, e) -> {
            if (e != null) {
                log.warn("orphaned connections not reset address={} cause={} error=\"{}\"", address, cause,
                        e.toString());
                return;
            }
            int total = byVip.values().stream().mapToInt(Integer::intValue).sum();
            metrics.counter("tandem.ha.connections.reset", "address", address).increment(total);
            log.info("vip address connections reset address={} cause={} connections={} vips={}", address, cause,
                    total, byVip);
        });
    }

    private static io.micrometer.core.instrument.Counter changes(Metrics metrics, String address, String change,
                                                                 OwnershipCause cause) {
        return metrics.counter("tandem.ha.ownership.changes", "address", address, "change", change, "cause",
                cause.name().toLowerCase(Locale.ROOT));
    }

    private static Timer takeoverTimer(MeterRegistry registry, String address) {
        return Timer.builder("tandem.ha.takeover.duration")
                .description("Takeover of a dead peer's VIP address: from the last heartbeat heard from the peer"
                        + " to the address served here")
                .tags("address", address).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry);
    }

    /** Every counter and timer at zero: each (address, change, cause) that can happen, and the takeover timer. */
    static void registerCounters(Metrics metrics, List<String> addresses) {
        for (String a : addresses) {
            for (OwnershipCause c : OwnershipCause.values()) {
                changes(metrics, a, ACQUIRE_CAUSES.contains(c) ? "acquired" : "released", c);
            }
            metrics.counter("tandem.ha.connections.reset", "address", a);
            takeoverTimer(metrics.registry(), a);
        }
    }

    static void registerGauges(MeterRegistry registry, Supplier<HaView> view, HaConfig config) {
        Gauge.builder("tandem.ha.addresses.served", view, v -> v.get().servedHere().size())
                .description("VIP addresses this node serves now").strongReference(true).register(registry);
        // Per address and per peer, so alerts can sum over the pair: an address no node serves,
        // or two; a peer link down (failover falls back to ZooKeeper's session timeout).
        for (HaConfig.Address a : config.addresses()) {
            Gauge.builder("tandem.ha.address.served", view,
                            v -> v.get().servedHere().contains(a.address()) ? 1 : 0)
                    .description("1 while this node serves the VIP address (holds its lease), else 0")
                    .tag("address", a.address()).strongReference(true).register(registry);
        }
        for (HaConfig.Peer p : config.peers()) {
            Gauge.builder("tandem.ha.peer.link.up", view, v -> v.get().peers().stream()
                            .anyMatch(x -> x.nodeId().equals(p.id()) && x.linkUp()) ? 1 : 0)
                    .description("1 while heartbeats arrive from the peer node, else 0")
                    .tag("peer", p.id()).strongReference(true).register(registry);
        }
        Gauge.builder("tandem.ha.zookeeper.connected", view, v -> v.get().zk() == ZkState.CONNECTED ? 1 : 0)
                .description("1 while this node's ZooKeeper session is connected (it can claim and hand over"
                        + " addresses), else 0")
                .strongReference(true).register(registry);
    }
}
