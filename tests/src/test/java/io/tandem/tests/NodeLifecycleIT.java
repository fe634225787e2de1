package io.tandem.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real node process from the packaged jar: it proxies, drains on SIGTERM, and a SIGKILL loses
 * only what was in flight (a restart serves again at once).
 */
class NodeLifecycleIT {
    @TempDir
    Path dir;

    EchoServer b1;
    EchoServer b2;

    @BeforeEach
    void backends() throws IOException {
        b1 = new EchoServer();
        b2 = new EchoServer();
    }

    @AfterEach
    void stopBackends() throws IOException {
        b1.close();
        b2.close();
    }

    private Path config(int vipPort, int adminPort, String drain) throws IOException {
        Path file = dir.resolve("tandem.yaml");
        Files.writeString(file, """
                runtime:
                  drain_timeout: %s
                admin:
                  listen: 127.0.0.1:%d
                vips:
                  - name: echo
                    listen: 127.0.0.1:%d
                    policy: round-robin
                    backends:
                      - %s
                      - %s
                """.formatted(drain, adminPort, vipPort, b1.address(), b2.address()));
        return file;
    }

    @Test
    void nodeFromConfigFileProxiesEveryConnectionAcrossBothBackends() throws Exception {
        int vip = Net.freePort();
        try (TandemProcess node = TandemProcess.start("run", "--config", config(vip, Net.freePort(), "5s").toString())) {
            node.awaitLine("node started", Duration.ofSeconds(30));
            for (int i = 0; i < 200; i++) {
                assertThat(Net.echoOnce(vip, "ping-" + i + "\n")).isEqualTo("ping-" + i + "\n");
            }
            assertThat(b1.accepted.get()).isEqualTo(100);
            assertThat(b2.accepted.get()).isEqualTo(100);
        }
    }

    @Test
    void sigtermStopsAcceptingButLetsOpenConnectionsFinishThenExits() throws Exception {
        int vip = Net.freePort();
        try (TandemProcess node = TandemProcess.start("run", "--config", config(vip, Net.freePort(), "30s").toString())) {
            node.awaitLine("node started", Duration.ofSeconds(30));
            try (Socket open = Net.connect(vip)) {
                assertThat(Net.echo(open, "before\n")).isEqualTo("before\n");
                node.signal("TERM");
                node.awaitLine("shutdown started", Duration.ofSeconds(10));
                await().atMost(Duration.ofSeconds(10)).until(() -> !Net.accepts(vip));
                // The connection accepted before SIGTERM still works while the node drains.
                assertThat(Net.echo(open, "during drain\n")).isEqualTo("during drain\n");
            }
            // Its last connection closed: the node exits long before the 30 s drain deadline.
            assertThat(node.waitForExit(Duration.ofSeconds(15))).as("exited after drain").isTrue();
            assertThat(node.output()).contains("shutdown complete").contains("closed_at_deadline=0");
        }
    }

    @Test
    void sigtermClosesConnectionsStillOpenAtTheDrainDeadline() throws Exception {
        int vip = Net.freePort();
        try (TandemProcess node = TandemProcess.start("run", "--config", config(vip, Net.freePort(), "1s").toString())) {
            node.awaitLine("node started", Duration.ofSeconds(30));
            try (Socket open = Net.connect(vip)) {
                assertThat(Net.echo(open, "x\n")).isEqualTo("x\n");
                node.signal("TERM");
                assertThat(node.waitForExit(Duration.ofSeconds(15))).isTrue();
                open.setSoTimeout(5000);
                // Closed by the node at the deadline: EOF or reset, never a hang.
                try {
                    assertThat(Net.readEof(open)).isEqualTo(-1);
                } catch (IOException reset) {
                    assertThat(reset).hasMessageContaining("reset");
                }
            }
            assertThat(node.output()).contains("closed_at_deadline=1");
        }
    }

    @Test
    void afterSigkillTheConnectionIsLostAndARestartedNodeServesAtOnce() throws Exception {
        int vip = Net.freePort();
        Path cfg = config(vip, Net.freePort(), "5s");
        try (TandemProcess node = TandemProcess.start("run", "--config", cfg.toString())) {
            node.awaitLine("node started", Duration.ofSeconds(30));
            try (Socket open = Net.connect(vip)) {
                assertThat(Net.echo(open, "x\n")).isEqualTo("x\n");
                node.signal("KILL");
                assertThat(node.waitForExit(Duration.ofSeconds(10))).isTrue();
                assertThatThrownBy(() -> {
                    Net.echo(open, "after kill\n");
                    Net.echo(open, "after kill\n");
                }).isInstanceOf(IOException.class);
            }
        }
        try (TandemProcess again = TandemProcess.start("run", "--config", cfg.toString())) {
            again.awaitLine("node started", Duration.ofSeconds(30));
            assertThat(Net.echoOnce(vip, "back\n")).isEqualTo("back\n");
        }
    }
}
