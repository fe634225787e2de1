package io.tandem.core.metrics;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.NamingConvention;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Prometheus text exposition (format 0.0.4) of a registry, written straight from the
 * Micrometer meters into one reused buffer. Same families, names, labels, HELP and TYPE lines as
 * {@link PrometheusMeterRegistry#scrape()} ({@code PrometheusTextTest} holds the two side by
 * side), at a fraction of the garbage: the registry's own scrape builds a snapshot object tree
 * and validates every label name through a fresh UTF-8 encoder, per series, per scrape (about
 * 1.5 KB per series). Here every name, label set and HELP line is rendered to bytes once, when
 * the set of meters changes; a scrape reads the values and copies bytes.
 *
 * <p>Meters of a type it does not know (none today: gauges, counters, timers, distribution
 * summaries) make it fall back to the registry's own scrape, with one log line.
 *
 * <p>Not thread-safe: one instance per scraping thread.
 */
public final class PrometheusText {
    private static final Logger log = LoggerFactory.getLogger(PrometheusText.class);
    private static final int INITIAL = 64 * 1024;

    private final PrometheusMeterRegistry registry;
    private final NamingConvention naming;
    private final Out out = new Out(INITIAL);
    private List<Meter> layoutOf = List.of();
    /** Families sorted by name, or null when a meter type is unknown (fallback). */
    private List<Family> families = List.of();
    private boolean warned;

    public PrometheusText(PrometheusMeterRegistry registry) {
        this.registry = requireNonNull(registry, "registry");
        this.naming = registry.config().namingConvention();
    }

