package io.tandem.tests.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.tests.TandemProcess;
import io.tandem.tests.fault.Fault;
import io.tandem.tests.fault.FaultKind;
import io.tandem.tests.fault.Faults;
import io.tandem.tests.support.AdminClient;
import io.tandem.tests.support.AdminClient.BackendState;
import io.tandem.tests.support.AdminClient.Transition;
import io.tandem.tests.support.BackendProcess;
import io.tandem.tests.support.LoadLoop;
import io.tandem.tests.support.LoadLoop.Attempt;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;

/**
 * The common run of a backend fault scenario: a real node process, three backend processes, a
 * bounded load of new TCP connections running throughout, one backend ({@code b2}) broken for
 * real, and the node's view read through the admin API. Connections in flight at the fault
 * instant are counted apart: at layer 4 nothing can save them.
 *
 * <p>Every scenario runs once per fault backend: {@code [kernel]} (root + iptables, CI) and
 * {@code [toxiproxy]} (needs a Docker engine; skipped with a message where there is none). Each
 * prints a {@code FAULT-SUMMARY} line (also appended to {@code target/fault-summary.txt}) with the
 * measured fault-to-ejection time, failures after the fault and in-flight losses. See
 * {@code docs/testing.md}.
 */
abstract class BackendFaultScenarios {
    static final String VIP = "svc";
    private static final Set<String> DOWN_FLAGS = Set.of("EJECTED_PASSIVE", "FAILED_ACTIVE_CHECK");
    private static final Duration NODE_START = Duration.ofSeconds(45);
    private static final Duration DETECT_WITHIN = Duration.ofSeconds(10); // generous: shared, noisy machine
    private static final Pattern AFTER_MS = Pattern.compile("after_ms=(\\d+)");

    @TempDir
    Path dir;

    private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();

    static Stream<String> via() {
        return Stream.of("kernel", "toxiproxy");
    }

