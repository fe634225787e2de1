package io.tandem.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * {@code tandem demo}, the README's first command, as a new user would try it: answers rotate
 * over three backends, a backend crash costs no request, and {@code tandem status} shows it.
 */
class DemoIT {

    private static int freeOffset() {
        for (int attempt = 0; attempt < 50; attempt++) {
            int offset = 1000 + ThreadLocalRandom.current().nextInt(40) * 1000 + ThreadLocalRandom.current().nextInt(500);
            boolean free = IntStream.of(8080, 7000, 9090, 18081, 18082, 18083, 17001, 17002)
                    .allMatch(p -> Net.isFree(p + offset));
            if (free) {
                return offset;
            }
        }
        throw new IllegalStateException("no free port offset for the demo");
    }

    @Test
    void demoRotatesOverItsBackendsSurvivesABackendCrashAndShowsStatus() throws Exception {
        int offset = freeOffset();
        int web = 8080 + offset;
        try (TandemProcess demo = TandemProcess.start("demo", "--port-offset", Integer.toString(offset),
                "--for", "120s")) {
            demo.awaitLine("Tandem demo is running", Duration.ofSeconds(60));
            assertThat(demo.output()).contains("curl -s http://127.0.0.1:" + web + "/");

            Set<String> seen = new HashSet<>();
            try {
                for (int i = 0; i < 9; i++) {
                    seen.add(get(web, "/").lines().findFirst().orElseThrow());
                }
            } catch (Exception e) {
                throw new AssertionError("demo request failed: " + e + "; demo output:\n" + demo.output(), e);
            }
            assertThat(seen).hasSize(3);

            String crash = get(web, "/crash");
            assertThat(crash).contains("going down");
            int crashed = 18080 + offset + Integer.parseInt(crash.replaceAll("(?s)^backend-(\\d+).*", "$1"));
            for (int i = 0; i < 30; i++) {
                assertThat(get(web, "/")).startsWith("hello from backend-");
            }

            // The web VIP has an HTTP check: the crashed backend shows as down.
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                TandemProcess.Result status = TandemProcess.run(Duration.ofSeconds(60), "status", "--admin",
                        "127.0.0.1:" + (9090 + offset));
                assertThat(status.exitCode()).as(status.output()).isZero();
                assertThat(status.output()).contains("web").contains("echo").contains("127.0.0.1:" + (18081 + offset));
                assertThat(status.output().lines().filter(l -> l.contains("127.0.0.1:" + crashed)).findFirst())
                        .as(status.output()).hasValueSatisfying(l -> assertThat(l).contains("down"));
            });

            assertThat(Net.echoOnce(7000 + offset, "through the echo VIP\n")).isEqualTo("through the echo VIP\n");
            assertThat(demo.output()).as("hints need no tool the machine may lack").doesNotContain(" nc ");

            // Ctrl-C: the demo's temporary folder goes with it.
            Path config = Path.of(demo.output().replaceAll("(?s).*config (\\S+tandem\\.yaml).*", "$1"));
            assertThat(config).exists();
            demo.signal("INT");
            assertThat(demo.waitForExit(Duration.ofSeconds(30))).isTrue();
            assertThat(config.getParent()).doesNotExist();
        }
    }

    /** Like curl: a fresh client, so a fresh connection, per request. */
    private static String get(int port, String path) throws Exception {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            return r.body();
        }
    }
}
