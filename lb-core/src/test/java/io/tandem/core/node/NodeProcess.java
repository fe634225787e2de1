package io.tandem.core.node;

import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A Tandem node in a child JVM, started from this module's packaged {@code target/tandem.jar}
 * (built in the package phase, before the integration tests), for tests that change what only a
 * whole process has: its file descriptor limit ({@code prlimit}), its descriptor table
 * ({@code /proc/PID/fd}), its CPU time. Output is kept line by line; {@link #close} kills it.
 */
final class NodeProcess implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final Process process;
    private final int adminPort;
    private final List<String> lines = new CopyOnWriteArrayList<>();

    private NodeProcess(Process process, int adminPort) {
        this.process = process;
        this.adminPort = adminPort;
        Thread.ofVirtual().name("node-out-" + process.pid()).start(() -> {
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
        Path jar = Path.of("target", "tandem.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: run the integration tests through mvn verify");
        }
        return jar;
    }

    /**
     * Starts {@code tandem run --config CONFIG --no-watch} with extra JVM flags and waits until its
     * admin API (on {@code adminPort}, as the config says) answers.
     */
    static NodeProcess start(Path config, int adminPort, List<String> jvmFlags) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-Dio.netty.leakDetection.level=paranoid",
                "-Xmx256m", "-XX:+UseSerialGC"));
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-jar", jar().toString(), "run", "--config", config.toString(), "--no-watch"));
        NodeProcess p = new NodeProcess(new ProcessBuilder(cmd).redirectErrorStream(true).start(), adminPort);
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .failFast("node exited", () -> !p.process.isAlive())
                    .ignoreExceptions().until(() -> p.get("/api/node").statusCode() == 200);
        } catch (RuntimeException | Error e) {
            p.close();
            throw new AssertionError("node did not come up: " + e + "\n" + p.output(), e);
        }
        return p;
    }

    long pid() {
        return process.pid();
    }

    /** GET on the admin API (fails when the node cannot even accept the request). */
    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The value of one Prometheus series (exact name with labels as printed), or 0 when absent. */
    double metric(String series) throws IOException, InterruptedException {
        double sum = 0;
        for (String line : get("/metrics").body().split("\n")) {
            if (line.startsWith(series + " ")) {
                sum += Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        return sum;
    }

    /** The sum of every series of {@code name} whose labels contain all of {@code labels} ({@code vip="web"}...). */
    double metricSum(String name, String... labels) throws IOException, InterruptedException {
        double sum = 0;
        for (String line : get("/metrics").body().split("\n")) {
            if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
                continue;
            }
            boolean all = true;
            for (String l : labels) {
                all &= line.contains(l);
            }
            if (all) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1).trim());
            }
        }
        return sum;
    }

    /** Open descriptors of the node now. */
    int openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc", Long.toString(process.pid()), "fd"))) {
            return (int) s.count();
        }
    }

    /** The lowest descriptor number the node does not use: the next socket it opens gets it. */
    int lowestFreeFd() throws IOException {
        java.util.BitSet used = new java.util.BitSet();
        try (var s = Files.list(Path.of("/proc", Long.toString(process.pid()), "fd"))) {
            s.forEach(f -> used.set(Integer.parseInt(f.getFileName().toString())));
        }
        return used.nextClearBit(0);
    }

    /** CPU time (user + system) the node has used so far, from /proc/PID/stat. */
    Duration cpuTime() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14 and 15)
        return Duration.ofMillis(ticks * 10); // USER_HZ = 100 on Linux
    }

    /** Sets the node's soft RLIMIT_NOFILE with prlimit(1); the hard limit stays, so it can be raised again. */
    void softFdLimit(long soft) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(process.pid()), "--nofile=" + soft + ":")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("prlimit --nofile=" + soft + ": failed: " + out);
        }
    }

    /** The soft and hard RLIMIT_NOFILE of the node, from /proc/PID/limits. */
    long[] fdLimits() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "limits"))) {
            if (line.startsWith("Max open files")) {
                String[] f = line.substring("Max open files".length()).trim().split("\\s+");
                return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
            }
        }
        throw new IOException("no 'Max open files' in /proc/" + process.pid() + "/limits");
    }

    static boolean prlimitAvailable() {
        try {
            Process p = new ProcessBuilder("prlimit", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    long countLines(String text) {
        return lines.stream().filter(l -> l.contains(text)).count();
    }

    String output() {
        return String.join("\n", lines);
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
