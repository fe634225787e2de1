package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.control.GrayBackend.Behaviour;
import io.tandem.core.node.Node;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Latency outlier ejection ({@code outlier_detection.latency}) through a real node: one of three
 * backends answers 300 ms late and is ejected with a reason that says so; without the latency
 * section nothing looks at latency; the maximum ejected fraction holds.
 */
class LatencyEjectionIT {

    private static Node start(String yaml) throws Exception {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        return Node.start(Node.Options.fixed("t", ((ConfigResult.Valid) r).config()));
    }

    private static String config(int vip, String outlier, GrayBackend... backends) {
        StringBuilder list = new StringBuilder();
        for (GrayBackend b : backends) {
            list.append(list.isEmpty() ? "" : ", ").append(b.address());
        }
        return """
                admin: {enabled: false}
                vips:
                  - name: a
                    listen: 127.0.0.1:%d
                    policy: round-robin
                    backends: [%s]
                    outlier_detection: {%s}
                """.formatted(vip, list, outlier);
    }

    private static void request(int vip) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), vip), 2000);
            s.setSoTimeout(3000);
            s.getOutputStream().write("ping\n".getBytes());
            s.getInputStream().readNBytes(5);
        } catch (IOException e) {
            // counted by nobody: the test looks at the node's view
        }
    }

    /** Eight clients sending requests one after another until closed. */
    private static AutoCloseable load(int vip) {
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        for (int i = 0; i < 8; i++) {
            pool.submit(() -> {
                while (!stop.get()) {
                    request(vip);
                }
            });
        }
        return () -> {
            stop.set(true);
            pool.shutdown();
            pool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        };
    }

    private static NodeView.BackendView view(Node n, GrayBackend b) {
        return n.control().view().vip("a").orElseThrow().backends().stream()
                .filter(v -> v.address().endsWith(":" + b.port())).findFirst().orElseThrow();
    }

    private static Set<HealthFlag> flags(Node n, GrayBackend b) {
        return view(n, b).flags();
    }

    @Test
    void aBackend300MsSlowerThanTheOtherTwoIsEjectedAsSlow() throws Exception {
        try (GrayBackend a = new GrayBackend(Behaviour.ECHO); GrayBackend slow = new GrayBackend(Behaviour.SLOW_ECHO, 300);
             GrayBackend c = new GrayBackend(Behaviour.ECHO)) {
            int vip = ReloadOffLoopIT.freePort();
            try (Node n = start(config(vip, "base_ejection_time: 30s, latency: {interval: 1s, min_samples: 3}", a, slow, c));
                 AutoCloseable l = load(vip)) {
                await("the slow backend is ejected").atMost(Duration.ofSeconds(15))
                        .until(() -> flags(n, slow).contains(HealthFlag.EJECTED_PASSIVE));
                assertThat(view(n, slow).recentTransitions().getLast().reason())
                        .matches("slow: mean latency 3\\d\\d\\.\\d ms over \\d+ connections, .*x the median of the "
                                + "others \\(.* ms\\); ejection #1 for 30000 ms");
                assertThat(flags(n, a)).isEmpty();
                assertThat(flags(n, c)).isEmpty();
            }
        }
    }

    @Test
    void withoutTheLatencySectionASlowBackendStaysInRotation() throws Exception {
        try (GrayBackend a = new GrayBackend(Behaviour.ECHO); GrayBackend slow = new GrayBackend(Behaviour.SLOW_ECHO, 300);
             GrayBackend c = new GrayBackend(Behaviour.ECHO)) {
            int vip = ReloadOffLoopIT.freePort();
            try (Node n = start(config(vip, "base_ejection_time: 30s", a, slow, c)); AutoCloseable l = load(vip)) {
                await().atMost(Duration.ofSeconds(15)).until(() -> slow.accepted.get() >= 20);
                assertThat(flags(n, slow)).isEmpty();
            }
        }
    }

    @Test
    void theMaximumEjectedFractionKeepsASecondSlowBackendInRotation() throws Exception {
        try (GrayBackend a = new GrayBackend(Behaviour.ECHO); GrayBackend s1 = new GrayBackend(Behaviour.SLOW_ECHO, 300);
             GrayBackend s2 = new GrayBackend(Behaviour.SLOW_ECHO, 600); GrayBackend c = new GrayBackend(Behaviour.ECHO);
             GrayBackend d = new GrayBackend(Behaviour.ECHO)) {
            int vip = ReloadOffLoopIT.freePort();
            // 5 backends at 20 %: one ejection at a time; the slowest goes first.
            try (Node n = start(config(vip, "base_ejection_time: 30s, max_ejection_percent: 20, "
                    + "latency: {interval: 1s, min_samples: 2}", a, s1, s2, c, d)); AutoCloseable l = load(vip)) {
                await("the slowest backend is ejected").atMost(Duration.ofSeconds(15))
                        .until(() -> flags(n, s2).contains(HealthFlag.EJECTED_PASSIVE));
                Thread.sleep(2500); // two more reviews (asserting an absence)
                assertThat(flags(n, s1)).doesNotContain(HealthFlag.EJECTED_PASSIVE);
            }
        }
    }
}
