package io.tandem.core.admin;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.tandem.core.control.NodeView.SourceView;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * {@code tandem_discovery_*{source}}: what the node's view says of each discovery source
 * ({@link SourceView}: connected, stale, last event, dropped entries, what it knows), refreshed
 * just before each scrape, so the numbers are as fresh as the scrape. A source that goes away
 * (a reload removed it) loses its series.
 *
 * <p>Not thread-safe: used by the one scrape thread.
 */
final class DiscoveryMetrics {
    static final String SOURCE_TAG = "source";

    private final MeterRegistry registry;
    private final Clock clock;
    private final Map<String, Holder> sources = new HashMap<>();

    DiscoveryMetrics(MeterRegistry registry, Clock clock) {
        this.registry = requireNonNull(registry, "registry");
        this.clock = requireNonNull(clock, "clock");
    }

    /** The latest view of one source; the meters read it. */
    private static final class Holder {
        volatile SourceView view;

        Holder(SourceView view) {
            this.view = view;
        }
    }

    /** Points the meters at {@code views}: registers new sources, drops those gone. */
    void update(List<SourceView> views) {
        Map<String, SourceView> now = new HashMap<>();
        views.forEach(v -> now.put(v.name(), v));
        for (String gone : new ArrayList<>(sources.keySet())) {
            if (!now.containsKey(gone)) {
                sources.remove(gone);
                List<Meter> doomed = new ArrayList<>();
                for (Meter m : registry.getMeters()) {
                    if (m.getId().getName().startsWith("tandem.discovery.") && gone.equals(m.getId().getTag(SOURCE_TAG))) {
                        doomed.add(m);
                    }
                }
                doomed.forEach(registry::remove);
            }
        }
        now.forEach((name, view) -> {
            Holder h = sources.get(name);
            if (h != null) {
                h.view = view;
            } else {
                register(name, new Holder(view));
            }
        });
    }

    /** Whether any source has series now. */
    boolean any() {
        return !sources.isEmpty();
    }

    private void register(String name, Holder h) {
        Tags tags = Tags.of(SOURCE_TAG, name);
        gauge("tandem.discovery.connected", "1 while the source's upstream (ZooKeeper session, Marathon event stream)"
                + " is live", tags, h, x -> x.view.connected() ? 1 : 0);
        gauge("tandem.discovery.stale", "1 while the source serves its last known membership (upstream lost)", tags,
                h, x -> x.view.stale() ? 1 : 0);
        gauge("tandem.discovery.last.update.age.seconds", "Seconds since the source's last membership event "
                + "(NaN before the first)", tags, h, x -> x.view.lastEventAt()
                .map(at -> Math.max(0, (clock.millis() - at.toEpochMilli()) / 1000.0)).orElse(Double.NaN));
        gauge("tandem.discovery.stale.since.timestamp.seconds", "Unix time since which the source is stale "
                + "(NaN while it is not)", tags, h, x -> x.view.staleSince().map(DiscoveryMetrics::seconds)
                .orElse(Double.NaN));
        gauge("tandem.discovery.services", "Services the source knows now", tags, h, x -> x.view.services());
        gauge("tandem.discovery.endpoints", "Endpoints the source knows now", tags, h, x -> x.view.endpoints());
        FunctionCounter.builder("tandem.discovery.dropped.entries", h, x -> x.view.droppedEntries())
                .description("Malformed entries the source skipped").tags(tags).register(registry);
        sources.put(name, h);
    }

    private static double seconds(Instant at) {
        return at.toEpochMilli() / 1000.0;
    }

    private void gauge(String name, String help, Tags tags, Holder h, ToDoubleFunction<Holder> f) {
        Gauge.builder(name, h, f).description(help).tags(tags).strongReference(true).register(registry);
    }
}
