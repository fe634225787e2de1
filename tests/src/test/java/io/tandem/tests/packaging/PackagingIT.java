package io.tandem.tests.packaging;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What ships: the systemd unit as systemd reads it, and the jar's contents. */
class PackagingIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    Path dir;

    /**
     * {@code systemd-analyze verify} on packaging/tandem.service, with the launcher path pointed at
     * this checkout's (verify checks that every command exists). Any complaint fails the test:
     * verify exits 0 on an unknown key, so its output must be empty too.
     */
    @Test
    void theSystemdUnitPassesSystemdAnalyzeVerify() throws Exception {
        Path analyze = Path.of("/usr/bin/systemd-analyze");
        assumeTrue(Files.isExecutable(analyze), "systemd-analyze missing (Debian package systemd; .ci/run installs it)");
        String unit = Files.readString(ROOT.resolve("packaging/tandem.service"), UTF_8);
        assertThat(unit).contains("ExecReload=/bin/kill -HUP $MAINPID", "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW",
                "LimitNOFILE=", "Restart=on-failure", "SuccessExitStatus=143");
        Path copy = dir.resolve("tandem.service");
        Files.writeString(copy, unit.replace("/opt/tandem/tandem ", ROOT.resolve("tandem") + " "), UTF_8);
        Process p = new ProcessBuilder(analyze.toString(), "verify", copy.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).as("systemd-analyze verify output").isBlank();
    }

    /** The jar carries native code for the platform Tandem runs on only (Linux, epoll). */
    @Test
    void theJarCarriesNoNativeLibraryForAnotherPlatformAndNoOpenSsl() throws IOException {
        Path jar = Path.of(System.getProperty("tandem.jar", "../lb-core/target/tandem.jar")).toAbsolutePath();
        List<String> natives = new ArrayList<>();
        try (JarFile j = new JarFile(jar.toFile())) {
            j.stream().map(e -> e.getName())
                    .filter(n -> n.endsWith(".so") || n.endsWith(".jnilib") || n.endsWith(".dll") || n.contains("tcnative"))
                    .forEach(natives::add);
        }
        assertThat(natives).as("native files in %s", jar).isNotEmpty()
                .allMatch(n -> n.startsWith("META-INF/native/libnetty_transport_native_epoll_"), "Netty's epoll library");
        // 29.6 MB with ZooKeeper's OpenSSL for five platforms, 23.5 MB without (2026-12-07).
        assertThat(Files.size(jar)).as("jar size").isLessThan(25L * 1024 * 1024);
    }
}
