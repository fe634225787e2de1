package io.tandem.core.metrics;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.LongTaskTimer;
import io.micrometer.core.instrument.Timer;
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
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Tandem's exposition writer says exactly what the registry's own scrape says. */
class PrometheusTextTest {
    private final Metrics metrics = new Metrics();
    private PrometheusText text;

    @BeforeEach
    void bind() {
        for (int v = 0; v < 3; v++) {
            String name = "vip-" + v;
            Backend[] backends = new Backend[4];
            for (int b = 0; b < backends.length; b++) {
                backends[b] = Backend.of(HostPort.of(b == 3 ? "::1" : "10.0." + v + "." + b, 8000 + b), 1);
                backends[b].stats().bytesOut.add(123_456_789L * (b + 1));
            }
            var cfg = new VipConfig(name, HostPort.of("127.0.0.1", 8080 + v), Protocol.TCP, PolicyKind.ROUND_ROBIN,
                    List.of(), Limits.UNLIMITED, Timeouts.DEFAULTS, 1, ProxyProtocolVersion.NONE, RelayMode.COPY,
                    Optional.empty());
            Vip vip = new Vip(name, new BackendPool(cfg, List.of(backends), (c, t) -> null, false, 1));
            metrics.bindVip(vip);
            for (Backend b : backends) {
                metrics.bindBackend(vip, b, () -> true);
            }
            vip.stats().totalConnections.add(42 + v);
        }
        UdpStats udp = new UdpStats();
        udp.datagramsIn.add(7);
        metrics.bindUdp("dns", udp);
        // Control-plane meters as the node registers them: counters without a description, a
        // detection-style histogram timer, a plain timer (summary), label values that need escaping.
        metrics.counter("tandem.reloads", "result", "applied").increment(3);
        metrics.counter("tandem.health.transitions", "vip", "a\"b\\c\nd", "flag", "X").increment();
        Timer detection = Timer.builder("tandem.health.detection").description("first failing signal")
                .tags("vip", "vip-0", "cause", "active").publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(metrics.registry());
        for (long ms : new long[] {1, 3, 40, 700, 12_000, 45_000}) {
            detection.record(Duration.ofMillis(ms));
        }
        metrics.timer("tandem.reload.duration").record(Duration.ofMillis(12));
        DistributionSummary.builder("tandem.test.sizes").baseUnit("bytes").register(metrics.registry()).record(512);
        text = new PrometheusText(metrics.registry());
    }

    @AfterEach
    void close() {
        metrics.close();
    }

    @Test
    void everyLineOfTandemSeriesIsTheRegistrysOwn() {
        assertThat(tandemLines(scrape())).containsExactlyElementsOf(tandemLines(metrics.registry().scrape()));
    }

    @Test
    void everyFamilyHeaderAndEverySeriesOfTheWholeRegistryIsThere() {
        String ours = scrape();
        String theirs = metrics.registry().scrape();
        assertThat(headers(ours)).containsExactlyElementsOf(headers(theirs));
        // JVM values move between two scrapes; the series (name and labels) must not.
        assertThat(seriesKeys(ours)).containsExactlyElementsOf(seriesKeys(theirs));
    }

    @Test
    void eachFamilyIsContiguous() {
        List<String> names = Arrays.stream(scrape().split("\n")).filter(l -> l.startsWith("# TYPE "))
                .map(l -> l.split(" ")[2]).toList();
        assertThat(names).doesNotHaveDuplicates();
    }

    @Test
    void detectionHistogramsUseTheShortBucketLadder() {
        long buckets = Arrays.stream(scrape().split("\n"))
                .filter(l -> l.startsWith("tandem_health_detection_seconds_bucket{")).count();
        assertThat(buckets).isEqualTo(Metrics.TIMER_BUCKETS.size() + 1); // + the +Inf bucket
    }

    @Test
    void meterSetChangesAreSeenOnTheNextScrape() {
        scrape();
        metrics.unbindVip("vip-1");
        Counter.builder("tandem.added.later").register(metrics.registry()).increment();
        String after = scrape();
        assertThat(after).doesNotContain("vip=\"vip-1\"").contains("tandem_added_later_total 1.0");
        assertThat(tandemLines(after)).containsExactlyElementsOf(tandemLines(metrics.registry().scrape()));
    }

    @Test
    void anUnknownMeterTypeFallsBackToTheRegistrysScrape() {
        LongTaskTimer.builder("tandem.long.task").register(metrics.registry());
        String ours = scrape();
        assertThat(ours).contains("tandem_long_task_seconds");
        assertThat(tandemLines(ours)).containsExactlyElementsOf(tandemLines(metrics.registry().scrape()));
    }

    private String scrape() {
        return new String(text.scrape(), UTF_8);
    }

    /** Lines of tandem_* families (values included: their sources stand still in this test). */
    private static List<String> tandemLines(String exposition) {
        return Arrays.stream(exposition.split("\n")).filter(l -> l.contains("tandem_")).sorted().toList();
    }

    private static List<String> headers(String exposition) {
        return Arrays.stream(exposition.split("\n")).filter(l -> l.startsWith("#")).sorted().toList();
    }

    private static List<String> seriesKeys(String exposition) {
        return Arrays.stream(exposition.split("\n")).filter(l -> !l.startsWith("#") && !l.isEmpty())
                .map(l -> l.substring(0, l.lastIndexOf(' '))).sorted().toList();
    }

    static Map<String, Double> values(String exposition) {
        Map<String, Double> out = new TreeMap<>();
        for (String l : exposition.split("\n")) {
            if (!l.startsWith("#") && !l.isEmpty()) {
                out.put(l.substring(0, l.lastIndexOf(' ')), Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)));
            }
        }
        return out;
    }

    static TreeSet<String> names(String exposition) {
        return Arrays.stream(exposition.split("\n")).filter(l -> l.startsWith("# TYPE ")).map(l -> l.split(" ")[2])
                .collect(Collectors.toCollection(TreeSet::new));
    }
}
