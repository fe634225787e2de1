package io.tandem.core.metrics;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import java.util.Map;

/**
 * The HELP text of the control-plane meters that their owners register by name alone
 * ({@code metrics.counter("tandem.reloads", "result", "applied")}: the health keeper, the
 * control loop, the HA wiring). A filter on the registry fills the description in when a meter
 * arrives without one, so every family of {@code /metrics} has a real {@code # HELP} line whoever
 * registered it, and the text of each lives in one place next to the others.
 *
 * <p>{@code MetricHelpTest} fails for a meter name written in the sources that has neither a
 * description at its registration nor an entry here.
 */
final class MetricHelp {
    static final Map<String, String> TEXT = Map.ofEntries(
            Map.entry("tandem.health.transitions",
                    "Health flag changes by active checks, passive detection and self-loop detection"),
            Map.entry("tandem.health.detection", "First failing signal to backend out of rotation"),
            Map.entry("tandem.passive.signals", "Failures seen on live traffic, each counting towards an ejection"),
            Map.entry("tandem.dns.lookups", "Lookups of backend host names, by result"),
            Map.entry("tandem.reloads", "Config reloads (file change, SIGHUP, POST /api/reload), by result"),
            Map.entry("tandem.vip.panic.entered", "Times the VIP entered panic mode"),
            Map.entry("tandem.ha.ownership.changes", "This node taking or giving up a VIP address"),
            Map.entry("tandem.ha.addresses.served", "VIP addresses this node serves now"),
            Map.entry("tandem.ha.peer.ejections", "Backends ejected on a peer node's report"),
            Map.entry("tandem.ha.connections.reset",
                    "Connections proxied on a VIP address reset when this node gave the address up"));

    /** Gives a {@code tandem.*} meter without a description its text from {@link #TEXT}. */
    static final MeterFilter FILTER = new MeterFilter() {
        @Override
        public Meter.Id map(Meter.Id id) {
            if (id.getDescription() != null && !id.getDescription().isBlank()) {
                return id;
            }
            String text = TEXT.get(id.getName());
            return text == null ? id
                    : new Meter.Id(id.getName(), io.micrometer.core.instrument.Tags.of(id.getTagsAsIterable()),
                            id.getBaseUnit(), text, id.getType());
        }
    };

    private MetricHelp() {
    }
}
