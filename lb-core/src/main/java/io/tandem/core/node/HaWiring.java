package io.tandem.core.node;

import io.tandem.config.HaConfig;
import io.tandem.core.control.ControlLoop;
import io.tandem.core.metrics.Metrics;
import io.tandem.ha.HaNode;
import io.tandem.ha.IpAddressManager;
import io.tandem.ha.OwnershipCause;
import io.tandem.ha.OwnershipListener;
import io.tandem.ha.PeerMessage;
import java.io.IOException;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins a node to its HA group: starts the {@link HaNode} on the config's {@code ha} section (the
 * HA module's only settings) with the real address manager ({@code ip addr} + gratuitous ARP),
 * counts ownership changes, and connects the shared health view both ways (this node's passive
 * ejections go out on the peer link; a peer's ejections make this node re-probe at once).
 */
final class HaWiring {
    private static final Logger log = LoggerFactory.getLogger(HaWiring.class);

    private HaWiring() {
    }

    static HaNode start(HaConfig config, ControlLoop control, Metrics metrics) throws IOException {
        HaNode node = HaNode.start(config, new IpAddressManager(config.interfaceName()), new OwnershipListener() {
            @Override
            public void acquired(String address, long epoch, OwnershipCause cause) {
                log.info("vip address acquired address={} epoch={} cause={}", address, epoch, cause);
                metrics.counter("tandem.ha.ownership.changes", "address", address, "change", "acquired", "cause",
                        cause.name().toLowerCase(Locale.ROOT)).increment();
            }

            @Override
            public void released(String address, OwnershipCause cause) {
                log.info("vip address released address={} cause={}", address, cause);
                metrics.counter("tandem.ha.ownership.changes", "address", address, "change", "released", "cause",
                        cause.name().toLowerCase(Locale.ROOT)).increment();
            }

            @Override
            public void peerBackendEjected(PeerMessage.BackendEjected m) {
                control.peerEjected(m.vipName(), m.backend(), m.nodeId() + ": " + m.reason());
            }
        });
        control.attachHa(node::view, node::publishBackendEjected);
        metrics.registry().gauge("tandem.ha.addresses.served", node, n -> n.view().servedHere().size());
        // Per address and per peer, so alerts can sum over the pair: an address no node serves,
        // or two; a peer link down (failover falls back to ZooKeeper's session timeout).
        for (HaConfig.Address a : config.addresses()) {
            io.micrometer.core.instrument.Gauge.builder("tandem.ha.address.served", node,
                            n -> n.view().servedHere().contains(a.address()) ? 1 : 0)
                    .description("1 while this node serves the VIP address (holds its lease), else 0")
                    .tag("address", a.address()).strongReference(true).register(metrics.registry());
        }
        for (HaConfig.Peer p : config.peers()) {
            io.micrometer.core.instrument.Gauge.builder("tandem.ha.peer.link.up", node, n -> n.view().peers().stream()
                            .anyMatch(v -> v.nodeId().equals(p.id()) && v.linkUp()) ? 1 : 0)
                    .description("1 while heartbeats arrive from the peer node, else 0")
                    .tag("peer", p.id()).strongReference(true).register(metrics.registry());
        }
        return node;
    }
}
