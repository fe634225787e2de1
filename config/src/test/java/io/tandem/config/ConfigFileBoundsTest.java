package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * Only regular files are read, and never more than the size cap: a FIFO, a device or a huge file
 * is refused at once with one error naming it (a reload runs this on a live node; the old code
 * blocked forever on a FIFO and read /dev/zero until the heap ran out).
 */
class ConfigFileBoundsTest {
    /** Generous: each of these is refused in milliseconds; the old code never returned. */
    private static final Duration QUICKLY = Duration.ofSeconds(10);

    private static final String VALID = """
            vips:
              - name: web
                listen: 127.0.0.1:8080
                backends: [127.0.0.1:9001]
            """;

    @TempDir
    Path dir;

    private static ConfigError onlyError(ConfigResult result) {
        assertThat(result).isInstanceOf(ConfigResult.Invalid.class);
        List<ConfigError> errors = ((ConfigResult.Invalid) result).errors();
        assertThat(errors).hasSize(1);
        return errors.get(0);
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void aFifoIsRefusedWithoutWaitingForAWriter() throws Exception {
        Path fifo = dir.resolve("tandem.yaml");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertThat(mkfifo.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(mkfifo.exitValue()).isZero();

        ConfigResult result = assertTimeoutPreemptively(QUICKLY, () -> ConfigLoader.load(fifo));

        assertThat(onlyError(result)).isEqualTo(new ConfigError(fifo.toString(), "a FIFO (named pipe)",
                "a regular file"));
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void devZeroIsRefusedWithoutReadingIt() {
        ConfigResult result = assertTimeoutPreemptively(QUICKLY, () -> ConfigLoader.load(Path.of("/dev/zero")));

        assertThat(onlyError(result)).isEqualTo(new ConfigError("/dev/zero", "a character device", "a regular file"));
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void devUrandomIsRefusedWithoutReadingIt() {
        ConfigResult result = assertTimeoutPreemptively(QUICKLY, () -> ConfigLoader.load(Path.of("/dev/urandom")));

        assertThat(onlyError(result).value()).isEqualTo("a character device");
    }

    @Test
    void aDirectoryIsRefused() {
        assertThat(onlyError(ConfigLoader.load(dir))).isEqualTo(new ConfigError(dir.toString(), "a directory",
                "a regular file"));
    }

    @Test
    void aSymlinkToADirectoryIsRefusedAsADirectory() throws IOException {
        Path link = Files.createSymbolicLink(dir.resolve("tandem.yaml"), dir);

        assertThat(onlyError(ConfigLoader.load(link)).value()).isEqualTo("a directory");
    }

    /** A Kubernetes ConfigMap volume: tandem.yaml -> ..data/tandem.yaml, ..data -> ..2026_12_07/. */
    @Test
    void aConfigMapStyleChainOfSymlinksToARegularFileIsRead() throws IOException {
        Path version = Files.createDirectory(dir.resolve("..2026_12_07_07_00_00.123"));
        Files.writeString(version.resolve("tandem.yaml"), VALID);
        Files.createSymbolicLink(dir.resolve("..data"), version.getFileName());
        Path config = Files.createSymbolicLink(dir.resolve("tandem.yaml"), Path.of("..data/tandem.yaml"));

        assertThat(ConfigLoader.load(config)).isInstanceOf(ConfigResult.Valid.class);
    }

    @Test
    void aFileOverTheCapIsRefusedBeforeReadingNamingItsSizeAndTheCap() throws IOException {
        Path big = dir.resolve("tandem.yaml");
        try (RandomAccessFile f = new RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(1_610_612_736L); // 1.5 GiB, sparse: costs no disk, but reading it would cost the heap
        }

        ConfigResult result = assertTimeoutPreemptively(QUICKLY, () -> ConfigLoader.load(big));

        assertThat(onlyError(result).toString()).isEqualTo(big + ": 1610612736 bytes (expected at most 4194304 bytes;"
                + " raise it with --max-config-size)");
    }

    @Test
    void theCapCanBeRaisedAndLowered() throws IOException {
        Path file = dir.resolve("tandem.yaml");
        // 5 MiB: a valid config padded with comment lines (each well under the line limit).
        String padding = ("# " + "x".repeat(1000) + "\n").repeat(5 * 1024);
        Files.writeString(file, VALID + padding);

        assertThat(onlyError(ConfigLoader.load(file)).value()).isEqualTo(Files.size(file) + " bytes");
        assertThat(ConfigLoader.load(file, 8L << 20)).isInstanceOf(ConfigResult.Valid.class);
        assertThat(onlyError(ConfigLoader.load(file, 1024)).expected())
                .isEqualTo("at most 1024 bytes; raise it with --max-config-size");
    }

    @Test
    void aCapOutsideItsRangeIsAProgrammingError() {
        Path file = dir.resolve("tandem.yaml");
        assertThatThrownBy(() -> ConfigLoader.load(file, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxBytes: 0 (expected 1..1073741824)");
        assertThatThrownBy(() -> ConfigLoader.load(file, (1L << 30) + 1)).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * A file that yields more bytes than its size said is cut at the cap while reading: procfs
     * files report size 0 and then return content, like a file that grew between stat and read.
     */
    @Test
    @EnabledOnOs(OS.LINUX)
    void aFileThatYieldsMoreThanItsSizeIsCutAtTheCapWhileReading() throws IOException {
        Path maps = Path.of("/proc/self/maps");
        assertThat(Files.size(maps)).isZero();

        ConfigError e = onlyError(ConfigLoader.load(maps, 100));

        assertThat(e).isEqualTo(new ConfigError("/proc/self/maps", "more than 100 bytes (it grew while being read)",
                "at most 100 bytes; raise it with --max-config-size"));
    }

    @Test
    void parseRefusesTextOverTheDefaultCap() {
        String text = VALID + ("#\n").repeat(2 * 1024 * 1024 + 1);

        assertThat(onlyError(ConfigLoader.parse(text, "t.yaml"))).isEqualTo(new ConfigError("t.yaml",
                text.length() + " characters", "at most 4194304 characters"));
    }

    @Test
    void notUtf8IsOneError() throws IOException {
        Path file = dir.resolve("tandem.yaml");
        Files.write(file, new byte[] {'v', 'i', 'p', 's', ':', ' ', (byte) 0xff, '\n'});

        assertThat(onlyError(ConfigLoader.load(file))).isEqualTo(new ConfigError(file.toString(), "not UTF-8 text",
                "a readable YAML file"));
    }
}
