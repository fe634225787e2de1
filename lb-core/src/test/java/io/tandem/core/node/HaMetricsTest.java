package io.tandem.core.node;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.HaConfig;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.metrics.PrometheusText;
import io.tandem.ha.HaView;
import io.tandem.ha.ZkState;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The {@code tandem_ha_*} series (issue 19: only two families, no HELP, no peer-link or ZooKeeper
 * state, no takeover timer, and a node with no changes exported nothing): every one is there at
 * zero from the start, with its HELP line, and follows the HA view.
 */
class HaMetricsTest {
    private static HaConfig config() {
        ConfigResult r = ConfigLoader.parse("""
                ha:
                  node_id: lb1
                  listen: 198.18.0.1:7946
                  peers: [{id: lb2, address: 198.18.0.2:7946}]
                  zookeeper: {connect: "198.18.0.9:2181"}
                  addresses: [198.18.1.10, 198.18.1.11]
                vips: []
                """, "t.yaml");
        return ((ConfigResult.Valid) r).config().ha().orElseThrow();
    }

    @Test
    void everyHaSeriesIsThereAtZeroFromTheStartWithItsHelpAndFollowsTheView() {
        HaConfig c = config();
        AtomicReference<HaView> view = new AtomicReference<>(new HaView("lb1", 1, ZkState.NOT_STARTED, 0,
                List.of(new HaView.PeerView("lb2", false, -1, "never connected", "IDLE", false, Map.of())),
                List.of(new HaView.VipAddressView("198.18.1.10", "lb1", false, 0, null, -1),
                        new HaView.VipAddressView("198.18.1.11", "lb2", false, 0, null, -1)),
                List.of()));
        try (Metrics metrics = new Metrics()) {
            HaWiring.registerCounters(metrics, List.of("198.18.1.10", "198.18.1.11"));
            HaWiring.registerGauges(metrics.registry(), view::get, c);
            String text = scrape(metrics);
            for (String family : List.of("tandem_ha_addresses_served", "tandem_ha_address_served",
                    "tandem_ha_peer_link_up", "tandem_ha_zookeeper_connected", "tandem_ha_ownership_changes_total",
                    "tandem_ha_connections_reset_total", "tandem_ha_takeover_duration_seconds")) {
                assertThat(text).as(family).containsPattern("(?m)^# HELP " + family + " \\S");
            }
            assertThat(text).contains("tandem_ha_address_served{address=\"198.18.1.10\"} 0.0")
                    .contains("tandem_ha_peer_link_up{peer=\"lb2\"} 0.0")
                    .contains("tandem_ha_zookeeper_connected 0.0")
                    .contains("tandem_ha_ownership_changes_total{address=\"198.18.1.11\",cause=\"peer_dead\","
                            + "change=\"acquired\"} 0.0")
                    .contains("tandem_ha_ownership_changes_total{address=\"198.18.1.11\",cause=\"fenced\","
                            + "change=\"released\"} 0.0")
                    .contains("tandem_ha_connections_reset_total{address=\"198.18.1.10\"} 0.0")
                    .contains("tandem_ha_takeover_duration_seconds_count{address=\"198.18.1.10\"} 0");

            view.set(new HaView("lb1", 1, ZkState.CONNECTED, 0x11,
                    List.of(new HaView.PeerView("lb2", true, 3, "never connected", "IDLE", true, Map.of())),
                    List.of(new HaView.VipAddressView("198.18.1.10", "lb1", true, 1, "lb1", 1),
                            new HaView.VipAddressView("198.18.1.11", "lb2", false, 1, "lb2", -1)),
                    List.of()));
            HaWiring.listener(null, metrics).takeover("198.18.1.11", "lb2", 180);
            text = scrape(metrics);
            assertThat(text).contains("tandem_ha_address_served{address=\"198.18.1.10\"} 1.0")
                    .contains("tandem_ha_address_served{address=\"198.18.1.11\"} 0.0")
                    .contains("tandem_ha_peer_link_up{peer=\"lb2\"} 1.0")
                    .contains("tandem_ha_zookeeper_connected 1.0")
                    .contains("tandem_ha_addresses_served 1.0")
                    .contains("tandem_ha_takeover_duration_seconds_count{address=\"198.18.1.11\"} 1")
                    .contains("tandem_ha_takeover_duration_seconds_sum{address=\"198.18.1.11\"} 0.18");
        }
    }

    private static String scrape(Metrics metrics) {
        return new String(new PrometheusText(metrics.registry()).scrape(), UTF_8);
    }
}
