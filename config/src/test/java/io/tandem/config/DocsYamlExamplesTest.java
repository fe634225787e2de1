package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every {@code ```yaml} example in {@code docs/*.md} and {@code README.md} is a config that
 * {@code tandem validate} accepts, so the docs cannot describe keys the loader refuses. A block
 * means a whole config file unless an HTML comment on the line before its fence says otherwise:
 * <ul>
 *   <li>{@code <!-- fragment: vip -->}: the keys of one VIP; validated inside a minimal config
 *       (a name, a listen address and one backend are added where the block has none);</li>
 *   <li>{@code <!-- expect-errors -->}: an invalid config whose errors are exactly the lines of the
 *       next fenced block (docs that say "real output" stay real);</li>
 *   <li>{@code <!-- not a Tandem config: WHAT -->}: YAML of another program; it must still parse
 *       as YAML. A Prometheus config is recognised without the mark by its root keys, all of
 *       which are Prometheus's and none Tandem's ({@code scrape_configs:} in admin-api.md).</li>
 * </ul>
 * One wrapping is automatic: a block with root keys only and no {@code vips} (a section shown on
 * its own, such as {@code admin:}) is validated with {@code vips: []} added, the one required key.
 */
class DocsYamlExamplesTest {
    /** Surefire runs in the module directory. */
    private static final Path ROOT = Path.of("..");
    private static final Pattern FENCE = Pattern.compile("^```(\\S*)\\s*$");
    private static final Pattern MARK = Pattern.compile("^<!--\\s*(.*?)\\s*-->\\s*$");
    /** The root keys of a Prometheus configuration file. */
    private static final List<String> PROMETHEUS_ROOT_KEYS = List.of("global", "scrape_configs", "rule_files",
            "alerting", "remote_write", "remote_read", "storage", "scrape_config_files", "tracing");

    record Example(String file, int line, String mark, String yaml, String following) {
        @Override
        public String toString() {
            return file + ":" + line + (mark.isEmpty() ? "" : " (" + mark + ")");
        }
    }

    static List<Path> markdown() throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(ROOT.resolve("README.md"));
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        return files;
    }

    static List<Example> examples() throws IOException {
        List<Example> out = new ArrayList<>();
        for (Path file : markdown()) {
            List<String> lines = Files.readAllLines(file);
            for (int i = 0; i < lines.size(); i++) {
                Matcher open = FENCE.matcher(lines.get(i));
                if (!open.matches()) {
                    continue;
                }
                int close = i + 1;
                while (close < lines.size() && !lines.get(close).startsWith("```")) {
                    close++;
                }
                if (open.group(1).equals("yaml") || open.group(1).equals("yml")) {
                    Matcher mark = i > 0 ? MARK.matcher(lines.get(i - 1).strip()) : null;
                    out.add(new Example(ROOT.relativize(file).toString(), i + 1,
                            mark != null && mark.matches() ? mark.group(1) : "",
                            String.join("\n", lines.subList(i + 1, Math.min(close, lines.size()))) + "\n",
                            nextFenced(lines, close + 1)));
                }
                i = close;
            }
        }
        return out;
    }

    private static String nextFenced(List<String> lines, int from) {
        for (int i = from; i < lines.size(); i++) {
            if (lines.get(i).startsWith("```")) {
                int close = i + 1;
                while (close < lines.size() && !lines.get(close).startsWith("```")) {
                    close++;
                }
                return String.join("\n", lines.subList(i + 1, Math.min(close, lines.size())));
            }
        }
        return "";
    }

    @Test
    void theDocsHaveYamlExamplesToCheck() throws IOException {
        assertThat(examples()).hasSizeGreaterThanOrEqualTo(8);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void everyYamlExampleInTheDocsIsAValidConfig(Example e) throws IOException {
        if (e.mark().startsWith("not a Tandem config")) {
            assertThat(new ObjectMapper(new YAMLFactory()).readTree(e.yaml())).as(e.toString()).isNotNull();
            return;
        }
        if (e.mark().equals("expect-errors")) {
            ConfigResult r = ConfigLoader.parse(e.yaml(), "tandem.yaml");
            assertThat(r).as(e.toString()).isInstanceOf(ConfigResult.Invalid.class);
            assertThat(((ConfigResult.Invalid) r).errors()).extracting(ConfigError::toString).as(e.toString())
                    .containsExactlyElementsOf(e.following().lines().toList());
            return;
        }
        String yaml = switch (e.mark()) {
            case "" -> wholeConfig(e);
            case "fragment: vip" -> inAVip(e.yaml());
            default -> throw new AssertionError(e + ": unknown mark <!-- " + e.mark() + " --> (expected fragment: vip,"
                    + " expect-errors or not a Tandem config: WHAT)");
        };
        if (yaml == null) {
            return;
        }
        ConfigResult r = ConfigLoader.parse(yaml, e.file());
        assertThat(r).as("%s is not a valid config:%n%s%n%s", e, r, yaml).isInstanceOf(ConfigResult.Valid.class);
    }

    /** The block as a file; a section shown alone gets the one required key, {@code vips: []}. */
    private static String wholeConfig(Example e) throws IOException {
        JsonNode root = new ObjectMapper(new YAMLFactory()).readTree(e.yaml());
        assertThat(root).as("%s: a config is a mapping; mark YAML of another program with"
                + " <!-- not a Tandem config: WHAT -->", e).isNotNull();
        if (root.isObject() && !root.has("vips")) {
            List<String> keys = new ArrayList<>();
            root.fieldNames().forEachRemaining(keys::add);
            if (PROMETHEUS_ROOT_KEYS.containsAll(keys)) {
                return null; // a Prometheus config: parsed above, nothing of Tandem's to validate
            }
            assertThat(ConfigReader.ROOT_KEYS).as("%s: root keys %s; YAML of another program needs"
                    + " <!-- not a Tandem config: WHAT --> on the line before its fence", e, keys).containsAll(keys);
            return e.yaml() + "vips: []\n";
        }
        return e.yaml();
    }

    /** The keys of one VIP, inside a minimal config. */
    private static String inAVip(String block) throws IOException {
        JsonNode keys = new ObjectMapper(new YAMLFactory()).readTree(block);
        StringBuilder b = new StringBuilder("vips:\n  - ");
        if (!keys.has("name")) {
            b.append("name: fragment\n    ");
        }
        if (!keys.has("listen")) {
            b.append("listen: 127.0.0.1:18080\n    ");
        }
        if (!keys.has("backends") && !keys.has("service")) {
            b.append("backends: [127.0.0.1:19001]\n    ");
        }
        for (Iterator<String> lines = block.lines().iterator(); lines.hasNext(); ) {
            b.append(lines.next()).append("\n    ");
        }
        return b.toString().stripTrailing() + "\n";
    }
}
