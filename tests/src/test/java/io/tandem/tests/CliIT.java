package io.tandem.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code tandem} command as an operator runs it: exit codes and what it prints. */
class CliIT {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void validatePrintsASummaryAndExitsZeroForAGoodFile() throws Exception {
        Path f = dir.resolve("ok.yaml");
        Files.writeString(f, """
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001, 127.0.0.1:9002]
                """);
        TandemProcess.Result r = TandemProcess.run(LIMIT, "validate", "--config", f.toString());
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("valid").contains("web");
    }

    @Test
    void validatePrintsEveryErrorWithItsPathAndExitsOne() throws Exception {
        Path f = dir.resolve("bad.yaml");
        Files.writeString(f, """
                vips:
                  - name: web
                    listen: 127.0.0.1:70000
                    polcy: round-robin
                    backends: [127.0.0.1:9001]
                  - name: web
                    listen: 127.0.0.1:8081
                    backends: []
                """);
        TandemProcess.Result r = TandemProcess.run(LIMIT, "validate", "--config", f.toString());
        assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
        assertThat(r.output())
                .contains("vips[0].listen")
                .contains("70000")
                .contains("vips[0].polcy")
                .contains("did you mean \"policy\"")
                .contains("vips[1].name")
                .contains("vips[1].backends");
    }

    @Test
    void runRefusesAnInvalidFileWithoutBindingAnything() throws Exception {
        int port = Net.freePort();
        Path f = dir.resolve("bad.yaml");
        Files.writeString(f, """
                vips:
                  - name: web
                    listen: 127.0.0.1:%d
                    backends: [127.0.0.1:0]
                """.formatted(port));
        TandemProcess.Result r = TandemProcess.run(LIMIT, "run", "--config", f.toString());
        assertThat(r.exitCode()).as(r.output()).isEqualTo(1);
        assertThat(r.output()).contains("vips[0].backends[0]");
        assertThat(Net.isFree(port)).isTrue();
    }

    @Test
    void runExitsThreeNamingTheVipWhenItsPortIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            Path f = dir.resolve("taken.yaml");
            Files.writeString(f, """
                    admin:
                      enabled: false
                    runtime:
                      transport: nio
                    vips:
                      - name: web
                        listen: 127.0.0.1:%d
                        backends: [127.0.0.1:9001]
                    """.formatted(taken.getLocalPort()));
            TandemProcess.Result r = TandemProcess.run(LIMIT, "run", "--config", f.toString());
            assertThat(r.exitCode()).as(r.output()).isEqualTo(3);
            assertThat(r.output()).contains("vips[web].listen").contains(Integer.toString(taken.getLocalPort()));
        }
    }

    @Test
    void quickModeProxiesWithoutAConfigFile() throws Exception {
        try (EchoServer backend = new EchoServer()) {
            int vip = Net.freePort();
            try (TandemProcess node = TandemProcess.start("run", "--listen", "127.0.0.1:" + vip,
                    "--backend", backend.address(), "--backend", "127.0.0.1:" + Net.freePort(), "--admin", "off")) {
                node.awaitLine("node started", Duration.ofSeconds(30));
                // The second backend is a dead port: every connection still succeeds (retry elsewhere).
                for (int i = 0; i < 50; i++) {
                    assertThat(Net.echoOnce(vip, "q" + i)).isEqualTo("q" + i);
                }
            }
        }
    }

    @Test
    void quickModeRejectsABadBackendWithAUsageError() throws Exception {
        TandemProcess.Result r = TandemProcess.run(LIMIT, "run", "--listen", "127.0.0.1:1", "--backend", "nope");
        assertThat(r.exitCode()).as(r.output()).isEqualTo(2);
        assertThat(r.output()).contains("--backend").contains("nope");
    }

    @Test
    void versionNamesTheBuildsRevision() throws Exception {
        TandemProcess.Result r = TandemProcess.run(LIMIT, "--version");
        assertThat(r.exitCode()).as(r.output()).isZero();
        // The git revision baked in at build time (12 hex digits, -dirty for a modified tree),
        // or "unknown" for a build outside git: never a bare "dev".
        assertThat(r.output()).containsPattern("tandem \\S+ \\(revision ([0-9a-f]{7,40}(-dirty)?|unknown), Java ");
    }

    @Test
    void everySubcommandAnswersHelp() throws Exception {
        for (String sub : new String[] {"run", "validate", "status", "doctor", "demo"}) {
            TandemProcess.Result r = TandemProcess.run(LIMIT, sub, "--help");
            assertThat(r.exitCode()).as(sub + ": " + r.output()).isZero();
            assertThat(r.output()).as(sub).contains("Usage: tandem " + sub).doesNotContain("Unknown option");
        }
    }

    @Test
    void validateTakesTheFileAsAnArgument() throws Exception {
        Path f = dir.resolve("ok.yaml");
        Files.writeString(f, "vips:\n  - name: web\n    listen: 127.0.0.1:8080\n    backends: [127.0.0.1:9001]\n");
        TandemProcess.Result r = TandemProcess.run(LIMIT, "validate", f.toString());
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains(f + ": valid");
        TandemProcess.Result none = TandemProcess.run(LIMIT, "validate");
        assertThat(none.exitCode()).as(none.output()).isEqualTo(2);
        assertThat(none.output()).contains("which file?");
        TandemProcess.Result both = TandemProcess.run(LIMIT, "validate", f.toString(), "-c", dir.resolve("x.yaml").toString());
        assertThat(both.exitCode()).as(both.output()).isEqualTo(2);
    }

    @Test
    void statusFindsTheAdminAddressAndTokenInTheConfig() throws Exception {
        try (EchoServer backend = new EchoServer()) {
            int admin = Net.freePort();
            Path f = dir.resolve("node.yaml");
            Files.writeString(f, """
                    admin: {listen: 0.0.0.0:%d, token: "status-from-config-token"}
                    vips:
                      - name: web
                        listen: 127.0.0.1:%d
                        backends: [%s]
                    """.formatted(admin, Net.freePort(), backend.address()));
            try (TandemProcess node = TandemProcess.start("run", "--config", f.toString())) {
                node.awaitLine("node started", Duration.ofSeconds(30));
                TandemProcess.Result r = TandemProcess.run(LIMIT, "status", "-c", f.toString());
                assertThat(r.exitCode()).as(r.output()).isZero();
                assertThat(r.output()).contains("web").contains(backend.address());
                // The token matters: without it the wildcard-bound API refuses.
                TandemProcess.Result refused = TandemProcess.run(LIMIT, "status", "--admin", "127.0.0.1:" + admin);
                assertThat(refused.exitCode()).as(refused.output()).isEqualTo(3);
            }
        }
    }

    @Test
    void statusExplainsWhenNoNodeIsRunning() throws Exception {
        int port = Net.freePort();
        TandemProcess.Result r = TandemProcess.run(LIMIT, "status", "--admin", "127.0.0.1:" + port);
        assertThat(r.exitCode()).as(r.output()).isEqualTo(3);
        assertThat(r.output()).contains("127.0.0.1:" + port);
    }

}
