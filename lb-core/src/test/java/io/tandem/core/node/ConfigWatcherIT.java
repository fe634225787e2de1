package io.tandem.core.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.Counter;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The config file watcher against a real node, with real files, renames and symlinks: a file
 * written in two steps is applied once, complete; the Kubernetes ConfigMap {@code ..data} swap is
 * followed; a plain edit applies, a touch does not; a change no event reports is found by the poll.
 */
class ConfigWatcherIT {
    @TempDir
    Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void cleanup() throws Exception {
        for (AutoCloseable c : closeables.reversed()) {
            c.close();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static String vip(String name, int port) {
        return """
                  - name: %s
                    listen: 127.0.0.1:%d
                    backends:
                      - 127.0.0.1:9
                """.formatted(name, port);
    }

    private static String config(String... vips) {
        return "admin:\n  enabled: false\nvips:\n" + String.join("", vips);
    }

    private Node node(Path file) throws Node.StartException {
        ConfigResult r = ConfigLoader.load(file);
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        Node n = Node.start(Node.Options.file("t", ((ConfigResult.Valid) r).config(), file, true));
        closeables.add(() -> n.shutdown(Duration.ZERO));
        return n;
    }

    /** Applied configs, the start included. */
    private static double applied(Node n) {
        Counter c = n.metrics().registry().find("tandem.reloads").tag("result", "applied").counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void aValidPartialFileWrittenInTwoStepsIsNeverAppliedOnlyTheCompleteOne() throws Exception {
        int a = freePort();
        int b = freePort();
        int c = freePort();
        Path file = dir.resolve("tandem.yaml");
        Files.writeString(file, config(vip("a", a), vip("b", b)));
        Node n = node(file);
        double before = applied(n);
        assertThat(n.listenAddress("b")).isPresent();

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger bMissing = new AtomicInteger();
        Thread watcher = Thread.ofVirtual().start(() -> {
            while (!stop.get()) {
                if (n.listenAddress("b").isEmpty()) {
                    bMissing.incrementAndGet();
                }
                java.util.concurrent.locks.LockSupport.parkNanos(2_000_000); // sampling period, not a wait
            }
        });
        closeables.add(() -> {
            stop.set(true);
            watcher.join();
        });

        // Step one: a valid config that lacks VIP b (truncate + write, as a shell `>` or a naive writer does).
        Files.writeString(file, config(vip("a", a)));
        // The writer's pause between its two steps: the scenario under test, not a wait for a condition.
        Thread.sleep(350);
        // Step two completes the file: b again, plus a new VIP c.
        Files.writeString(file, config(vip("a", a), vip("b", b), vip("c", c)));

        await().atMost(Duration.ofSeconds(15)).until(() -> n.listenAddress("c").isPresent());
        stop.set(true);
        watcher.join();
        assertThat(bMissing.get()).as("times VIP b was seen without a listener").isZero();
        // Exactly one reload, of the complete file, and nothing more comes.
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> applied(n) == before + 1);
        assertThat(n.listenAddress("b")).isPresent();
    }

    @Test
    void aKubernetesConfigMapUpdateBySymlinkSwapIsApplied() throws Exception {
        int a = freePort();
        int b = freePort();
        int c = freePort();
        // The kubelet's layout: tandem.yaml -> ..data/tandem.yaml, ..data -> ..<timestamp>/
        Path first = Files.createDirectory(dir.resolve("..2026_12_07_10_00_00.000000001"));
        Files.writeString(first.resolve("tandem.yaml"), config(vip("a", a)));
        Files.createSymbolicLink(dir.resolve("..data"), first.getFileName());
        Files.createSymbolicLink(dir.resolve("tandem.yaml"), Path.of("..data", "tandem.yaml"));
        Node n = node(dir.resolve("tandem.yaml"));
        double before = applied(n);

        long started = System.nanoTime();
        Path second = configMapUpdate(first, "..2026_12_07_10_01_00.000000002", config(vip("a", a), vip("b", b)));
        await().atMost(Duration.ofSeconds(10)).until(() -> n.listenAddress("b").isPresent());
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        assertThat(applied(n)).isEqualTo(before + 1);

        // And again: the watches moved to the new directory and the new link.
        configMapUpdate(second, "..2026_12_07_10_02_00.000000003", config(vip("a", a), vip("c", c)));
        await().atMost(Duration.ofSeconds(10)).until(() -> n.listenAddress("c").isPresent()
                && n.listenAddress("b").isEmpty());
        assertThat(applied(n)).isEqualTo(before + 2);
        System.out.println("configmap swap noticed and applied after_ms=" + took.toMillis());
    }

    /** What the kubelet's atomic writer does: new dir, ..data_tmp link, rename over ..data, old dir removed. */
    private Path configMapUpdate(Path old, String name, String content) throws IOException {
        Path next = Files.createDirectory(dir.resolve(name));
        Files.writeString(next.resolve("tandem.yaml"), content);
        Path tmp = Files.createSymbolicLink(dir.resolve("..data_tmp"), next.getFileName());
        Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (Stream<Path> files = Files.walk(old)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        return next;
    }

    @Test
    void aPlainEditAppliesButATouchOrTheSameBytesAgainDoNot() throws Exception {
        int a = freePort();
        int b = freePort();
        Path file = dir.resolve("tandem.yaml");
        String original = config(vip("a", a));
        Files.writeString(file, original);
        Node n = node(file);
        double before = applied(n);

        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
        Files.writeString(file, original);
        await().during(Duration.ofMillis(2500)).atMost(Duration.ofSeconds(5)).until(() -> applied(n) == before);

        Files.writeString(file, config(vip("a", a), vip("b", b)));
        await().atMost(Duration.ofSeconds(10)).until(() -> n.listenAddress("b").isPresent());
        assertThat(applied(n)).isEqualTo(before + 1);

        // An editor's save: a temporary file renamed over the config.
        Path tmp = dir.resolve(".tandem.yaml.swp");
        Files.writeString(tmp, original);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        await().atMost(Duration.ofSeconds(10)).until(() -> n.listenAddress("b").isEmpty());
        assertThat(applied(n)).isEqualTo(before + 2);
    }

    @Test
    void aDirectorySwappedByRenameWhichNoEventReportsIsFoundByThePoll() throws Exception {
        int a = freePort();
        int b = freePort();
        Path conf = Files.createDirectory(dir.resolve("conf"));
        Files.writeString(conf.resolve("tandem.yaml"), config(vip("a", a)));
        Node n = node(conf.resolve("tandem.yaml"));
        double before = applied(n);

        Path next = Files.createDirectory(dir.resolve("conf.new"));
        Files.writeString(next.resolve("tandem.yaml"), config(vip("a", a), vip("b", b)));
        // The watched directory moves away (no event for its files) and another takes its name
        // in a directory nobody watches.
        Files.move(conf, dir.resolve("conf.old"), StandardCopyOption.ATOMIC_MOVE);
        Files.move(next, conf, StandardCopyOption.ATOMIC_MOVE);
        await().atMost(Duration.ofSeconds(15)).until(() -> n.listenAddress("b").isPresent());
        assertThat(applied(n)).isEqualTo(before + 1);
    }
}
