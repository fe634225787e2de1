package io.tandem.core.node;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.NodeControl;
import io.tandem.core.control.NodeView;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.metrics.PrometheusText;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What every reload did, who asked, and the two gauges Prometheus itself exports for its config. */
class ReloadHistoryTest {
    private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");
    private final Metrics metrics = new Metrics();

    @AfterEach
    void close() {
        metrics.close();
    }

    /** A control whose reloads complete when the test says. */
    private static final class Control implements NodeControl {
        volatile CompletableFuture<ReloadOutcome> next = new CompletableFuture<>();

        @Override
        public NodeView view() {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<ReloadOutcome> reload() {
            return next;
        }

        @Override
        public CompletableFuture<NodeView.BackendView> backendAction(String vip, String backend, BackendAction a) {
            throw new UnsupportedOperationException();
        }
    }

    private String scrape() {
        return new String(new PrometheusText(metrics.registry()).scrape(), UTF_8);
    }

    @Test
    void startAndReloadsAreRecordedWithTheirTriggerAndTheGaugesFollow() {
        Control control = new Control();
        ReloadHistory h = new ReloadHistory(control, metrics, Clock.fixed(T0, ZoneOffset.UTC));
        h.started(new NodeControl.ReloadOutcome(true, 1, List.of("listening vip web on 127.0.0.1:80"), List.of()));
        assertThat(scrape()).contains("tandem_config_last_reload_successful 1.0")
                .contains("tandem_config_last_reload_success_timestamp_seconds " + (double) T0.getEpochSecond());

        CompletableFuture<NodeControl.ReloadOutcome> f = h.reload("sighup");
        assertThat(h.reloadHistory()).hasSize(1);
        control.next.complete(new NodeControl.ReloadOutcome(false, 1, List.of(), List.of("vips[0].listen: bad")));
        assertThat(f).isCompleted();
        assertThat(h.reloadHistory()).extracting(NodeControl.ReloadRecord::trigger).containsExactly("start", "sighup");
        assertThat(h.reloadHistory().get(1).outcome().errors()).containsExactly("vips[0].listen: bad");
        assertThat(scrape()).contains("tandem_config_last_reload_successful 0.0")
                .as("the last success is still the start").contains("tandem_config_last_reload_success_timestamp_seconds "
                        + (double) T0.getEpochSecond());

        control.next = CompletableFuture.completedFuture(new NodeControl.ReloadOutcome(true, 2, List.of("x"), List.of()));
        h.reload().join();
        assertThat(h.reloadHistory().getLast().trigger()).isEqualTo("api");
        assertThat(scrape()).contains("tandem_config_last_reload_successful 1.0");
    }

    @Test
    void coalescedRequestsSharingOneRunAreRecordedOnce() {
        Control control = new Control();
        ReloadHistory h = new ReloadHistory(control, metrics, Clock.systemUTC());
        CompletableFuture<NodeControl.ReloadOutcome> a = h.reload("file");
        CompletableFuture<NodeControl.ReloadOutcome> b = h.reload("api");
        control.next.complete(new NodeControl.ReloadOutcome(true, 5, List.of(), List.of()));
        assertThat(a.join()).isSameAs(b.join());
        assertThat(h.reloadHistory()).singleElement().satisfies(r -> assertThat(r.trigger()).isEqualTo("file"));
    }

    @Test
    void theHistoryKeepsTheLastReloadsOnly() {
        Control control = new Control();
        ReloadHistory h = new ReloadHistory(control, metrics, Clock.systemUTC());
        for (int i = 0; i < ReloadHistory.KEPT + 5; i++) {
            control.next = CompletableFuture.completedFuture(new NodeControl.ReloadOutcome(true, i, List.of(), List.of()));
            h.reload("api").join();
        }
        assertThat(h.reloadHistory()).hasSize(ReloadHistory.KEPT);
        assertThat(h.reloadHistory().getLast().outcome().generation()).isEqualTo(ReloadHistory.KEPT + 4);
    }
}
