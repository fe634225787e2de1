package io.tandem.tests;

import static org.awaitility.Awaitility.await;

import io.tandem.tests.support.Orphans;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A real Tandem node process started from the packaged jar ({@code lb-core/target/tandem.jar},
 * built by the reactor before this module's integration tests), with the same JVM that runs
 * the tests. Output is captured line by line so tests can wait for log events. Always
 * {@link #close() closed} (SIGKILL) at the end of a test; a node left by a test JVM that died is
 * killed by the next run's {@link Orphans#sweep()}.
 */
public final class TandemProcess implements AutoCloseable {
    private final Process process;
    private final List<String> lines = new CopyOnWriteArrayList<>();

    private TandemProcess(Process process) {
        this.process = process;
        Thread.ofVirtual().name("tandem-out-" + process.pid()).start(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // process gone
            }
        });
    }

    static Path jar() {
        Path jar = Path.of(System.getProperty("tandem.jar", "../lb-core/target/tandem.jar")).toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: run the build through the reactor (./run-tests)");
        }
        return jar;
    }

    static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    /** Starts {@code tandem ARGS...}. */
    public static TandemProcess start(String... args) throws IOException {
        return startWith(List.of(), args);
    }

    /**
     * Starts {@code PREFIX... java -jar tandem.jar ARGS...}, e.g. with the prefix
     * {@code ip netns exec NS} to run the node inside a network namespace. The prefix must exec
     * the JVM (as {@code ip netns exec} does) so that {@link #pid()} and signals reach the node.
     */
    public static TandemProcess startWith(List<String> prefix, String... args) throws IOException {
        // The owner mark lets a later run kill this node if this test JVM dies before close().
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(java(), Orphans.ownerArg(), "--enable-native-access=ALL-UNNAMED",
                "-Dio.netty.leakDetection.level=paranoid", "-jar", jar().toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        return new TandemProcess(pb.start());
    }

    /** Runs {@code tandem ARGS...} to completion (bounded) and returns exit code and output. */
    public static Result run(Duration limit, String... args) throws IOException, InterruptedException {
        try (TandemProcess p = start(args)) {
            if (!p.process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("tandem " + String.join(" ", args) + " did not finish within " + limit
                        + "; output:\n" + p.output());
            }
            // Let the reader thread drain the pipe.
            await().atMost(Duration.ofSeconds(15)).until(() -> !p.process.isAlive());
            Thread.onSpinWait();
            return new Result(p.process.exitValue(), p.awaitOutputComplete());
        }
    }

    public record Result(int exitCode, String output) {
    }

    private String awaitOutputComplete() throws InterruptedException {
        // The reader thread ends at EOF; give it a moment after exit.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        int last = -1;
        while (System.nanoTime() < deadline && lines.size() != last) {
            last = lines.size();
            TimeUnit.MILLISECONDS.sleep(50);
        }
        return output();
    }

    /** Waits until a line containing {@code text} has been printed. */
    public TandemProcess awaitLine(String text, Duration atMost) {
        try {
            await().atMost(atMost).pollInterval(Duration.ofMillis(20))
                    .failFast("tandem exited before printing \"" + text + "\"",
                            () -> !process.isAlive() && !hasLine(text))
                    .until(() -> hasLine(text));
        } catch (org.awaitility.core.ConditionTimeoutException | org.awaitility.core.TerminalFailureException e) {
            throw new AssertionError(e.getMessage() + "; its output:\n" + output(), e);
        }
        return this;
    }

    public boolean hasLine(String text) {
        return lines.stream().anyMatch(l -> l.contains(text));
    }

    public long countLines(String text) {
        return lines.stream().filter(l -> l.contains(text)).count();
    }

    public String output() {
        return String.join("\n", lines);
    }

    public long pid() {
        return process.pid();
    }

    public Process process() {
        return process;
    }

    /** Sends a POSIX signal with kill(1): TERM, KILL, HUP, STOP, CONT. */
    public void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException("kill -" + name + " " + process.pid() + " failed");
        }
    }

    public boolean waitForExit(Duration limit) throws InterruptedException {
        return process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
