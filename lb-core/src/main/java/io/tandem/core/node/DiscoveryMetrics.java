package io.tandem.core.node;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.tandem.core.control.NodeView;
import io.tandem.discovery.SourceStats;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The {@code tandem_discovery_*} series, one set per discovery source (label {@code source}), read
 * from each source's live {@link SourceStats} when Prometheus scrapes (nothing is pushed; the
 * propagation samples go straight into a Micrometer timer through the stats' sink). The only
 * class that registers these names.
 *
 * <p>{@link #sync} is given the node view's sources after every applied config (sources are
 * created and replaced only then): a new source gets its meters, a restarted one has them
 * repointed at its new stats (its counters restart, which Prometheus reads as a reset), a removed
 * one loses them.
 */
final class DiscoveryMetrics {
    static final String SOURCE_TAG = "source";

    private final MeterRegistry registry;
    private final Map<String, Holder> holders = new HashMap<>();

    /** The stats a source's meters read; repointed when the source restarts. */
    private static final class Holder {
        volatile SourceStats stats;
        volatile Timer propagation;
        final Set<String> reasons = new HashSet<>(); // guarded by the DiscoveryMetrics instance

        Holder(SourceStats stats) {
            this.stats = stats;
        }
    }

    DiscoveryMetrics(MeterRegistry registry) {
        this.registry = requireNonNull(registry, "registry");
    }

    synchronized void sync(List<NodeView.SourceView> sources) {
        Set<String> seen = new HashSet<>();
        for (NodeView.SourceView v : sources) {
            seen.add(v.name());
            Holder h = holders.get(v.name());
            if (h == null) {
                h = register(v.name(), v.stats());
                holders.put(v.name(), h);
            } else if (h.stats != v.stats()) {
                h.stats = v.stats();
                attach(v.name(), h);
            }
        }
        for (String gone : new ArrayList<>(holders.keySet())) {
            if (!seen.contains(gone)) {
                holders.remove(gone);
                List<Meter> doomed = registry.getMeters().stream()
                        .filter(m -> gone.equals(m.getId().getTag(SOURCE_TAG))
                                && m.getId().getName().startsWith("tandem.discovery."))
                        .toList();
                doomed.forEach(registry::remove);
            }
        }
    }

    private Holder register(String source, SourceStats stats) {
        Holder h = new Holder(stats);
        Tags tags = Tags.of(SOURCE_TAG, source);
        gauge("tandem.discovery.connected", "1 while the source's upstream (Marathon event stream, ZooKeeper "
                + "session) is live", tags, h, x -> x.stats.connected() ? 1 : 0);
        gauge("tandem.discovery.stale", "1 while the source serves its last known membership (upstream lost, or "
                + "read from disk at start)", tags, h, x -> x.stats.stale() ? 1 : 0);
        gauge("tandem.discovery.restored", "1 while the membership served was read from the state directory at "
                + "start and the source has not answered since", tags, h, x -> x.stats.restored() ? 1 : 0);
        gauge("tandem.discovery.seconds.since.update", "Seconds since the membership was last refreshed from "
                + "upstream (for a snapshot read from disk: since it was saved); NaN before the first", tags, h,
                x -> x.stats.lastUpdateAt().map(t -> Duration.between(t, Instant.now()).toMillis() / 1000.0)
                        .orElse(Double.NaN));
        gauge("tandem.discovery.endpoints", "Endpoints in the last snapshot the source handed over", tags, h,
                x -> x.stats.endpoints());
        counter("tandem.discovery.resyncs", "Full resyncs from upstream (Marathon /v2/apps, ZooKeeper full load)",
                tags, h, x -> x.stats.resyncs());
        counter("tandem.discovery.reconnects", "Times the upstream connection was re-established after a loss",
                tags, h, x -> x.stats.reconnects());
        h.propagation = Timer.builder("tandem.discovery.propagation")
                .description("Event received from upstream → snapshot handed to the node")
                .tags(tags).publishPercentileHistogram().register(registry);
        attach(source, h);
        return h;
    }

    /** Sends the stats' propagation samples to the timer and registers a counter per drop reason. */
    private void attach(String source, Holder h) {
        SourceStats stats = h.stats;
        Timer timer = h.propagation;
        stats.onPropagation(nanos -> timer.record(nanos, TimeUnit.NANOSECONDS));
        stats.onNewDropReason(reason -> dropReason(source, h, reason));
    }

    private synchronized void dropReason(String source, Holder h, String reason) {
        if (holders.get(source) != h && holders.containsKey(source) || !h.reasons.add(reason)) {
            return;
        }
        counter("tandem.discovery.dropped", "Entries a source skipped because they were malformed or unusable, by "
                + "reason", Tags.of(SOURCE_TAG, source, "reason", reason), h, x -> x.stats.droppedCount(reason));
    }

    private void gauge(String name, String help, Tags tags, Holder h, ToDoubleFunction<Holder> f) {
        Gauge.builder(name, h, f).description(help).tags(tags).strongReference(true).register(registry);
    }

    private void counter(String name, String help, Tags tags, Holder h, ToDoubleFunction<Holder> f) {
        FunctionCounter.builder(name, h, f).description(help).tags(tags).register(registry);
    }
}
