package io.tandem.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run-time verbs as an operator runs them, against a real node process: {@code tandem backend
 * add|set-weight|remove} and {@code tandem connections} with {@code -c FILE} (address and token
 * from the file), a SIGHUP of a file that leaves the VIP's backends alone keeping the changes, and
 * one that changes them dropping each with a log line.
 */
class RuntimeVerbsIT {
    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final String TOKEN = "runtime-verbs-it-token-01234";

    @TempDir
    Path dir;

    private static String config(int admin, int web, String... backends) {
        return "admin: {listen: \"127.0.0.1:" + admin + "\", token: \"" + TOKEN + "\"}\n"
                + "vips:\n  - name: web\n    listen: 127.0.0.1:" + web + "\n    backends: [" + String.join(", ", backends)
                + "]\n";
    }

    @Test
    void verbsChangeARunningNodeAndAReloadKeepsOrDropsThemByTheRule() throws Exception {
        try (EchoServer a = new EchoServer(); EchoServer b = new EchoServer(); EchoServer c = new EchoServer()) {
            int admin = Net.freePort();
            int web = Net.freePort();
            Path file = dir.resolve("tandem.yaml");
            Files.writeString(file, config(admin, web, a.address()));
            String f = file.toString();
            try (TandemProcess node = TandemProcess.start("run", "--no-watch", "--config", f)) {
                node.awaitLine("node started", Duration.ofSeconds(30));

                TandemProcess.Result add = TandemProcess.run(LIMIT, "backend", "add", "web", b.address(), "--weight",
                        "2", "-c", f);
                assertThat(add.exitCode()).as(add.output()).isZero();
                assertThat(add.output()).contains("web " + b.address() + " weight 2").contains("origin runtime");

                TandemProcess.Result weight = TandemProcess.run(LIMIT, "backend", "set-weight", "web", a.address(), "0",
                        "-c", f);
                assertThat(weight.exitCode()).as(weight.output()).isZero();
                for (int i = 0; i < 4; i++) {
                    assertThat(Net.echoOnce(web, "w" + i)).isEqualTo("w" + i);
                }
                assertThat(b.accepted.get()).as("weight 0 on a: all to b").isEqualTo(4);

                TandemProcess.Result bad = TandemProcess.run(LIMIT, "backend", "set-weight", "web", a.address(),
                        "999", "-c", f);
                assertThat(bad.exitCode()).isEqualTo(2);
                assertThat(bad.output()).contains("answered 400: weight: 999 (expected 0..256)");

                try (Socket open = Net.connect(web)) {
                    assertThat(Net.echo(open, "held")).isEqualTo("held");
                    TandemProcess.Result list = TandemProcess.run(LIMIT, "connections", "web", "-c", f);
                    assertThat(list.exitCode()).as(list.output()).isZero();
                    assertThat(list.output()).contains(b.address()).contains("1 of 1 shown");
                }

                // SIGHUP of the same file: the VIP's backends are untouched, the run-time changes stay.
                long applied = node.countLines("msg=\"config applied\"");
                node.signal("HUP");
                await().atMost(Duration.ofSeconds(15))
                        .until(() -> node.countLines("msg=\"config applied\"") > applied);
                TandemProcess.Result status = TandemProcess.run(LIMIT, "status", "-c", f);
                assertThat(status.output()).contains(b.address()).containsPattern(
                        java.util.regex.Pattern.quote(a.address()) + "\\s+0\\*");

                // The file changes web's backends: every run-time change of web is dropped, each logged.
                Files.writeString(file, config(admin, web, a.address(), c.address()));
                node.signal("HUP");
                node.awaitLine("change=added", Duration.ofSeconds(15));
                assertThat(node.output()).contains("runtime change dropped").contains("change=weight")
                        .contains("the reload changed the VIP's backends");
                TandemProcess.Result after = TandemProcess.run(LIMIT, "status", "-c", f);
                assertThat(after.output()).doesNotContain(b.address()).contains(c.address())
                        .doesNotContain("0*");

                TandemProcess.Result remove = TandemProcess.run(LIMIT, "backend", "remove", "web", c.address(), "-c",
                        f);
                assertThat(remove.exitCode()).as(remove.output()).isZero();
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    int before = c.accepted.get();
                    Net.echoOnce(web, "z");
                    assertThat(c.accepted.get()).isEqualTo(before);
                });
            }
        }
    }
}
