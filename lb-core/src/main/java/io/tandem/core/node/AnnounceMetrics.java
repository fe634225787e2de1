package io.tandem.core.node;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.tandem.config.AnnounceSettings;
import io.tandem.config.HaConfig;
import io.tandem.ha.announce.Announcer;

/**
 * The {@code tandem_ha_bgp_*} gauges of a node in {@code ha.announce: {mode: bgp}}, registered at
 * start for every neighbor and address (absent and zero must not look alike to an alert). They
 * read the announcer's last BIRD poll (at most ~1 s old); a scrape never runs {@code birdc}.
 */
final class AnnounceMetrics {
    private AnnounceMetrics() {
    }

    static void register(MeterRegistry registry, Announcer announcer, HaConfig config) {
        Gauge.builder("tandem.ha.bgp.daemon.up", announcer, a -> a.view().birdRunning() ? 1 : 0)
                .description("1 while this node's BIRD answers on its control socket, else 0")
                .strongReference(true).register(registry);
        for (AnnounceSettings.Neighbor n : config.announce().neighbors()) {
            Gauge.builder("tandem.ha.bgp.session.up", announcer, a -> a.view().sessions().stream()
                            .anyMatch(s -> s.neighbor().equals(n.address()) && s.established()) ? 1 : 0)
                    .description("1 while the BGP session to the neighbor is Established, else 0")
                    .tag("peer", n.address()).strongReference(true).register(registry);
            Gauge.builder("tandem.ha.bfd.session.up", announcer, a -> a.view().bfd().stream()
                            .anyMatch(b -> b.neighbor().equals(n.address()) && b.up()) ? 1 : 0)
                    .description("1 while the BFD session to the neighbor is Up, else 0 (also 0 with bfd off)")
                    .tag("peer", n.address()).strongReference(true).register(registry);
        }
        for (HaConfig.Address a : config.addresses()) {
            Gauge.builder("tandem.ha.bgp.announced", announcer,
                            x -> x.view().announced().contains(a.address()) ? 1 : 0)
                    .description("1 while BIRD exports the VIP address to at least one established BGP session")
                    .tag("address", a.address()).strongReference(true).register(registry);
        }
    }

}
