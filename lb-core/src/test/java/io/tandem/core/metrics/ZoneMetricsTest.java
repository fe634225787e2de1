package io.tandem.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.Locality;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.pool.LocalityRouting;
import io.tandem.core.vip.Vip;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Connections and bytes by backend zone, and the share of local traffic per VIP. */
class ZoneMetricsTest {
    private final Metrics metrics = new Metrics();

    @AfterEach
    void close() {
        metrics.close();
    }

    private static Backend backend(int i, String zone) {
        String ip = "127.0.2." + i;
        return Backend.of(HostPort.of(ip, 80), new InetSocketAddress(InetAddress.ofLiteral(ip), 80), 1,
                Locality.of("eu", zone), 0);
    }

    private static BackendPool pool(int localShare, Locality node, Backend... backends) {
        var cfg = new VipConfig("web", HostPort.of("127.0.0.1", 8080), Protocol.TCP, PolicyKind.ROUND_ROBIN,
                List.of(), Limits.UNLIMITED, Timeouts.DEFAULTS, 1, ProxyProtocolVersion.NONE, RelayMode.COPY,
                Optional.empty());
        return new BackendPool(cfg, List.of(backends), (client, tried) -> null, false, 1, Set.of(),
                new LocalityRouting.Plan(List.of(), localShare, node));
    }

    @Test
    void zoneSeriesSumTheZonesBackendsAndKeepWhatRemovedOnesCounted() {
        Backend a1 = backend(1, "eu-a");
        Backend a2 = backend(2, "eu-a");
        Backend b1 = backend(3, "eu-b");
        Vip vip = new Vip("web", pool(7500, Locality.of("eu", "eu-a"), a1, a2, b1));
        metrics.bindVip(vip);
        for (Backend b : List.of(a1, a2, b1)) {
            metrics.bindBackend(vip, b, () -> true);
        }
        a1.stats().totalConnections.add(10);
        a2.stats().totalConnections.add(5);
        a2.stats().bytesIn.add(100);
        b1.stats().totalConnections.add(3);
        b1.stats().bytesOut.add(7);
        String s = metrics.registry().scrape();
        assertThat(s).contains("tandem_backend_zone_connections_total{vip=\"web\",zone=\"eu-a\"} 15.0")
                .contains("tandem_backend_zone_connections_total{vip=\"web\",zone=\"eu-b\"} 3.0")
                .contains("tandem_backend_zone_received_bytes_total{vip=\"web\",zone=\"eu-a\"} 100.0")
                .contains("tandem_backend_zone_sent_bytes_total{vip=\"web\",zone=\"eu-b\"} 7.0")
                .contains("tandem_vip_local_connections_total{vip=\"web\"} 15.0")
                .contains("tandem_vip_local_share{vip=\"web\"} 0.75");
        metrics.unbindBackend("web", a2.address().toString());
        s = metrics.registry().scrape();
        assertThat(s).as("a removed backend's counts stay in its zone")
                .contains("tandem_backend_zone_connections_total{vip=\"web\",zone=\"eu-a\"} 15.0")
                .contains("tandem_backend_zone_received_bytes_total{vip=\"web\",zone=\"eu-a\"} 100.0")
                .contains("tandem_vip_local_connections_total{vip=\"web\"} 15.0");
    }

    @Test
    void withoutANodeZoneTheLocalShareIsNotANumberAndNothingCountsAsLocal() {
        Backend a1 = Backend.of(HostPort.of("127.0.2.9", 80), 1);
        Vip vip = new Vip("web", pool(-1, Locality.UNKNOWN, a1));
        metrics.bindVip(vip);
        metrics.bindBackend(vip, a1, () -> true);
        a1.stats().totalConnections.add(4);
        assertThat(metrics.registry().scrape())
                .contains("tandem_vip_local_share{vip=\"web\"} NaN")
                .contains("tandem_vip_local_connections_total{vip=\"web\"} 0.0")
                .contains("tandem_backend_zone_connections_total{vip=\"web\",zone=\"unknown\"} 4.0");
    }
}
