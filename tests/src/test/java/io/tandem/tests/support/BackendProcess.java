package io.tandem.tests.support;

import static java.util.Objects.requireNonNull;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link BackendMain} running as a separate OS process, launched with the JVM that runs the
 * tests. Process faults (SIGKILL, SIGSTOP/SIGCONT) act on it for real. Always closed by the test
 * (SIGKILL, which also ends a stopped process); a test JVM that dies leaves nothing running either:
 * the backend watches its owner, and {@link Orphans#sweep()} kills stopped leftovers.
 */
public final class BackendProcess implements AutoCloseable {
    private static final String MAIN = BackendMain.class.getName();
    private static final AtomicBoolean SWEPT = new AtomicBoolean();

    private final String name;
    private final Process process;
    private final int port;

    private BackendProcess(String name, Process process, int port) {
        this.name = name;
        this.process = process;
        this.port = port;
    }

    /** Starts a backend named {@code name} on an ephemeral loopback port; waits until it listens. */
    public static BackendProcess start(String name) throws IOException {
        return start(name, ProcessHandle.current().pid());
    }

    /**
     * Starts a backend owned by process {@code owner}: it exits by itself when the owner is gone,
     * and {@link Orphans#sweep()} kills it then. Tests of the sweep pass a dead pid.
     */
    public static BackendProcess start(String name, long owner) throws IOException {
        requireNonNull(name, "name");
        if (SWEPT.compareAndSet(false, true)) {
            Orphans.sweep();
        }
        Path classes = classesDir();
        List<String> cmd = List.of(java(), Orphans.OWNER_PROPERTY + owner, "-Xmx32m", "-Xss512k", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-cp", classes.toString(), MAIN, "--name", name, "--owner",
                Long.toString(owner));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        CompletableFuture<Integer> ready = new CompletableFuture<>();
        Thread.ofVirtual().name("backend-out-" + name).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith(BackendMain.READY)) {
                        ready.complete(Integer.parseInt(line.substring(BackendMain.READY.length()).trim()));
                    }
                }
            } catch (IOException | RuntimeException e) {
                ready.completeExceptionally(e);
            }
            ready.completeExceptionally(new IOException("backend " + name + " exited before listening"));
        });
        try {
            return new BackendProcess(name, p, ready.get(30, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while starting backend " + name, e);
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            throw new IOException("backend " + name + " did not start: " + e.getMessage(), e);
        }
    }

    private static Path classesDir() throws IOException {
        try {
            return Path.of(BackendMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException e) {
            throw new IOException("cannot locate test classes", e);
        }
    }

    static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    public String name() {
        return name;
    }

    public int port() {
        return port;
    }

    /** {@code 127.0.0.1:PORT}, as a node config names it. */
    public String address() {
        return "127.0.0.1:" + port;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Sends a POSIX signal with kill(1): KILL, STOP, CONT, TERM. */
    public void signal(String signal) throws IOException {
        requireNonNull(signal, "signal");
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid()))
                    .redirectErrorStream(true).start();
            if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IOException("kill -" + signal + " " + process.pid() + " failed: "
                        + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted sending " + signal, e);
        }
    }

    /** SIGKILL, and returns once the process is reaped: its sockets are closed by then. */
    public void kill9() throws IOException {
        signal("KILL");
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new IOException("backend " + name + " still alive 10 s after SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted waiting for " + name, e);
        }
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

    @Override
    public String toString() {
        return name + "@" + address() + "(pid " + pid() + ")";
    }
}