    /** One scrape: exactly the bytes of the exposition, in a new array. */
    public byte[] scrape() {
        List<Meter> meters = registry.getMeters();
        if (!sameMeters(meters)) {
            families = layout(meters);
            layoutOf = meters;
        }
        out.reset();
        if (families == null) {
            try {
                registry.scrape(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // a byte array stream never throws
            }
        } else {
            for (Family f : families) {
                f.write(out);
            }
        }
        return out.toByteArray();
    }

    /** The registry's meters are unchanged when its list holds the same meters in the same order. */
    private boolean sameMeters(List<Meter> meters) {
        if (meters.size() != layoutOf.size()) {
            return false;
        }
        for (int i = 0; i < meters.size(); i++) {
            if (meters.get(i) != layoutOf.get(i)) {
                return false;
            }
        }
        return true;
    }

    private List<Family> layout(List<Meter> meters) {
        Map<String, Family> byName = new TreeMap<>();
        for (Meter m : meters) {
            Meter.Id id = m.getId();
            String name = id.getConventionName(naming);
            String help = id.getDescription() == null ? " " : id.getDescription();
            byte[] labels = labels(id);
            if (id.getName().endsWith(".info") && !name.endsWith("_info") && m instanceof Gauge) {
                // The registry exposes a gauge named *.info as an info metric: the name keeps its
                // "_info" (the naming convention drops it) and the value is always 1.
                family(byName, name + "_info", "gauge", help).add(new GaugeSeries(name + "_info", labels, null));
                continue;
            }
            switch (m) {
                case TimeGauge g -> family(byName, name, "gauge", help).add(new GaugeSeries(name, labels,
                        () -> g.value(TimeUnit.SECONDS)));
                case Gauge g -> family(byName, name, "gauge", help).add(new GaugeSeries(name, labels, g::value));
                case Counter c -> counter(byName, name, help).add(new GaugeSeries(total(name), labels, c::count));
                case FunctionCounter c -> counter(byName, name, help).add(new GaugeSeries(total(name), labels,
                        c::count));
                case Timer t -> distribution(byName, name, help, labels, t::takeSnapshot, true);
                case DistributionSummary d -> distribution(byName, name, help, labels, d::takeSnapshot, false);
                default -> {
                    if (!warned) {
                        warned = true;
                        log.info("metrics exposition falls back to the registry's scrape meter={} type={}",
                                id.getName(), m.getClass().getName());
                    }
                    return null;
                }
            }
        }
        for (Family f : byName.values()) {
            if (f == Family.CONFLICT) {
                return null;
            }
        }
        return List.copyOf(byName.values());
    }

    private static Family counter(Map<String, Family> byName, String name, String help) {
        return family(byName, total(name), "counter", help);
    }

    private static String total(String name) {
        return name.endsWith("_total") ? name : name + "_total";
    }

    private static void distribution(Map<String, Family> byName, String name, String help, byte[] labels,
                                     java.util.function.Supplier<HistogramSnapshot> snapshots, boolean seconds) {
        HistogramSnapshot first = snapshots.get();
        boolean histogram = first.histogramCounts().length > 0;
        if (first.percentileValues().length > 0) {
            byName.put(name, Family.CONFLICT); // client-side quantiles: leave those to the registry
            return;
        }
        var s = new DistributionSeries(name, labels, snapshots, seconds, histogram);
        family(byName, name, histogram ? "histogram" : "summary", help).add(s);
        family(byName, name + "_max", "gauge", help).add(s.max());
    }

    private static Family family(Map<String, Family> byName, String name, String type, String help) {
        Family f = byName.computeIfAbsent(name, n -> new Family(n, type, help));
        if (f != Family.CONFLICT && !f.type.equals(type)) {
            byName.put(name, Family.CONFLICT);
            return Family.CONFLICT;
        }
        return f;
    }

    /** {@code {k="v",...}} in the registry's tag order, or nothing. */
    private byte[] labels(Meter.Id id) {
        List<Tag> tags = id.getConventionTags(naming);
        if (tags.isEmpty()) {
            return new byte[0];
        }
        StringBuilder b = new StringBuilder("{");
        for (Tag t : tags) {
            if (b.length() > 1) {
                b.append(',');
            }
            b.append(t.getKey()).append("=\"");
            escapeLabelValue(b, t.getValue());
            b.append('"');
        }
        return b.append('}').toString().getBytes(UTF_8);
    }

    static void escapeLabelValue(StringBuilder b, String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '"' -> b.append("\\\"");
                case '\n' -> b.append("\\n");
                default -> b.append(c);
            }
        }
    }

    static String escapeHelp(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n");
    }

    /** A metric family: its HELP and TYPE lines, rendered once, and its series. */
    private static final class Family {
        static final Family CONFLICT = new Family("", "", "");

        final String type;
        final byte[] header;
        final List<Series> series = new ArrayList<>();

        Family(String name, String type, String help) {
            this.type = type;
            this.header = ("# HELP " + name + " " + escapeHelp(help) + "\n# TYPE " + name + " " + type + "\n")
                    .getBytes(UTF_8);
        }

        void add(Series s) {
            if (this != CONFLICT) {
                series.add(s);
            }
        }

        void write(Out out) {
            out.write(header, 0, header.length);
            for (Series s : series) {
                s.write(out);
            }
        }
    }

    private interface Series {
        void write(Out out);
    }

    /** One line {@code name{labels} value}. */
    private static final class GaugeSeries implements Series {
        private final byte[] prefix;
        private final java.util.function.DoubleSupplier value;

        GaugeSeries(String name, byte[] labels, java.util.function.DoubleSupplier value) {
            this.prefix = prefix(name, labels, null);
            this.value = value;
        }

        /** @param value null for an info metric, whose value is always 1 */
        @Override
        public void write(Out out) {
            out.write(prefix, 0, prefix.length);
            if (value == null) {
                out.write('1');
            } else {
                out.writeDouble(value.getAsDouble());
            }
            out.write('\n');
        }
    }

    /** A timer or distribution summary: buckets (histogram) or not (summary), count and sum; max on its own. */
    private static final class DistributionSeries implements Series {
        private final String name;
        private final byte[] labels;
        private final java.util.function.Supplier<HistogramSnapshot> snapshots;
        private final boolean seconds;
        private final boolean histogram;
        private final byte[] count;
        private final byte[] sum;
        private final byte[] maxPrefix;
        private byte[][] buckets = new byte[0][];
        private double[] bucketBounds = new double[0];

        DistributionSeries(String name, byte[] labels, java.util.function.Supplier<HistogramSnapshot> snapshots,
                           boolean seconds, boolean histogram) {
            this.name = name;
            this.labels = labels;
            this.snapshots = snapshots;
            this.seconds = seconds;
            this.histogram = histogram;
            this.count = prefix(name + "_count", labels, null);
            this.sum = prefix(name + "_sum", labels, null);
            this.maxPrefix = prefix(name + "_max", labels, null);
        }

        @Override
        public void write(Out out) {
            HistogramSnapshot s = snapshots.get();
            if (histogram) {
                CountAtBucket[] counts = s.histogramCounts();
                for (int i = 0; i < counts.length; i++) {
                    double bound = seconds ? counts[i].bucket(TimeUnit.SECONDS) : counts[i].bucket();
                    byte[] p = bucketPrefix(i, bound, counts.length);
                    out.write(p, 0, p.length);
                    out.writeLong((long) counts[i].count());
                    out.write('\n');
                }
                byte[] inf = bucketPrefix(counts.length, Double.POSITIVE_INFINITY, counts.length);
                out.write(inf, 0, inf.length);
                out.writeLong(s.count());
                out.write('\n');
            }
            out.write(count, 0, count.length);
            out.writeLong(s.count());
            out.write('\n');
            out.write(sum, 0, sum.length);
            out.writeDouble(seconds ? s.total(TimeUnit.SECONDS) : s.total());
            out.write('\n');
        }

        private byte[] bucketPrefix(int i, double bound, int n) {
            if (buckets.length != n + 1) {
                buckets = new byte[n + 1][];
                bucketBounds = new double[n + 1];
            }
            if (buckets[i] == null || Double.compare(bucketBounds[i], bound) != 0) {
                String le = bound == Double.POSITIVE_INFINITY ? "+Inf" : Double.toString(bound);
                buckets[i] = prefix(name + "_bucket", labels, le);
                bucketBounds[i] = bound;
            }
            return buckets[i];
        }

        /** The {@code _max} line, in the family of its own that the registry gives it. */
        Series max() {
            return o -> {
                o.write(maxPrefix, 0, maxPrefix.length);
                HistogramSnapshot s = snapshots.get();
                o.writeDouble(seconds ? s.max(TimeUnit.SECONDS) : s.max());
                o.write('\n');
            };
        }
    }

    private static byte[] prefix(String name, byte[] labels, String le) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(name.length() + labels.length + 24);
        b.writeBytes(name.getBytes(UTF_8));
        if (le == null) {
            b.writeBytes(labels);
        } else if (labels.length == 0) {
            b.writeBytes(("{le=\"" + le + "\"}").getBytes(UTF_8));
        } else {
            b.write(labels, 0, labels.length - 1);
            b.writeBytes((",le=\"" + le + "\"}").getBytes(UTF_8));
        }
        b.write(' ');
        return b.toByteArray();
    }

    /** A byte array stream that writes numbers as ASCII without a String per long. */
    private static final class Out extends ByteArrayOutputStream {
        private final byte[] digits = new byte[20];

        Out(int size) {
            super(size);
        }

        void writeDouble(double d) {
            String s = d == Double.POSITIVE_INFINITY ? "+Inf" : d == Double.NEGATIVE_INFINITY ? "-Inf"
                    : Double.toString(d);
            for (int i = 0; i < s.length(); i++) {
                write(s.charAt(i));
            }
        }

        void writeLong(long v) {
            if (v == Long.MIN_VALUE) {
                writeDouble(v);
                return;
            }
            if (v < 0) {
                write('-');
                v = -v;
            }
            int n = 0;
            do {
                digits[n++] = (byte) ('0' + v % 10);
                v /= 10;
            } while (v > 0);
            while (n > 0) {
                write(digits[--n]);
            }
        }
    }
}
