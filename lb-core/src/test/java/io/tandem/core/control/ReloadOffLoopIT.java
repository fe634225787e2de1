package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.ControlLoopIT.Echo;
import io.tandem.core.control.NodeControl.BackendAction;
import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.node.Node;
import io.tandem.health.HealthFlag;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Reading, parsing and validating a config never runs on the control loop: a reload whose source
 * hangs (a pathological file takes tens of seconds to parse) delays no health verdict, no view and
 * no operator action; and whatever the source throws — an {@link OutOfMemoryError} too — is a
 * rejected reload with its reason, logged even when nobody waits for the answer (SIGHUP, the file
 * watcher), and counted.
 */
class ReloadOffLoopIT {
    private Echo b1;
    private Echo b2;
    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final Logger controlLog = (Logger) LoggerFactory.getLogger(ControlLoop.class);

    @BeforeEach
    void start() throws IOException {
        b1 = new Echo();
        b2 = new Echo();
        logs.start();
        controlLog.addAppender(logs);
    }

    @AfterEach
    void stop() throws IOException {
        controlLog.detachAppender(logs);
        b1.close();
        b2.close();
    }

    private TandemConfig config() throws IOException {
        ConfigResult r = ConfigLoader.parse("""
                admin: {enabled: false}
                runtime: {event_loops: 1}
                vips:
                  - name: a
                    listen: 127.0.0.1:%d
                    backends: [127.0.0.1:%d, 127.0.0.1:%d]
                    health_check: {type: tcp, interval: 100ms, fast_interval: 50ms, down_interval: 100ms,
                                   timeout: 200ms, rise: 1, fall: 1}
                """.formatted(freePort(), b1.port(), b2.port()), "test.yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config();
    }

    private static Node node(TandemConfig cfg, Supplier<ConfigResult> source) throws Node.StartException {
        return Node.start(new Node.Options("test", cfg, source, "test source", Optional.empty()));
    }

    private static NodeView.BackendView backend(Node n, Echo e) {
        String address = "127.0.0.1:" + e.port();
        return n.control().view().vip("a").orElseThrow().backends().stream()
                .filter(b -> b.address().equals(address)).findFirst().orElseThrow();
    }

    @Test
    void aReloadStuckInItsSourceDelaysNoHealthVerdictNoViewAndNoOperatorAction() throws Exception {
        TandemConfig cfg = config();
        CountDownLatch reading = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Supplier<ConfigResult> slowSource = () -> {
            reading.countDown();
            try {
                release.await(); // a 10 MB single-line file takes ~40 s here
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new ConfigResult.Valid(cfg);
        };
        try (Node n = node(cfg, slowSource)) {
            try {
                stuckReload(n, reading, release);
            } finally {
                release.countDown(); // never leave the source stuck (the node could not even stop)
            }
        }
    }

    private void stuckReload(Node n, CountDownLatch reading, CountDownLatch release) throws Exception {
        await().atMost(Duration.ofSeconds(10)).until(() -> backend(n, b1).eligible() && backend(n, b2).eligible());
        CompletableFuture<ReloadOutcome> reload = n.control().reload();
        assertThat(reading.await(5, TimeUnit.SECONDS)).as("the reload is reading its source").isTrue();

        // A backend dies while the reload is stuck: its check's verdict still lands.
        long died = System.nanoTime();
        b1.close();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).untilAsserted(() ->
                assertThat(backend(n, b1).flags()).contains(HealthFlag.FAILED_ACTIVE_CHECK));
        long verdictMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - died);
        // The view answers, an operator action completes, traffic flows — all while reloading.
        long t0 = System.nanoTime();
        NodeView.BackendView drained = n.control().backendAction("a", "127.0.0.1:" + b2.port(),
                BackendAction.DRAIN).get(2, TimeUnit.SECONDS);
        assertThat(drained.flags()).contains(HealthFlag.DRAINING);
        n.control().backendAction("a", "127.0.0.1:" + b2.port(), BackendAction.ENABLE).get(2, TimeUnit.SECONDS);
        long actionMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(echoOnce(n.listenAddress("a").orElseThrow().getPort(), "x")).isEqualTo("x");
        assertThat(reload).as("the reload is still stuck in its source").isNotDone();
        System.out.printf("while a reload was stuck: verdict after %d ms, drain+enable in %d ms%n", verdictMs,
                actionMs);

        release.countDown();
        assertThat(reload.get(10, TimeUnit.SECONDS).applied()).isTrue();
    }

    @Test
    void aSourceThatRunsOutOfMemoryIsARejectedReloadWithItsReasonAndTheNodeServesOn() throws Exception {
        TandemConfig cfg = config();
        AtomicReference<Supplier<ConfigResult>> source = new AtomicReference<>(() -> {
            throw new OutOfMemoryError("Java heap space");
        });
        try (Node n = node(cfg, () -> source.get().get())) {
            ReloadOutcome o = n.control().reload().get(10, TimeUnit.SECONDS);
            assertThat(o.applied()).isFalse();
            assertThat(o.generation()).isEqualTo(1);
            assertThat(o.errors()).singleElement().asString()
                    .isEqualTo("test source: cannot read the config (java.lang.OutOfMemoryError: Java heap space)");
            assertThat(errorLines()).anySatisfy(l -> assertThat(l).contains("reload rejected source=test source")
                    .contains("java.lang.OutOfMemoryError: Java heap space"));
            assertThat(n.metrics().registry().scrape()).contains("tandem_reloads_total{result=\"rejected\"} 1.0");
            assertThat(echoOnce(n.listenAddress("a").orElseThrow().getPort(), "still")).isEqualTo("still");

            // The next reload of a good source is applied as usual.
            source.set(() -> new ConfigResult.Valid(cfg));
            assertThat(n.control().reload().get(10, TimeUnit.SECONDS).applied()).isTrue();
        }
    }

    @Test
    void aReloadNobodyWaitsForStillLogsWhyItFailed() throws Exception {
        TandemConfig cfg = config();
        try (Node n = node(cfg, () -> {
            throw new IllegalStateException("disk on fire");
        })) {
            n.control().reload(); // as SIGHUP and the file watcher do: nobody looks at the answer
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(errorLines()).anySatisfy(l ->
                    assertThat(l).contains("reload rejected").contains("IllegalStateException: disk on fire")));
        }
    }

    @Test
    void aBurstOfReloadRequestsDuringOneReadsTheSourceOnceMore() throws Exception {
        TandemConfig cfg = config();
        AtomicInteger reads = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch reading = new CountDownLatch(1);
        Supplier<ConfigResult> source = () -> {
            if (reads.incrementAndGet() == 1) {
                reading.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return new ConfigResult.Valid(cfg);
        };
        try (Node n = node(cfg, source)) {
            List<CompletableFuture<ReloadOutcome>> all = new ArrayList<>();
            all.add(n.control().reload());
            assertThat(reading.await(5, TimeUnit.SECONDS)).isTrue();
            for (int i = 0; i < 10; i++) {
                all.add(n.control().reload());
            }
            release.countDown();
            for (CompletableFuture<ReloadOutcome> f : all) {
                assertThat(f.get(10, TimeUnit.SECONDS).applied()).isTrue();
            }
            assertThat(reads.get()).as("the first read, then one more for the ten that came meanwhile").isEqualTo(2);
        }
    }

    private List<String> errorLines() {
        return logs.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN))
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static String echoOnce(int port, String text) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2000);
            s.setSoTimeout(5000);
            s.getOutputStream().write(text.getBytes());
            return new String(s.getInputStream().readNBytes(text.length()));
        }
    }
}
