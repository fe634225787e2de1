package io.tandem.core.metrics;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

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
import io.tandem.core.udp.UdpStats;
import io.tandem.core.vip.Vip;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every metric the node can register is listed in docs/admin-api.md. Two views, because meters
 * appear at their first event (an HA ownership change, a reload) and a running node in a test
 * does not have every event: (1) every meter name written in the main sources of the modules
 * (the first argument of {@code counter(}, {@code timer(}, {@code gauge(}, {@code builder(}),
 * HA's included; (2) every family the real {@link Metrics} registry exposes with a TCP VIP, its
 * backends and a UDP VIP bound (the JVM's too). {@code MetricsDocumentedIT} adds a running node.
 */
class MetricsDocumentedTest {
    static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    static final Path DOC = ROOT.resolve("docs/admin-api.md");
    private static final List<String> MODULES = List.of("config", "health", "discovery", "ha", "lb-core");
    private static final Pattern REGISTERED =
            Pattern.compile("(?:counter|timer|gauge|builder)\\(\\s*\"(tandem\\.[a-z0-9_.]+)\"");
    private static final Pattern DOCUMENTED = Pattern.compile("`([a-z_][a-z0-9_]*\\*?)(?:\\{[^`]*})?`");
    private static final List<String> SUFFIXES = List.of("", "_total", "_seconds", "_bytes");

    /** Meter names (dotted) written in the main sources. */
    static Set<String> namesInSources() {
        Set<String> out = new TreeSet<>();
        for (String module : MODULES) {
            Path src = ROOT.resolve(module).resolve("src/main/java");
            try (Stream<Path> files = Files.walk(src)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    Matcher m = REGISTERED.matcher(Files.readString(f, UTF_8));
                    while (m.find()) {
                        out.add(m.group(1));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    /** Backticked metric names and {@code prefix_*} patterns of the doc. */
    static Set<String> documented() {
        try {
            Set<String> out = new TreeSet<>();
            Matcher m = DOCUMENTED.matcher(Files.readString(DOC, UTF_8));
            while (m.find()) {
                out.add(m.group(1));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An exposed family name (as in {@code # TYPE}) is documented. */
    static boolean familyDocumented(String family, Set<String> doc) {
        if (doc.contains(family)) {
            return true;
        }
        if (family.endsWith("_max") && doc.contains(family.substring(0, family.length() - 4))) {
            return true; // every timer's _max gauge: documented once for all
        }
        // JVM and process families may be documented by pattern (jvm_gc_*); Tandem's own by name only.
        return !family.startsWith("tandem_") && doc.stream()
                .anyMatch(d -> d.endsWith("*") && family.startsWith(d.substring(0, d.length() - 1)));
    }

    /** A dotted meter name is documented under its Prometheus name, with the suffix its type adds. */
    static boolean nameDocumented(String dotted, Set<String> doc) {
        String base = dotted.replace('.', '_');
        return SUFFIXES.stream().anyMatch(s -> doc.contains(base + s));
    }

    @Test
    void everyMeterNamedInTheSourcesIsDocumented() {
        Set<String> names = namesInSources();
        // The scan must see meters of every kind of registration, or it proves nothing.
        assertThat(names).contains("tandem.vip.connections", "tandem.udp.dropped", "tandem.health.detection",
                "tandem.reloads", "tandem.ha.ownership.changes", "tandem.ha.addresses.served",
                "tandem.ha.peer.ejections");
        Set<String> doc = documented();
        assertThat(names).allSatisfy(n -> assertThat(nameDocumented(n, doc))
                .as("%s (as %s...) in %s", n, n.replace('.', '_'), DOC).isTrue());
    }

    @Test
    void everyFamilyOfTheRegistryWithTcpAndUdpVipsBoundIsDocumented() {
        Set<String> families = familiesOfBoundRegistry(null);
        assertThat(families).contains("tandem_vip_connections_total", "tandem_backend_eligible",
                "tandem_udp_dropped_total", "jvm_memory_used_bytes", "process_uptime_seconds");
        Set<String> doc = documented();
        assertThat(families).allSatisfy(f -> assertThat(familyDocumented(f, doc)).as("%s in %s", f, DOC).isTrue());
    }

    @Test
    void anUndocumentedMeterIsCaught() {
        Set<String> doc = documented();
        Set<String> families = familiesOfBoundRegistry("tandem.added.without.docs");
        assertThat(families).contains("tandem_added_without_docs_total");
        assertThat(familyDocumented("tandem_added_without_docs_total", doc)).isFalse();
        assertThat(nameDocumented("tandem.added.without.docs", doc)).isFalse();
        assertThat(familyDocumented("tandem_vip_connections", doc)).as("a prefix is not a name").isFalse();
    }

    private static Set<String> familiesOfBoundRegistry(String extraCounter) {
        try (Metrics metrics = new Metrics()) {
            var cfg = new VipConfig("web", HostPort.of("127.0.0.1", 8080), Protocol.TCP, PolicyKind.ROUND_ROBIN,
                    List.of(), Limits.UNLIMITED, Timeouts.DEFAULTS, 1, ProxyProtocolVersion.NONE, RelayMode.COPY,
                    Optional.empty());
            Backend backend = Backend.of(HostPort.of("127.0.0.1", 9001), 1);
            Vip vip = new Vip("web", new BackendPool(cfg, List.of(backend), (c, t) -> null, false, 1));
            metrics.bindVip(vip);
            metrics.bindBackend(vip, backend, () -> true);
            metrics.bindUdp("dns", new UdpStats());
            if (extraCounter != null) {
                metrics.counter(extraCounter).increment();
            }
            return PrometheusTextTest.names(new String(new PrometheusText(metrics.registry()).scrape(), UTF_8));
        }
    }
}
