package io.tandem.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reload on a real process, by every trigger (SIGHUP, file change, admin API): a bad file is
 * rejected whole and the node keeps serving; a good one is applied in place; listeners are added
 * and removed by diff, and connections open across a reload are never cut.
 */
class ReloadIT {
    @TempDir
    Path dir;

    private static String vip(String name, int port, EchoServer... backends) {
        StringBuilder b = new StringBuilder("""
                  - name: %s
                    listen: 127.0.0.1:%d
                    backends:
                """.formatted(name, port));
        for (EchoServer e : backends) {
            b.append("      - ").append(e.address()).append('\n');
        }
        return b.toString();
    }

    private static String config(int admin, String... vips) {
        return "admin:\n  listen: 127.0.0.1:" + admin + "\nvips:\n" + String.join("", vips);
    }

    @Test
    void sighupWithABadFileKeepsServingThenAGoodFileAddsAndRemovesVipsWithoutCuttingConnections()
            throws Exception {
        try (EchoServer a = new EchoServer(); EchoServer b = new EchoServer()) {
            int vipA = Net.freePort();
            int vipB = Net.freePort();
            int admin = Net.freePort();
            Path file = dir.resolve("tandem.yaml");
            Files.writeString(file, config(admin, vip("a", vipA, a)));
            try (TandemProcess node = TandemProcess.start("run", "--no-watch", "--config", file.toString())) {
                node.awaitLine("node started", Duration.ofSeconds(30));
                try (Socket open = Net.connect(vipA)) {
                    assertThat(Net.echo(open, "1")).isEqualTo("1");

                    Files.writeString(file, "vips:\n  - name: a\n    listen: 127.0.0.1:99999\n");
                    node.signal("HUP");
                    node.awaitLine("reload rejected", Duration.ofSeconds(10));
                    assertThat(Net.echoOnce(vipA, "still")).isEqualTo("still");

                    // VIP a removed, VIP b added: a's listener closes, its open connection lives on.
                    Files.writeString(file, config(admin, vip("b", vipB, b)));
                    node.signal("HUP");
                    await().atMost(Duration.ofSeconds(10)).until(() -> Net.accepts(vipB));
                    assertThat(Net.echoOnce(vipB, "b")).isEqualTo("b");
                    await().atMost(Duration.ofSeconds(10)).until(() -> !Net.accepts(vipA));
                    assertThat(Net.echo(open, "2")).isEqualTo("2");
                }
            }
        }
    }

    @Test
    void savingTheFileReloadsItAndTheAdminApiReloadReportsErrors() throws Exception {
        try (EchoServer a = new EchoServer(); EchoServer b = new EchoServer()) {
            int vipA = Net.freePort();
            int admin = Net.freePort();
            Path file = dir.resolve("tandem.yaml");
            Files.writeString(file, config(admin, vip("a", vipA, a)));
            try (TandemProcess node = TandemProcess.start("run", "--config", file.toString())) {
                node.awaitLine("node started", Duration.ofSeconds(30));
                Net.echoOnce(vipA, "x");
                assertThat(a.accepted.get()).isEqualTo(1);

                // Swap the backend by editing the file: new connections go to b.
                Files.writeString(file, config(admin, vip("a", vipA, b)));
                await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                    Net.echoOnce(vipA, "y");
                    assertThat(b.accepted.get()).isPositive();
                });
                assertThat(node.output()).contains("msg=\"reload requested\" by=file-change");

                // The admin API reload of a broken file answers 422 with the errors, serving goes on.
                Files.writeString(file, config(admin, vip("a", vipA, b)).replace("listen: 127.0.0.1:" + vipA,
                        "listen: nowhere"));
                HttpResponse<String> resp = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + admin + "/api/reload"))
                        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(resp.statusCode()).isEqualTo(422);
                assertThat(resp.body()).contains("vips[0].listen");
                assertThat(Net.echoOnce(vipA, "z")).isEqualTo("z");
            }
        }
    }
}
