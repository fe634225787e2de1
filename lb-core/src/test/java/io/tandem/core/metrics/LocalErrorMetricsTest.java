package io.tandem.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.vip.LocalErrors;
import io.tandem.core.vip.Vip;
import io.tandem.sys.Errno;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code tandem_local_errors_total{vip,op,errno}} and {@code tandem_self_loops_total{vip}}. */
class LocalErrorMetricsTest {
    private final Metrics metrics = new Metrics();

    @AfterEach
    void close() {
        metrics.close();
    }

    private static Vip vip(String name) {
        var cfg = new VipConfig(name, HostPort.of("127.0.0.1", 8080), Protocol.TCP, PolicyKind.ROUND_ROBIN,
                List.of(), Limits.UNLIMITED, Timeouts.DEFAULTS, 1, ProxyProtocolVersion.NONE, RelayMode.COPY,
                Optional.empty());
        return new Vip(name, new BackendPool(cfg, List.of(), (client, tried) -> null, false, 1));
    }

    @Test
    void aLocalErrorKindGetsItsSeriesWhenItFirstHappensAndCountsLive() {
        Vip vip = vip("web");
        metrics.bindVip(vip);
        assertThat(metrics.registry().scrape()).doesNotContain("tandem_local_errors_total")
                .contains("tandem_self_loops_total{vip=\"web\"} 0.0");

        vip.localErrors().record(LocalErrors.Op.CONNECT, Errno.EMFILE, null, "client reset");
        vip.localErrors().record(LocalErrors.Op.CONNECT, Errno.EMFILE, null, "client reset");
        vip.localErrors().record(LocalErrors.Op.ACCEPT, Errno.ENFILE, null, "accepting paused 1 s");
        vip.stats().selfLoops.increment();

        assertThat(metrics.registry().scrape())
                .contains("tandem_local_errors_total{errno=\"EMFILE\",op=\"connect\",vip=\"web\"} 2.0")
                .contains("tandem_local_errors_total{errno=\"ENFILE\",op=\"accept\",vip=\"web\"} 1.0")
                .contains("tandem_self_loops_total{vip=\"web\"} 1.0");
    }

    @Test
    void aRebindKeepsTheSeriesAndReadsTheNewVipAndAnUnbindRemovesThem() {
        Vip old = vip("web");
        metrics.bindVip(old);
        old.localErrors().record(LocalErrors.Op.CONNECT, Errno.EMFILE, null, "client reset");
        Vip fresh = vip("web");
        metrics.bindVip(fresh);
        fresh.localErrors().record(LocalErrors.Op.CONNECT, Errno.EADDRNOTAVAIL, null, "client reset");
        assertThat(metrics.registry().scrape())
                .contains("tandem_local_errors_total{errno=\"EMFILE\",op=\"connect\",vip=\"web\"} 0.0")
                .contains("tandem_local_errors_total{errno=\"EADDRNOTAVAIL\",op=\"connect\",vip=\"web\"} 1.0");

        metrics.unbindVip("web");
        fresh.localErrors().record(LocalErrors.Op.CONNECT, Errno.ENOBUFS, null, "client reset");
        assertThat(metrics.registry().scrape()).doesNotContain("tandem_local_errors_total")
                .doesNotContain("tandem_self_loops_total");
    }
}
