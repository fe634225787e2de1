package io.tandem.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's AOT cache for short-lived commands ({@code ./tandem status|validate|...}): the
 * first command trains it in the background, the next ones start from it (the JVM's class-load
 * log says "shared objects file"), and nothing about it can break the CLI: a rebuilt jar never
 * runs from the old cache (the JVM would not notice: the launcher keys the file to the jar), a
 * damaged cache and an unwritable folder only mean no cache. Output is the same in every case.
 * No timing assertion here (a shared, noisy machine); the numbers are in docs/cli.md.
 */
class CliStartupCacheIT {
    private static final Path LAUNCHER = Path.of("..", "tandem").toAbsolutePath().normalize();
    private static final Duration TRAINING = Duration.ofSeconds(240);

    @TempDir
    Path dir;
    private Path jar;
    private Path config;

    @BeforeEach
    void copyJar() throws IOException {
        jar = Files.copy(TandemProcess.jar(), dir.resolve("tandem.jar"));
        config = dir.resolve("ok.yaml");
        Files.writeString(config, """
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001, 127.0.0.1:9002]
                """);
    }

    @Test
    void theFirstShortCommandTrainsACacheTheNextOnesUseAndARebuiltJarOrADamagedCacheChangesNothing()
            throws Exception {
        Path cache = dir.resolve("cache");
        Map<String, String> env = Map.of("TANDEM_CACHE_DIR", cache.toString());

        Run first = tandem(env, "validate", "--config", config.toString());
        assertThat(first.code()).as(first.output()).isZero();
        assertThat(first.output()).contains("valid").contains("web");
        Path trained = awaitCache(cache, null);

        // Used: the CLI's classes come from the cache.
        Run logged = tandem(with(env, "TANDEM_JAVA_OPTS", "-Xlog:class+load"), "validate", "--config",
                config.toString());
        assertThat(logged.code()).as(logged.output()).isZero();
        assertThat(logged.output()).contains("io.tandem.core.cli.TandemMain source: shared objects file");
        Run cached = tandem(env, "validate", "--config", config.toString());
        assertThat(cached).isEqualTo(first);

        // A damaged cache (same name): the JVM refuses it, silently; same output.
        Files.write(trained, "not an AOT cache".getBytes(StandardCharsets.US_ASCII));
        assertThat(tandem(env, "validate", "--config", config.toString())).isEqualTo(first);

        // A rebuilt jar (here: a new mtime): never started from the old cache; a new one is trained
        // and replaces it.
        Files.setLastModifiedTime(jar, FileTime.from(Instant.now().plusSeconds(5)));
        Run rebuilt = tandem(with(env, "TANDEM_JAVA_OPTS", "-Xlog:class+load"), "validate", "--config",
                config.toString());
        assertThat(rebuilt.code()).as(rebuilt.output()).isZero();
        assertThat(rebuilt.output()).contains("io.tandem.core.cli.TandemMain source: file:")
                .doesNotContain("io.tandem.core.cli.TandemMain source: shared objects file");
        Path retrained = awaitCache(cache, trained);
        assertThat(retrained).isNotEqualTo(trained);
        assertThat(trained).doesNotExist();
        assertThat(tandem(env, "validate", "--config", config.toString())).isEqualTo(first);
    }

    @Test
    void anUnwritableCacheFolderMeansNoCacheAndTheSameOutput() throws Exception {
        Path notADir = Files.writeString(dir.resolve("a-file"), "x");
        Map<String, String> env = Map.of("TANDEM_CACHE_DIR", notADir.resolve("cache").toString());
        Run plain = tandem(Map.of("TANDEM_CLI_CACHE", "0"), "validate", "--config", config.toString());
        assertThat(plain.code()).as(plain.output()).isZero();
        for (int i = 0; i < 2; i++) {
            assertThat(tandem(env, "validate", "--config", config.toString())).isEqualTo(plain);
        }
        assertThat(Files.readString(notADir)).isEqualTo("x");
    }

    @Test
    void statusStartsNoLoggingFrameworkAndNoNetty() throws Exception {
        // AdminClient once initialized AdminRouter for a timeout constant: logback (~430 classes)
        // started in every `tandem status`.
        Run r = tandem(Map.of("TANDEM_CLI_CACHE", "0", "TANDEM_JAVA_OPTS", "-Xlog:class+load"), "status", "--admin",
                "127.0.0.1:" + Net.freePort());
        assertThat(r.code()).as(r.output()).isEqualTo(3);
        assertThat(r.output()).contains("io.tandem.core.cli.StatusCommand source:")
                .doesNotContain("ch.qos.logback").doesNotContain("io.netty");
    }

    /** Waits for the one trained cache file (other than {@code old}) with no training left in progress. */
    private static Path awaitCache(Path cache, Path old) {
        return await("the AOT cache trained").atMost(TRAINING).pollInterval(Duration.ofMillis(500))
                .until(() -> {
                    if (!Files.isDirectory(cache)) {
                        return null;
                    }
                    try (Stream<Path> files = Files.list(cache)) {
                        List<Path> all = files.toList();
                        List<Path> aot = all.stream().filter(p -> p.getFileName().toString().endsWith(".aot"))
                                .filter(p -> !p.equals(old)).toList();
                        boolean busy = all.stream().anyMatch(p -> p.getFileName().toString().endsWith(".lock"));
                        return aot.size() == 1 && !busy ? aot.getFirst() : null;
                    }
                }, p -> p != null);
    }

    private static Map<String, String> with(Map<String, String> env, String key, String value) {
        var m = new java.util.HashMap<>(env);
        m.put(key, value);
        return m;
    }

    record Run(int code, String output) {
    }

    /** {@code ./tandem ARGS...} with the test's jar copy (TANDEM_JAR: no build), to completion. */
    private Run tandem(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("TANDEM_JAVA_OPTS");
        pb.environment().put("TANDEM_JAR", jar.toString());
        pb.environment().put("JAVA_HOME", Path.of(TandemProcess.java()).getParent().getParent().toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("tandem " + String.join(" ", args) + " did not finish");
        }
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }
}
