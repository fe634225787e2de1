package io.tandem.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tandem.tests.netns.Topology;
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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code ./tandem demo --pair}, the README's HA command, run as an operator runs it (the launcher
 * script, a real process): it shows the owner's kill and the survivor's takeover with a time,
 * ends by itself with 0, and leaves no namespace, process or folder behind; interrupted half-way
 * (SIGINT, as Ctrl-C) it leaves nothing either; without root it says what it needs. (Its veths
 * and bridge live inside its namespaces: a namespace gone takes its links with it.)
 */
class DemoPairIT {
    private static final Path LAUNCHER = Path.of("..", "tandem").toAbsolutePath().normalize();

    @Test
    void pairDemoShowsTheKillAndTheTakeoverEndsByItselfAndLeavesNothingBehind() throws Exception {
        assumeRootAndNetns();
        int offset = freeOffset();
        try (Demo demo = Demo.start(List.of(), "demo", "--pair", "--port-offset", Integer.toString(offset))) {
            demo.awaitLine("dashboards:", Duration.ofSeconds(120));
            // The dashboard of each node is reachable from the host while the demo runs.
            await("lb2's dashboard through the forward").atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(500)).ignoreExceptions().untilAsserted(() -> {
                        assertThat(get(9092 + offset, "/api/ha")).contains("198.18.1.10");
                        assertThat(get(9092 + offset, "/")).containsIgnoringCase("<html");
                    });
            assertThat(demo.waitFor(Duration.ofSeconds(240))).as(demo.output()).isTrue();
            String out = demo.output();
            assertThat(demo.exitCode()).as(out).isZero();
            assertThat(out).contains("kill -9 lb1").contains("the owner of 198.18.1.10");
            assertThat(out).containsPattern("198\\.18\\.1\\.10 went onto lb2's interface \\d+ ms after the kill");
            assertThat(out).containsPattern("what the client saw: \\d+ connection\\(s\\) failed; \\d+ ms unserved");
            Matcher took = Pattern.compile("it took 198\\.18\\.1\\.10 over from lb1 in (\\d+) ms").matcher(out);
            assertThat(took.find()).as(out).isTrue();
            assertThat(Long.parseLong(took.group(1))).as(out).isBetween(1L, 30_000L);
            assertNothingLeft(demo);
        }
    }

    @Test
    void pairDemoInterruptedHalfWayLeavesNothingBehind() throws Exception {
        assumeRootAndNetns();
        int offset = freeOffset();
        try (Demo demo = Demo.start(List.of(), "demo", "--pair", "--port-offset", Integer.toString(offset))) {
            // Half-way: namespaces built, ZooKeeper up, the two nodes starting.
            demo.awaitLine("two Tandem nodes", Duration.ofSeconds(120));
            await().atMost(Duration.ofSeconds(30)).until(() -> !namespacesOf(demo).isEmpty()
                    && !processesOf(demo).isEmpty());
            demo.signal("INT");
            assertThat(demo.waitFor(Duration.ofSeconds(60))).as(demo.output()).isTrue();
            assertNothingLeft(demo);
        }
    }

    @Test
    void withoutRootItSaysWhatItNeedsAndExitsNonZero() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "switching to an unprivileged user needs root");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) is not installed");
        try (Demo demo = Demo.start(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"),
                "demo", "--pair")) {
            assertThat(demo.waitFor(Duration.ofSeconds(60))).as(demo.output()).isTrue();
            assertThat(demo.exitCode()).as(demo.output()).isEqualTo(3);
            assertThat(demo.output()).contains("demo --pair needs root").contains("sudo ./tandem demo --pair")
                    .doesNotContain("Exception");
        }
    }

    private static void assumeRootAndNetns() {
        String why = Topology.unavailableReason();
        assumeTrue(why == null, why);
    }

    private static void assertNothingLeft(Demo demo) throws Exception {
        String out = demo.output();
        await("namespaces and processes of the demo gone").atMost(Duration.ofSeconds(20))
                .untilAsserted(() -> {
                    assertThat(namespacesOf(demo)).as(out).isEmpty();
                    assertThat(processesOf(demo)).as(out).isEmpty();
                });
        Matcher logs = Pattern.compile("logs in (\\S+)").matcher(out);
        assertThat(logs.find()).as(out).isTrue();
        assertThat(Path.of(logs.group(1))).as(out).doesNotExist();
    }

    /** The demo's namespaces: tdemo-PID-*. */
    private static List<String> namespacesOf(Demo demo) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Topology.run(List.of("ip", "netns", "list")).output().split("\n")) {
            String name = line.split(" ")[0].trim();
            if (name.startsWith("tdemo-" + demo.pid() + "-")) {
                out.add(name);
            }
        }
        return out;
    }

    /** Processes the demo started (each carries -Dtandem.demo.owner=PID). */
    private static List<String> processesOf(Demo demo) {
        String mark = "-Dtandem.demo.owner=" + demo.pid();
        return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
                .filter(h -> h.info().arguments().map(a -> List.of(a).contains(mark)).orElse(false))
                .map(h -> h.pid() + " " + h.info().commandLine().orElse("?")).toList();
    }

    private static int freeOffset() {
        for (int attempt = 0; attempt < 50; attempt++) {
            int offset = 1000 + ThreadLocalRandom.current().nextInt(40_000);
            if (Net.isFree(9091 + offset) && Net.isFree(9092 + offset)) {
                return offset;
            }
        }
        throw new IllegalStateException("no free port offset for the demo's dashboards");
    }

    private static String get(int port, String path) throws Exception {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            return r.body();
        }
    }

    /** {@code PREFIX... ./tandem ARGS...} with the built jar (TANDEM_JAR: no build), output captured. */
    private static final class Demo implements AutoCloseable {
        private final Process process;
        private final List<String> lines = new CopyOnWriteArrayList<>();
        private final Thread reader;

        private Demo(Process process) {
            this.process = process;
            this.reader = Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // process gone
                }
            });
        }

        static Demo start(List<String> prefix, String... args) throws IOException {
            List<String> cmd = new ArrayList<>(prefix);
            cmd.add(LAUNCHER.toString());
            cmd.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("TANDEM_JAR", TandemProcess.jar().toString());
            pb.environment().put("JAVA_HOME", Path.of(TandemProcess.java()).getParent().getParent().toString());
            return new Demo(pb.start());
        }

        long pid() {
            return process.pid(); // the launcher execs the JVM
        }

        void awaitLine(String text, Duration atMost) {
            try {
                await().atMost(atMost).pollInterval(Duration.ofMillis(50))
                        .failFast("the demo exited before printing \"" + text + "\"",
                                () -> !process.isAlive() && lines.stream().noneMatch(l -> l.contains(text)))
                        .until(() -> lines.stream().anyMatch(l -> l.contains(text)));
            } catch (org.awaitility.core.ConditionTimeoutException | org.awaitility.core.TerminalFailureException e) {
                throw new AssertionError(e.getMessage() + "; its output:\n" + output(), e);
            }
        }

        boolean waitFor(Duration limit) throws InterruptedException {
            boolean done = process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
            if (done) {
                reader.join(Duration.ofSeconds(5));
            }
            return done;
        }

        int exitCode() {
            return process.exitValue();
        }

        String output() {
            return String.join("\n", lines);
        }

        void signal(String name) throws IOException, InterruptedException {
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
            assertThat(kill.waitFor(5, TimeUnit.SECONDS) && kill.exitValue() == 0).isTrue();
        }

        @Override
        public void close() throws Exception {
            if (process.isAlive()) {
                // a failed test: Ctrl-C first, so the demo cleans up after itself
                signal("INT");
                if (!process.waitFor(60, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        }
    }
}
