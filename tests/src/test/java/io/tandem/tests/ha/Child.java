package io.tandem.tests.ha;

import static org.awaitility.Awaitility.await;

import io.tandem.tests.support.Orphans;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A helper JVM (ZooKeeper, backend, client loop) started inside a namespace with the test
 * classpath, output captured line by line. Carries the {@link Orphans} owner mark and also exits
 * by itself when the test JVM is gone.
 */
final class Child implements AutoCloseable {
    private final String name;
    private final Process process;
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.CountDownLatch eof = new java.util.concurrent.CountDownLatch(1);

    private Child(String name, Process process) {
        this.name = name;
        this.process = process;
        Thread.ofVirtual().name("child-out-" + name).start(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // process gone
            } finally {
                eof.countDown();
            }
        });
    }

    static Child start(String name, List<String> prefix, Class<?> main, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(ProcessHandle.current().info().command().orElse("java"), Orphans.ownerArg(),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
                "-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        return new Child(name, new ProcessBuilder(cmd).redirectErrorStream(true).start());
    }

    Child awaitLine(String text, Duration atMost) {
        // fail fast only once the whole output was read: a short-lived child may exit before
        // the reader thread has seen its last line
        await(name + " prints \"" + text + "\"").atMost(atMost).pollInterval(Duration.ofMillis(20))
                .failFast(name + " exited without printing it", () -> eof.getCount() == 0 && !hasLine(text))
                .until(() -> hasLine(text));
        return this;
    }

    private boolean hasLine(String text) {
        return lines.stream().anyMatch(l -> l.contains(text));
    }

    List<String> lines() {
        return List.copyOf(lines);
    }

    boolean isAlive() {
        return process.isAlive();
    }

    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }
}
