package io.tandem.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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

            assertThat(get(web, "/crash")).contains("going down");
            for (int i = 0; i < 30; i++) {
                assertThat(get(web, "/")).startsWith("hello from backend-");
            }

            TandemProcess.Result status = TandemProcess.run(Duration.ofSeconds(60), "status", "--admin",
                    "127.0.0.1:" + (9090 + offset));
            assertThat(status.exitCode()).as(status.output()).isZero();
            assertThat(status.output()).contains("web").contains("echo").contains("127.0.0.1:" + (18081 + offset));

            assertThat(Net.echoOnce(7000 + offset, "through the echo VIP\n")).isEqualTo("through the echo VIP\n");
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
