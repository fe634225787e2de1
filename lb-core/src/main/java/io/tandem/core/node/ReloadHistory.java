package io.tandem.core.node;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Gauge;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.NodeControl;
import io.tandem.core.control.NodeView;
import io.tandem.core.metrics.Metrics;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's control as the admin API, SIGHUP and the file watcher see it: the control loop, plus
 * a record of every reload's outcome — who asked, when, what changed, what was refused — for
 * {@code GET /api/reloads}, the dashboard, and the gauges Prometheus itself exports for its own
 * config ({@code tandem_config_last_reload_successful}, {@code
 * tandem_config_last_reload_success_timestamp_seconds}). An applied reload logs each change it
 * made, one line each.
 *
 * <p>Reloads asked for while one runs share its successor's outcome (the control loop coalesces
 * them); that outcome is recorded once, with the first trigger that asked.
 *
 * <p>Everything else is the control loop's, delegated as-is.
 */
final class ReloadHistory implements NodeControl {
    private static final Logger log = LoggerFactory.getLogger(ReloadHistory.class);
    /** Reloads kept for the API: enough for an incident, small enough to serialise every second. */
    static final int KEPT = 32;

    private final NodeControl control;
    private final Clock clock;
    private final ArrayDeque<ReloadRecord> records = new ArrayDeque<>(); // guarded by this
    /** Reloads in flight → the first trigger that asked; coalesced callers share one future. */
    private final Map<CompletableFuture<ReloadOutcome>, String> pending = new IdentityHashMap<>(); // guarded by this
    private volatile boolean lastSuccessful = true;
    private volatile double lastSuccessSeconds = Double.NaN;

    ReloadHistory(NodeControl control, Metrics metrics, Clock clock) {
        this.control = requireNonNull(control, "control");
        this.clock = requireNonNull(clock, "clock");
        requireNonNull(metrics, "metrics");
        Gauge.builder("tandem.config.last.reload.successful", this, h -> h.lastSuccessful ? 1 : 0)
                .description("1 when the last config reload (or the start) was applied, 0 when it was rejected")
                .strongReference(true).register(metrics.registry());
        Gauge.builder("tandem.config.last.reload.success.timestamp.seconds", this, h -> h.lastSuccessSeconds)
                .description("Unix time of the last config applied by a reload or the start")
                .strongReference(true).register(metrics.registry());
    }

    /** Records the start's outcome (the first config). */
    void started(ReloadOutcome outcome) {
        record("start", outcome);
    }

    /** A reload asked for by {@code trigger} ({@code sighup}, {@code file}); recorded when it ends. */
    CompletableFuture<ReloadOutcome> reload(String trigger) {
        CompletableFuture<ReloadOutcome> f = control.reload();
        synchronized (this) {
            pending.putIfAbsent(f, trigger);
        }
        return f.whenComplete((outcome, error) -> {
            String first;
            synchronized (this) {
                first = pending.remove(f); // null: another caller of the same run recorded it
            }
            if (first != null && outcome != null) {
                record(first, outcome);
            }
        });
    }

    /** A reload asked for through the admin API. */
    @Override
    public CompletableFuture<ReloadOutcome> reload() {
        return reload("api");
    }

    private void record(String trigger, ReloadOutcome outcome) {
        Instant now = clock.instant();
        synchronized (this) {
            records.addLast(new ReloadRecord(now, trigger, outcome));
            while (records.size() > KEPT) {
                records.removeFirst();
            }
            lastSuccessful = outcome.applied();
            if (outcome.applied()) {
                lastSuccessSeconds = now.toEpochMilli() / 1000.0;
            }
        }
        if (outcome.applied() && !trigger.equals("start")) {
            // The control loop says how many; the operator wants to read what.
            for (String change : outcome.changes()) {
                log.info("config change applied by={} generation={} change=\"{}\"", trigger, outcome.generation(),
                        change);
            }
        }
    }

    @Override
    public synchronized List<ReloadRecord> reloadHistory() {
        return List.copyOf(records);
    }

    @Override
    public NodeView view() {
        return control.view();
    }

    @Override
    public Optional<io.tandem.ha.HaView> haView() {
        return control.haView();
    }

    @Override
    public Optional<io.tandem.ha.announce.Announcer.AnnounceView> announceView() {
        return control.announceView();
    }

    @Override
    public CompletableFuture<NodeView.BackendView> backendAction(String vip, String backend, BackendAction action) {
        return control.backendAction(vip, backend, action);
    }

    @Override
    public CompletableFuture<NodeView.BackendView> setWeight(String vip, String backend, int weight) {
        return control.setWeight(vip, backend, weight);
    }

    @Override
    public CompletableFuture<NodeView.BackendView> addBackend(String vip, RuntimeBackend backend) {
        return control.addBackend(vip, backend);
    }

    @Override
    public CompletableFuture<NodeView.BackendView> removeBackend(String vip, String backend) {
        return control.removeBackend(vip, backend);
    }

    @Override
    public CompletableFuture<ConnectionPage> connections(String vip, String backend, int limit, long after) {
        return control.connections(vip, backend, limit, after);
    }

    @Override
    public TandemConfig config() {
        return control.config();
    }

    @Override
    public io.tandem.core.control.PostureReport posture() {
        return control.posture();
    }

    @Override
    public List<NodeView.SourceView> sources() {
        return control.sources();
    }
}
