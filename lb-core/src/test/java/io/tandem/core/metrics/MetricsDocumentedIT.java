package io.tandem.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.node.Node;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * A running node's {@code /metrics}, after the events that register the lazily created meters
 * (failing active checks, an ejection by passive detection, panic, a reload), lists only
 * documented families, and every Tandem family it shows is one {@link MetricsDocumentedTest}'s
 * source scan knows (so the scan, which also covers the HA meters no single node here can
 * register, misses nothing a node really exposes).
 */
class MetricsDocumentedIT {

    @Test
    void everyFamilyARunningNodeExposesIsDocumented() throws Exception {
        int tcp = freePort();
        int admin = freePort();
        String yaml = """
                runtime: {event_loops: 1}
                admin: {listen: 127.0.0.1:%d}
                vips:
                  - name: web
                    listen: 127.0.0.1:%d
                    health_check: {type: tcp, interval: 100ms, timeout: 50ms, fall: 1, rise: 1}
                    backends: [127.0.0.1:%d, 127.0.0.1:%d]
                  - name: dns
                    listen: 127.0.0.1:%d
                    protocol: udp
                    backends: [127.0.0.1:%d]
                """.formatted(admin, tcp, freePort(), freePort(), freePort(), freePort());
        ConfigResult r = ConfigLoader.parse(yaml, "metrics-documented");
        assertThat(r).isInstanceOf(ConfigResult.Valid.class);
        try (Node node = Node.start(Node.Options.fixed("metrics-documented", ((ConfigResult.Valid) r).config()));
             HttpClient http = HttpClient.newHttpClient()) {
            node.control().reload().join();
            // Traffic to dead backends: connect failures are passive signals.
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                try (Socket s = new Socket("127.0.0.1", tcp)) {
                    s.setSoTimeout(2_000);
                    s.getOutputStream().write('x');
                    s.getInputStream().read();
                } catch (IOException expected) {
                    // refused or reset: the node has no backend to give us
                }
                String body = scrape(http, admin);
                assertThat(body).contains("tandem_health_detection_seconds_count", "tandem_passive_signals_total",
                        "tandem_vip_panic_entered_total", "tandem_reloads_total", "tandem_udp_sessions_active");
            });
            Set<String> families = PrometheusTextTest.names(scrape(http, admin));
            Set<String> doc = MetricsDocumentedTest.documented();
            assertThat(families).allSatisfy(f -> assertThat(MetricsDocumentedTest.familyDocumented(f, doc))
                    .as("%s in %s", f, MetricsDocumentedTest.DOC).isTrue());

            Set<String> scanned = new TreeSet<>();
            MetricsDocumentedTest.namesInSources().forEach(n -> scanned.add(n.replace('.', '_')));
            assertThat(families.stream().filter(f -> f.startsWith("tandem_")).toList()).allSatisfy(f ->
                    assertThat(scanned.contains(f) || scanned.contains(strip(f))).as(f + " found by the source scan")
                            .isTrue());
        }
    }

    private static String strip(String family) {
        for (String suffix : new String[] {"_total", "_seconds_max", "_seconds", "_max"}) {
            if (family.endsWith(suffix)) {
                return family.substring(0, family.length() - suffix.length());
            }
        }
        return family;
    }

    private static String scrape(HttpClient http, int admin) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static int freePort() throws IOException {
        try (var s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
