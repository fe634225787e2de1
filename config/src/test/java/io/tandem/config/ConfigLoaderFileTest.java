package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading from disk: the shipped example is valid, and an unreadable file is one clear error. */
class ConfigLoaderFileTest {

    /** Surefire runs in the module directory; this is the real example operators copy. */
    private static final Path EXAMPLE = Path.of("../examples/basic.yaml");

    @Test
    void shippedBasicExampleIsValid() {
        ConfigResult result = ConfigLoader.load(EXAMPLE);

        assertThat(result).as("errors: %s", result).isInstanceOf(ConfigResult.Valid.class);
        TandemConfig c = ((ConfigResult.Valid) result).config();
        assertThat(c.vips()).extracting(VipConfig::name).containsExactly("web", "dns");
        assertThat(c.vips()).allSatisfy(v -> assertThat(v.listen().host()).startsWith("127."));
        assertThat(c.vips()).allSatisfy(v ->
                assertThat(v.backends()).allSatisfy(b -> assertThat(b.address().host()).startsWith("127.")));
    }

    @Test
    void errorExampleInTheConfigurationReferenceIsRealOutput() throws IOException {
        String doc = Files.readString(Path.of("../docs/configuration.md"));
        String section = doc.substring(doc.indexOf("## Errors look like this"));
        String yaml = fenced(section, "```yaml\n");
        String shown = fenced(section.substring(section.indexOf("gives (real output)")), "```\n");

        ConfigResult result = ConfigLoader.parse(yaml, "tandem.yaml");

        assertThat(result).isInstanceOf(ConfigResult.Invalid.class);
        assertThat(((ConfigResult.Invalid) result).errors()).extracting(ConfigError::toString)
                .containsExactlyElementsOf(shown.lines().toList());
    }

    private static String fenced(String text, String opening) {
        int start = text.indexOf(opening) + opening.length();
        return text.substring(start, text.indexOf("```", start));
    }

    @Test
    void missingFileIsOneErrorNamingTheFile(@TempDir Path dir) {
        Path file = dir.resolve("nope.yaml");

        ConfigResult result = ConfigLoader.load(file);

        assertThat(result).isEqualTo(new ConfigResult.Invalid(java.util.List.of(
                new ConfigError(file.toString(), "no such file", "a readable YAML file"))));
    }

    @Test
    void directoryIsOneErrorNamingIt(@TempDir Path dir) {
        ConfigResult result = ConfigLoader.load(dir);

        assertThat(result).isInstanceOf(ConfigResult.Invalid.class);
        assertThat(((ConfigResult.Invalid) result).errors()).singleElement()
                .satisfies(e -> {
                    assertThat(e.path()).isEqualTo(dir.toString());
                    assertThat(e.value()).isEqualTo("a directory");
                    assertThat(e.expected()).isEqualTo("a regular file");
                });
    }

    @Test
    void syntaxErrorsInAFileAreNamedByTheFileName(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tandem.yaml");
        Files.writeString(file, "vips: [\n");

        ConfigResult result = ConfigLoader.load(file);

        assertThat(((ConfigResult.Invalid) result).errors()).singleElement()
                .satisfies(e -> assertThat(e.toString()).startsWith("tandem.yaml:2:1: "));
    }
}
