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
    void statusExplainsWhenNoNodeIsRunning() throws Exception {
        int port = Net.freePort();
        TandemProcess.Result r = TandemProcess.run(LIMIT, "status", "--admin", "127.0.0.1:" + port);
        assertThat(r.exitCode()).as(r.output()).isEqualTo(3);
        assertThat(r.output()).contains("127.0.0.1:" + port);
    }

}
