package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parse cost is bounded: a file within the size cap (4 MiB) is validated or refused in well under
 * a second on an idle machine, whatever its shape. Before the line limit, one 2 MiB comment line
 * took 8-13 s and 1.6-1.9 GB to validate, and a 4 MiB one about four times that: SnakeYAML's reader
 * copies its whole look-ahead window per 1 KiB read, so a token costs the square of its length.
 * The bound below is generous for a shared, loaded test machine; the old code missed it by far.
 */
class PathologicalYamlTest {
    private static final Duration BOUND = Duration.ofSeconds(10);
    private static final int CAP = (int) ConfigLoader.DEFAULT_MAX_BYTES;
    private static final String VALID = """
            vips:
              - name: web
                listen: 127.0.0.1:8080
                backends: [127.0.0.1:9001]
            """;

    @TempDir
    Path dir;

    private ConfigResult loadWithin(String text) throws IOException {
        Path file = Files.writeString(dir.resolve("tandem.yaml"), text);
        assertThat(Files.size(file)).isLessThanOrEqualTo(CAP);
        return assertTimeoutPreemptively(BOUND, () -> ConfigLoader.load(file));
    }

    private static List<ConfigError> errors(ConfigResult result) {
        assertThat(result).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) result).errors();
    }

    @Test
    void aTwoMebibyteCommentLineIsRefusedQuicklyNamingTheLine() throws IOException {
        String line = "# " + "x".repeat(2 * 1024 * 1024);

        List<ConfigError> errors = errors(loadWithin(VALID + line + "\n"));

        assertThat(errors).containsExactly(new ConfigError("tandem.yaml:5", "a line of " + line.length()
                + " characters", "lines of at most 65536 characters; YAML parsing time grows with the square of a"
                + " line's length"));
    }

    @Test
    void aFourMebibyteSingleLineFileIsRefusedQuickly() throws IOException {
        String line = "vips: [" + "x".repeat(CAP - 10) + "]";

        assertThat(errors(loadWithin(line))).singleElement()
                .satisfies(e -> assertThat(e.path()).isEqualTo("tandem.yaml:1"));
    }

    @Test
    void aLineAtTheLimitIsFine() throws IOException {
        String comments = ("#" + "x".repeat(ConfigLoader.MAX_LINE_CHARS - 1) + "\r\n").repeat(60);

        assertThat(loadWithin(VALID + comments)).isInstanceOf(ConfigResult.Valid.class);
    }

    @Test
    void deepBlockNestingIsRefusedQuickly() throws IOException {
        StringBuilder b = new StringBuilder("vips: []\nha:\n");
        for (int depth = 1; b.length() + depth + 3 < CAP && depth < 2500; depth++) {
            b.append(" ".repeat(depth)).append("a:\n");
        }

        assertThat(errors(loadWithin(b.toString()))).singleElement().satisfies(e -> {
            assertThat(e.value()).isEqualTo("nesting deeper than 64 levels");
            assertThat(e.path()).startsWith("tandem.yaml:");
        });
    }

    @Test
    void deepFlowNestingOverManyLinesIsRefusedQuickly() throws IOException {
        String text = "vips: [\n" + " [\n".repeat((CAP - 10) / 3);

        assertThat(errors(loadWithin(text))).singleElement()
                .satisfies(e -> assertThat(e.value()).isEqualTo("nesting deeper than 64 levels"));
    }

    @Test
    void manyUnknownKeysAreRefusedQuicklyWithABoundedReport() throws IOException {
        StringBuilder b = new StringBuilder(VALID);
        for (int i = 0; b.length() < CAP - 32; i++) {
            b.append('k').append(i).append(": 1\n");
        }
        int keys = b.toString().split("\n").length - 4;

        List<ConfigError> errors = errors(loadWithin(b.toString()));

        assertThat(errors).hasSize(Problems.MAX_REPORTED + 1);
        assertThat(errors.get(0).toString()).startsWith("k0: unknown key");
        assertThat(errors.getLast()).isEqualTo(new ConfigError("tandem.yaml",
                (keys - Problems.MAX_REPORTED) + " more errors not shown",
                "at most 100 errors per report; fix these first"));
    }

    @Test
    void aFourMebibyteValidFileOfShortLinesIsValidQuickly() throws IOException {
        StringBuilder b = new StringBuilder(VALID);
        while (b.length() < CAP - 100) {
            b.append("# a comment line of ordinary length, as a generated config might carry\n");
        }

        assertThat(loadWithin(b.toString())).isInstanceOf(ConfigResult.Valid.class);
    }

    @Test
    void aHugeNumberIsShownCutShort() {
        ConfigResult r = ConfigLoader.parse(VALID + "    retries: 1" + "0".repeat(900) + "\n", "t.yaml");

        assertThat(errors(r)).singleElement().satisfies(e ->
                assertThat(e.value()).hasSize(63).endsWith("..."));
    }
}
