package io.tandem.core.metrics;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every family has a real {@code # HELP} line, also the control-plane meters their owners register
 * by name alone ({@code metrics.counter("tandem.reloads", ...)}): those get their text from
 * {@link MetricHelp}. Before it, {@code tandem_reloads_total} and its kind had an empty HELP.
 */
class MetricHelpTest {
    /** Registrations that give no description: Metrics' public counter/timer, a reconciler Action.counter, a bare registry gauge. */
    private static final Pattern BY_NAME_ONLY = Pattern.compile(
            "(?:metrics\\.counter|Action\\.counter|metrics\\.timer|registry\\(\\)\\.gauge)\\(\\s*\"(tandem\\.[a-z0-9_.]+)\"");

    static Set<String> namesRegisteredWithoutHelp() {
        Set<String> out = new TreeSet<>();
        for (String module : new String[] {"config", "health", "discovery", "ha", "lb-core"}) {
            try (Stream<Path> files = Files.walk(MetricsDocumentedTest.ROOT.resolve(module).resolve("src/main/java"))) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    Matcher m = BY_NAME_ONLY.matcher(Files.readString(f, UTF_8));
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

    @Test
    void everyMeterRegisteredByNameAloneHasAHelpText() {
        Set<String> names = namesRegisteredWithoutHelp();
        assertThat(names).contains("tandem.reloads", "tandem.health.transitions", "tandem.ha.ownership.changes",
                "tandem.ha.connections.reset");
        assertThat(names).allSatisfy(n -> assertThat(MetricHelp.TEXT).as("HELP text of " + n).containsKey(n));
    }

    @Test
    void aCounterRegisteredWithoutDescriptionIsScrapedWithItsHelp() {
        try (Metrics metrics = new Metrics()) {
            metrics.counter("tandem.reloads", "result", "applied").increment();
            metrics.registry().gauge("tandem.ha.addresses.served", 3);
            String text = new String(new PrometheusText(metrics.registry()).scrape(), UTF_8);
            assertThat(text).contains("# HELP tandem_reloads_total Config reloads")
                    .contains("# HELP tandem_ha_addresses_served VIP addresses this node serves now");
            assertThat(emptyHelp(text)).isEmpty();
            assertThat(emptyHelp(metrics.registry().scrape())).as("the registry's own scrape too").isEmpty();
        }
    }

    @Test
    void buildInfoCarriesVersionAndRevision() {
        try (Metrics metrics = new Metrics()) {
            String text = new String(new PrometheusText(metrics.registry()).scrape(), UTF_8);
            BuildInfo b = BuildInfo.current();
            assertThat(text).contains("tandem_build_info{revision=\"" + b.revision() + "\",version=\"" + b.version()
                    + "\"} 1\n");
            assertThat(b.version()).isNotEqualTo(BuildInfo.UNKNOWN);
            assertThat(b.revision()).as("the build wrote the git revision").matches("[0-9a-f]{12}(-dirty)?");
        }
    }

    @Test
    void aBuildWithoutGitSaysUnknown() {
        var p = new java.util.Properties();
        assertThat(BuildInfo.of(p)).isEqualTo(new BuildInfo(BuildInfo.UNKNOWN, BuildInfo.UNKNOWN));
        p.setProperty("git.build.version", "1.2.3");
        p.setProperty("git.commit.id.abbrev", "0123456789ab");
        p.setProperty("git.dirty", "true");
        assertThat(BuildInfo.of(p)).isEqualTo(new BuildInfo("1.2.3", "0123456789ab-dirty"));
    }

    /** Families whose HELP text is blank. */
    static Set<String> emptyHelp(String exposition) {
        Set<String> out = new TreeSet<>();
        Arrays.stream(exposition.split("\n")).filter(l -> l.startsWith("# HELP ")).forEach(l -> {
            String[] parts = l.split(" ", 4);
            if (parts.length < 4 || parts[3].isBlank()) {
                out.add(parts[2]);
            }
        });
        return out;
    }
}