    @AfterEach
    void cleanUp() throws Exception {
        Exception first = null;
        while (!cleanup.isEmpty()) {
            try {
                cleanup.pop().close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private <T extends AutoCloseable> T closeLater(T resource) {
        cleanup.push(resource);
        return resource;
    }

    static void assertConnectionsAfterTheFaultDidNotFail(Measured m) {
        if (m.visibleAtConnect) {
            assertThat(m.failedAfterFault).as("failed connections that started after the fault: %s", m.examples)
                    .isZero();
        } else {
            // Behind a proxy the connect succeeds whatever the backend does: only after ejection
            // can no client connection fail.
            assertThat(m.failedAfterEjection).as("failed connections after ejection: %s", m.examples).isZero();
        }
    }

    // ---- the common run --------------------------------------------------------------------------

    /** A node with one VIP over three backend processes; b2 is the one the scenario breaks. */
    record Setup(Faults faults, FaultKind kind, List<BackendProcess> backends, List<String> routes,
                 TandemProcess node, AdminClient admin, int vipPort) {
        BackendProcess victim() {
            return backends.get(1);
        }

        String victimRoute() {
            return routes.get(1);
        }
    }

    Setup setup(String via, FaultKind kind, String healthYaml) throws Exception {
        Faults faults = closeLater(Faults.named(via));
        Assumptions.assumeTrue(faults.supports(kind), () -> via + " faults cannot make " + kind
                + "; this scenario runs through the other fault backend");
        // Started in parallel: each is a JVM start, slow on a busy machine.
        List<BackendProcess> backends = new ArrayList<>();
        try (ExecutorService starter = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<BackendProcess>> starting = new ArrayList<>();
            for (String name : List.of("b1", "b2", "b3")) {
                starting.add(starter.submit(() -> BackendProcess.start(name)));
            }
            for (Future<BackendProcess> f : starting) {
                try {
                    backends.add(closeLater(f.get()));
                } catch (ExecutionException e) {
                    for (Future<BackendProcess> other : starting) { // close the ones that did start
                        if (other != f && other.state() == Future.State.SUCCESS) {
                            other.resultNow().close();
                        }
                    }
                    throw new IOException("backend did not start", e.getCause());
                }
            }
        }
        List<String> routes = new ArrayList<>();
        for (BackendProcess b : backends) {
            routes.add(faults.route(b));
        }
        int vip = freePort();
        int adminPort = freePort();
        Path config = dir.resolve("tandem.yaml");
        Files.writeString(config, """
                admin:
                  listen: 127.0.0.1:%d
                vips:
                  - name: %s
                    listen: 127.0.0.1:%d
                    policy: round-robin
                    retries: 3
                    backends: [%s]
                    timeouts: {connect: 200ms, user_timeout: 2s}
                %s""".formatted(adminPort, VIP, vip, String.join(", ", routes),
                healthYaml.contains("outlier_detection") ? healthYaml : healthYaml + """
                            outlier_detection: {consecutive_failures: 1}
                            close_on_backend_down: true
                        """));
        TandemProcess node = closeLater(TandemProcess.start("run", "--no-watch", "--config", config.toString()));
        node.awaitLine("node started", NODE_START);
        AdminClient admin = closeLater(new AdminClient(adminPort));
        await("all backends eligible").atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
                .ignoreExceptions().until(() -> admin.allEligible(VIP));
        return new Setup(faults, kind, backends, routes, node, admin, vip);
    }

    /** Runs after ejection, before the load stops; returns extra summary fields. */
    @FunctionalInterface
    interface AfterEjection {
        String run(Fault fault, LoadLoop load) throws Exception;
    }

    /** What a scenario measured; printed as one line. */
    record Measured(String scenario, String via, boolean visibleAtConnect, long ejectMs, String signal,
                    String nodeAfterMs, int attempts, long afterFault, long failedAfterFault, long inFlight,
                    long inFlightFailed, long failedAfterEjection, long stuck, long failedRequests,
                    long retriedAttempts, String extra, List<String> examples) {
        String line() {
            return "FAULT-SUMMARY scenario=" + scenario + " via=" + via + " fault_to_eject_ms=" + ejectMs
                    + " signal=" + signal + " node_after_ms=" + nodeAfterMs + " attempts=" + attempts
                    + " started_after_fault=" + afterFault + " failed_after_fault=" + failedAfterFault
                    + " in_flight=" + inFlight + " in_flight_failed=" + inFlightFailed
                    + " failed_after_ejection=" + failedAfterEjection + " stuck=" + stuck
                    + " failed_requests=" + failedRequests + " retried_attempts=" + retriedAttempts
                    + (extra.isEmpty() ? "" : " " + extra);
        }
    }

    Measured faultUnderLoad(Setup s, String scenario, LoadLoop.Options opts, AfterEjection after)
            throws Exception {
        long loadStart = System.nanoTime();
        LoadLoop load = closeLater(LoadLoop.start(s.vipPort, opts));
        await("every backend answers before the fault").atMost(Duration.ofSeconds(10))
                .until(() -> s.backends.stream().allMatch(b -> load.answersFrom(b.name(), loadStart) >= 3));

        Fault fault = closeLater(s.faults.fault(s.kind, s.victim()));
        long beforeNanos = System.nanoTime();
        Instant before = Instant.now();
        fault.apply();
        long appliedNanos = System.nanoTime();

        BackendState down = await("backend " + s.victimRoute() + " out of rotation").atMost(DETECT_WITHIN)
                .pollInterval(Duration.ofMillis(10))
                .until(() -> s.admin.backend(VIP, s.victimRoute()), b -> !b.eligible()
                        && b.flags().stream().anyMatch(DOWN_FLAGS::contains));
        Transition ejected = down.firstSet(before.minusMillis(2), DOWN_FLAGS).orElseThrow(
                () -> new AssertionError("no down transition after the fault in " + down.transitions()));
        long ejectMs = Duration.between(before, ejected.at()).toMillis();
        long ejectNanos = beforeNanos + TimeUnit.MILLISECONDS.toNanos(Math.max(0, ejectMs));

        // Keep the load on for a while with the backend out: those connections must all succeed.
        // Counted from when the admin API showed the ejection, not from the flag's time: the flag
        // carries the time of the input that set it, and on a loaded machine the control loop may
        // publish the new pool (in the same step, before it answers the API) a while after that.
        long observedNanos = System.nanoTime();
        long settled = Math.max(ejectNanos, observedNanos) + TimeUnit.MILLISECONDS.toNanos(200);
        await("load continues after ejection").atMost(Duration.ofSeconds(10))
                .until(() -> System.nanoTime() - settled > TimeUnit.MILLISECONDS.toNanos(1500)
                        && load.attemptsStartedAfter(settled) >= 100);
        String extra = after == null ? "" : after.run(fault, load);
        load.close();

        List<Attempt> all = load.attempts();
        List<Attempt> afterFault = all.stream().filter(a -> a.startedAtOrAfter(appliedNanos)).toList();
        List<Attempt> inFlight = all.stream().filter(a -> a.startNanos() - appliedNanos < 0
                && a.endNanos() - beforeNanos >= 0).toList();
        List<Attempt> afterEjection = all.stream().filter(a -> a.startedAtOrAfter(settled)).toList();
        Map<Integer, List<Attempt>> byRequest = all.stream().collect(Collectors.groupingBy(Attempt::request));
        long failedRequests = byRequest.values().stream().filter(as -> as.stream().noneMatch(Attempt::ok)).count();
        List<String> examples = all.stream().filter(a -> !a.ok()).limit(5)
                .map(a -> "+" + TimeUnit.NANOSECONDS.toMillis(a.startNanos() - beforeNanos) + "ms/"
                        + a.millis() + "ms " + a.error())
                .toList();
        Measured m = new Measured(scenario, s.faults.name(), fault.visibleAtConnect(), ejectMs, ejected.flag(),
                nodeAfterMs(s), all.size(), afterFault.size(), failures(afterFault), inFlight.size(),
                failures(inFlight), failures(afterEjection), all.stream().filter(Attempt::timedOut).count(),
                failedRequests, all.stream().filter(a -> a.attempt() > 1).count(), extra, examples);
        report(m);

        assertThat(ejectMs).as("fault to ejection (ms)").isLessThan(DETECT_WITHIN.toMillis());
        assertThat(afterEjection).as("load ran after ejection").isNotEmpty();
        return m;
    }

    private static long failures(List<Attempt> attempts) {
        return attempts.stream().filter(a -> !a.ok()).count();
    }

    /** The node's own detection latency for the victim, from its first down/ejected log line. */
    private static String nodeAfterMs(Setup s) {
        String backend = "backend=" + s.victimRoute() + " ";
        Function<String, Optional<String>> first = prefix -> s.node.output().lines()
                .filter(l -> l.contains(prefix) && l.contains(backend)).findFirst()
                .map(l -> {
                    Matcher mm = AFTER_MS.matcher(l);
                    return mm.find() ? mm.group(1) : "?";
                });
        List<String> parts = new ArrayList<>();
        first.apply("msg=\"backend ejected\"").ifPresent(v -> parts.add("passive:" + v));
        first.apply("msg=\"backend down\"").ifPresent(v -> parts.add("active:" + v));
        return parts.isEmpty() ? "none" : String.join(",", parts);
    }

    private static void report(Measured m) throws IOException {
        String line = m.line();
        System.out.println(line);
        if (!m.examples.isEmpty()) {
            System.out.println("  failures (start after fault / duration / error): " + m.examples);
        }
        Path target = Path.of("target");
        if (Files.isDirectory(target)) {
            Files.writeString(target.resolve("fault-summary.txt"), line + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return s.getLocalPort();
        }
    }
}
