package io.tandem.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Meter;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.Vip;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class MetricsTest {
    private final Metrics metrics = new Metrics();

    @AfterEach
    void close() {
        metrics.close();
    }

    private static BackendPool pool(String name, boolean panic, long generation, Backend... backends) {
        var cfg = new VipConfig(name, HostPort.of("127.0.0.1", 8080), Protocol.TCP, PolicyKind.ROUND_ROBIN,
                List.of(), Limits.UNLIMITED, Timeouts.DEFAULTS, 1, ProxyProtocolVersion.NONE, RelayMode.COPY,
                Optional.empty());
        return new BackendPool(cfg, List.of(backends), (client, tried) -> null, panic, generation);
    }

    private static Backend backend(int port) {
        return Backend.of(HostPort.of("127.0.0.1", port), 1);
    }

    private String scrape() {
        return metrics.registry().scrape();
    }

    private long metersTagged(String vip) {
        return metrics.registry().getMeters().stream().map(Meter::getId).filter(id -> vip.equals(id.getTag("vip")))
                .count();
    }

    @Test
    void vipMetersReadTheLiveCountersAtScrapeTime() {
        Backend a = backend(9001);
        Vip vip = new Vip("web", pool("web", false, 1, a));
        metrics.bindVip(vip);

        vip.stats().active.set(3);
        vip.stats().totalConnections.add(120);
        vip.stats().bytesIn.add(1000);
        vip.stats().bytesOut.add(5000);
        vip.stats().connectRetries.add(2);
        vip.stats().noBackend.add(4);
        vip.stats().limitHits.add(5);
        vip.stats().acceptHandOffs.add(6);

        assertThat(scrape())
                .contains("tandem_vip_connections_active{vip=\"web\"} 3.0")
                .contains("tandem_vip_connections_total{vip=\"web\"} 120.0")
                .contains("tandem_vip_received_bytes_total{vip=\"web\"} 1000.0")
                .contains("tandem_vip_sent_bytes_total{vip=\"web\"} 5000.0")
                .contains("tandem_vip_connect_retries_total{vip=\"web\"} 2.0")
                .contains("tandem_vip_no_backend_total{vip=\"web\"} 4.0")
                .contains("tandem_vip_limit_hits_total{vip=\"web\"} 5.0")
                .contains("tandem_vip_accept_handoffs_total{vip=\"web\"} 6.0")
                .contains("tandem_vip_panic{vip=\"web\"} 0.0")
                .contains("tandem_vip_backends_eligible{vip=\"web\"} 1.0");

        vip.stats().totalConnections.increment();
        assertThat(scrape()).contains("tandem_vip_connections_total{vip=\"web\"} 121.0");
    }

    @Test
    void backendMetersCarryVipAndBackendTagsAndReadEligibilityAtScrapeTime() {
        Backend a = backend(9001);
        Vip vip = new Vip("web", pool("web", false, 1, a));
        AtomicBoolean eligible = new AtomicBoolean(true);
        metrics.bindVip(vip);
        metrics.bindBackend(vip, a, eligible::get);

        a.stats().active.set(2);
        a.stats().totalConnections.add(10);
        a.stats().bytesIn.add(300);
        a.stats().bytesOut.add(400);
        a.stats().connectFailures.add(6);
        a.stats().limitHits.add(1);
        String tags = "{backend=\"127.0.0.1:9001\",vip=\"web\"}";
        assertThat(scrape())
                .contains("tandem_backend_connections_active" + tags + " 2.0")
                .contains("tandem_backend_connections_total" + tags + " 10.0")
                .contains("tandem_backend_received_bytes_total" + tags + " 300.0")
                .contains("tandem_backend_sent_bytes_total" + tags + " 400.0")
                .contains("tandem_backend_connect_failures_total" + tags + " 6.0")
                .contains("tandem_backend_limit_hits_total" + tags + " 1.0")
                .contains("tandem_backend_eligible" + tags + " 1.0");

        eligible.set(false);
        assertThat(scrape()).contains("tandem_backend_eligible" + tags + " 0.0");
    }

    @Test
    void panicGaugeFollowsThePublishedPoolAndEligibleCountsEligibleBackendsInPanic() {
        Backend a = backend(9001);
        Backend b = backend(9002);
        Vip vip = new Vip("web", pool("web", false, 1, a));
        metrics.bindVip(vip);
        metrics.bindBackend(vip, a, () -> true);
        metrics.bindBackend(vip, b, () -> false);
        assertThat(scrape()).contains("tandem_vip_panic{vip=\"web\"} 0.0")
                .contains("tandem_vip_backends_eligible{vip=\"web\"} 1.0");

        vip.publish(pool("web", true, 2, a, b));
        assertThat(scrape()).contains("tandem_vip_panic{vip=\"web\"} 1.0")
                .contains("tandem_vip_backends_eligible{vip=\"web\"} 1.0");
    }

    @Test
    void unbindBackendRemovesOnlyThatBackendsSeries() {
        Backend a = backend(9001);
        Backend b = backend(9002);
        Vip vip = new Vip("web", pool("web", false, 1, a, b));
        metrics.bindVip(vip);
        metrics.bindBackend(vip, a, () -> true);
        metrics.bindBackend(vip, b, () -> true);

        metrics.unbindBackend("web", "127.0.0.1:9001");

        assertThat(scrape()).doesNotContain("backend=\"127.0.0.1:9001\"")
                .contains("backend=\"127.0.0.1:9002\"")
                .contains("tandem_vip_connections_total{vip=\"web\"}");
    }

    @Test
    void unbindVipRemovesTheVipAndItsBackendsSeriesAndLeavesOthers() {
        Backend a = backend(9001);
        Vip web = new Vip("web", pool("web", false, 1, a));
        Vip dns = new Vip("dns", pool("dns", false, 1));
        metrics.bindVip(web);
        metrics.bindBackend(web, a, () -> true);
        metrics.bindVip(dns);

        metrics.unbindVip("web");

        assertThat(metersTagged("web")).isZero();
        assertThat(scrape()).doesNotContain("vip=\"web\"").contains("tandem_vip_connections_total{vip=\"dns\"}");
        metrics.unbindVip("never-bound"); // ignored
    }

    @Test
    void rebindingTheSameObjectsNeitherDuplicatesNorThrows() {
        Backend a = backend(9001);
        Vip vip = new Vip("web", pool("web", false, 1, a));
        metrics.bindVip(vip);
        metrics.bindBackend(vip, a, () -> true);
        long before = metersTagged("web");

        metrics.bindVip(vip);
        metrics.bindBackend(vip, a, () -> true);

        // 22 per VIP (4 of them the sni refusal reasons), 9 per backend (2 of them the p99 latency gauges), 3 per backend zone
        assertThat(metersTagged("web")).isEqualTo(before).isEqualTo(22 + 9 + 3);
    }

    @Test
    void rebindingANameToNewStatsReportsTheNewObjectNotTheOld() {
        Backend old = backend(9001);
        Vip oldVip = new Vip("web", pool("web", false, 1, old));
        metrics.bindVip(oldVip);
        metrics.bindBackend(oldVip, old, () -> true);
        oldVip.stats().totalConnections.add(100);
        old.stats().totalConnections.add(50);

        Backend fresh = backend(9001); // same address, fresh counters
        Vip freshVip = new Vip("web", pool("web", false, 1, fresh));
        metrics.bindVip(freshVip);
        metrics.bindBackend(freshVip, fresh, () -> false);
        freshVip.stats().totalConnections.add(7);
        fresh.stats().totalConnections.add(3);

        assertThat(scrape())
                .contains("tandem_vip_connections_total{vip=\"web\"} 7.0")
                .contains("tandem_backend_connections_total{backend=\"127.0.0.1:9001\",vip=\"web\"} 3.0")
                .contains("tandem_backend_eligible{backend=\"127.0.0.1:9001\",vip=\"web\"} 0.0");
        assertThat(metersTagged("web")).isEqualTo(22 + 9 + 3);
    }

    @Test
    void rebindAfterUnbindRegistersTheSeriesAgain() {
        Backend a = backend(9001);
        Vip vip = new Vip("web", pool("web", false, 1, a));
        metrics.bindVip(vip);
        metrics.bindBackend(vip, a, () -> true);
        metrics.unbindVip("web");

        metrics.bindVip(vip);
        metrics.bindBackend(vip, a, () -> true);
        a.stats().connectFailures.increment();

        assertThat(scrape()).contains("tandem_backend_connect_failures_total{backend=\"127.0.0.1:9001\",vip=\"web\"} 1.0");
    }

    @Test
    void ipv6BackendIsTaggedInBrackets() {
        Backend v6 = Backend.of(HostPort.of("::1", 8080), 1);
        Vip vip = new Vip("web", pool("web", false, 1, v6));
        metrics.bindBackend(vip, v6, () -> true);
        assertThat(scrape()).contains("backend=\"[::1]:8080\"");
    }

    @Test
    void controlPlaneHelpersRegisterOnceAndCount() {
        metrics.counter("tandem.reloads", "result", "applied").increment();
        metrics.counter("tandem.reloads", "result", "applied").increment();
        metrics.timer("tandem.reload.duration").record(java.time.Duration.ofMillis(5));

        assertThat(scrape()).contains("tandem_reloads_total{result=\"applied\"} 2.0")
                .contains("tandem_reload_duration_seconds_count 1");
    }

    @Test
    void jvmAndProcessMetersAreBound() {
        assertThat(scrape()).contains("jvm_memory_used_bytes").contains("jvm_threads_live_threads")
                .contains("process_uptime_seconds").contains("system_cpu_count");
    }
}
