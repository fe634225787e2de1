package io.tandem.perf.discovery;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.control.NodeView;
import io.tandem.core.node.Node;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

/**
 * Discovery propagation benchmark: time from the registry write (a ZooKeeper create/delete, or
 * the first byte of a Marathon {@code status_update_event}) to the first proxied connection that
 * reaches the new backend (add), or no longer reaches the removed one (remove), through a real
 * Tandem node running in this JVM. The VIP has exactly one backend at a time: each trial removes
 * the previous trial's backend, then registers a fresh one. A probe is a new TCP connection
 * through the VIP carrying one newline; the backend answers with its id.
 *
 * <p>Usage: {@code PropagationBench zookeeper|marathon|both [trials=100] [--warmup 10]
 * [--budget 100] [--out perf/results/propagation-latest]}. Everything is on 127.0.0.1; the whole
 * run is bounded by {@code --budget} seconds (max 110) plus at most one trial (10 s), and every
 * server, client and node is closed at the end.
 */
public final class PropagationBench {
    private static final Duration PHASE_CAP = Duration.ofSeconds(5);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);
    private static final long PROBE_PAUSE_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    private static final long TRIAL_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final double GOAL_P99_MS = 50.0;

    private PropagationBench() {
    }

    /** What one source produced. Latencies in nanoseconds; {@code missed*} = phase cap hit. */
    record SourceResult(String source, int requested, int warmup, List<Long> add, List<Long> remove,
                        List<Long> probe, List<Integer> probesPerAdd, List<Long> addWrite, int missedAdd,
                        int missedRemove,
                        boolean budgetHit) {
    }

    public static void main(String[] args) throws Exception {
        String which = null;
        int trials = 100;
        int warmup = 10;
        int budgetSeconds = 100;
        Path out = Path.of("perf/results/propagation-latest");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--warmup" -> warmup = intArg(args, ++i, "--warmup", 0, 50);
                case "--budget" -> budgetSeconds = intArg(args, ++i, "--budget", 10, 110);
                case "--out" -> out = Path.of(value(args, ++i, "--out"));
                case "-h", "--help" -> usage(0);
                default -> {
                    if (which == null) {
                        which = args[i];
                    } else {
                        trials = intArg(args, i, "trials", 1, 10_000);
                    }
                }
            }
        }
        if (which == null || !List.of("zookeeper", "marathon", "both").contains(which)) {
            System.err.println("source: " + which + " (expected zookeeper, marathon or both)");
            usage(2);
        }
        List<String> sources = which.equals("both") ? List.of("zookeeper", "marathon") : List.of(which);
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(budgetSeconds);
        String loadBefore = loadAverage();
        List<SourceResult> results = new ArrayList<>();
        for (int s = 0; s < sources.size(); s++) {
            // Equal share of what is left, so a slow first source cannot starve the second.
            long share = (deadline - System.nanoTime()) / (sources.size() - s);
            long sourceDeadline = System.nanoTime() + share;
            SourceResult r = run(sources.get(s), trials, warmup, sourceDeadline);
            results.add(r);
            System.out.println(summaryLine(r));
        }
        String loadAfter = loadAverage();
        double seconds = (System.nanoTime() - start) / 1e9;
        String report = report(results, String.join(" ", args), loadBefore, loadAfter, seconds);
        Files.createDirectories(out);
        Files.writeString(out.resolve("report.md"), report);
        System.out.println();
        System.out.print(report);
        System.out.println("report: " + out.resolve("report.md"));
        // Curator, ZooKeeper and Netty leave daemon and non-daemon threads winding down; all our
        // resources are closed, so end the JVM now rather than wait on their timers.
        System.exit(0);
    }

    private static void usage(int code) {
        System.err.println("usage: PropagationBench zookeeper|marathon|both [trials=100] [--warmup 10] [--budget 100]"
                + " [--out perf/results/propagation-latest]");
        System.exit(code);
    }

    private static String value(String[] args, int i, String name) {
        if (i >= args.length) {
            System.err.println(name + ": missing value");
            usage(2);
        }
        return args[i];
    }

    private static int intArg(String[] args, int i, String name, int min, int max) {
        String v = value(args, i, name);
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        System.err.println(name + ": " + v + " (expected an integer in " + min + ".." + max + ")");
        usage(2);
        return -1;
    }

    // ------------------------------------------------------------------ one source

    private static SourceResult run(String source, int trials, int warmup, long deadline) throws Exception {
        List<Long> add = new ArrayList<>();
        List<Long> remove = new ArrayList<>();
        List<Long> probe = new ArrayList<>();
        List<Integer> probesPerAdd = new ArrayList<>();
        List<Long> addWrite = new ArrayList<>();
        int missedAdd = 0;
        int missedRemove = 0;
        boolean budgetHit = false;
        try (Registry registry = source.equals("zookeeper") ? new ZooKeeperRegistry() : new MarathonRegistry()) {
            Node node = startNode(registry);
            IdBackend previous = null;
            try {
                int vip = node.listenAddress("orders").orElseThrow().getPort();
                awaitReady(node, registry.name());
                int total = warmup + trials;
                for (int i = 0; i < total; i++) {
                    if (System.nanoTime() > deadline) {
                        budgetHit = true;
                        break;
                    }
                    if (previous != null) {
                        IdBackend gone = previous;
                        long t0 = registry.remove(i - 1, gone);
                        Probe p = awaitProbe(vip, id -> !gone.id().equals(id), t0);
                        previous = null;
                        gone.close();
                        if (i - 1 >= warmup) {
                            if (p == null) {
                                missedRemove++;
                            } else {
                                remove.add(p.elapsed());
                            }
                        }
                        LockSupport.parkNanos(TRIAL_GAP_NANOS);
                    }
                    IdBackend fresh = new IdBackend(source.charAt(0) + Integer.toString(i));
                    previous = fresh;
                    long t0 = registry.add(i, fresh);
                    long written = System.nanoTime();
                    Probe p = awaitProbe(vip, id -> fresh.id().equals(id), t0);
                    if (i >= warmup) {
                        if (p == null) {
                            missedAdd++;
                        } else {
                            add.add(p.elapsed());
                            probe.add(p.lastProbe());
                            probesPerAdd.add(p.probes());
                            addWrite.add(written - t0);
                        }
                    }
                    LockSupport.parkNanos(TRIAL_GAP_NANOS);
                }
                if (previous != null) {
                    IdBackend gone = previous;
                    int last = warmup + add.size() + missedAdd - 1;
                    long t0 = registry.remove(last, gone);
                    Probe p = awaitProbe(vip, id -> !gone.id().equals(id), t0);
                    if (last >= warmup) {
                        if (p == null) {
                            missedRemove++;
                        } else {
                            remove.add(p.elapsed());
                        }
                    }
                }
            } finally {
                if (previous != null) {
                    previous.close();
                }
                node.shutdown(Duration.ZERO);
            }
        }
        return new SourceResult(source, trials, warmup, add, remove, probe, probesPerAdd, addWrite, missedAdd,
                missedRemove, budgetHit);
    }

    private static Node startNode(Registry registry) throws Exception {
        String yaml = """
                admin: {enabled: false}
                %svips:
                  - name: orders
                    listen: 127.0.0.1:%d
                    service: "%s"
                """.formatted(registry.discoveryYaml(), freePort(), registry.service());
        ConfigResult r = ConfigLoader.parse(yaml, "propagation-" + registry.name() + ".yaml");
        if (!(r instanceof ConfigResult.Valid valid)) {
            throw new IllegalStateException("bench config invalid: " + r + "\n" + yaml);
        }
        return Node.start(Node.Options.fixed("propagation", valid.config()));
    }

    /** Bounded wait (20 s) for the source's first complete load and a listening VIP. */
    private static void awaitReady(Node node, String source) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < until) {
            NodeView view = node.control().view();
            boolean connected = view.sources().stream().anyMatch(s -> s.name().equals(source) && s.connected());
            boolean listening = view.vip("orders").map(NodeView.VipView::listening).orElse(false);
            if (connected && listening) {
                return;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // polling a bounded start-up condition
        }
        throw new IllegalStateException("source " + source + " not connected (or VIP not listening) within 20 s: "
                + node.control().view().sources());
    }

    /** A finished wait: time from the write, probes it took, duration of the deciding probe. */
    record Probe(long elapsed, int probes, long lastProbe) {
    }

    /**
     * Opens a new connection through the VIP per try until the backend it reaches satisfies
     * {@code done} ({@code null} = the connection reached no backend); null after
     * {@link #PHASE_CAP}.
     */
    private static Probe awaitProbe(int vip, Predicate<String> done, long t0) {
        long cap = t0 + PHASE_CAP.toNanos();
        int probes = 0;
        while (true) {
            long p0 = System.nanoTime();
            String id = probe(vip);
            long p1 = System.nanoTime();
            probes++;
            if (done.test(id)) {
                return new Probe(p1 - t0, probes, p1 - p0);
            }
            if (p1 > cap) {
                return null;
            }
            LockSupport.parkNanos(PROBE_PAUSE_NANOS); // leave the node's threads a core between tries
        }
    }

    /** One new connection, one newline; the backend's id, or null if it reached none. */
    private static String probe(int port) {
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.setSoTimeout((int) PROBE_TIMEOUT.toMillis());
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), (int) PROBE_TIMEOUT.toMillis());
            s.getOutputStream().write('\n');
            InputStream in = s.getInputStream();
            StringBuilder id = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    return id.toString();
                }
                id.append((char) c);
                if (id.length() > 64) {
                    return null;
                }
            }
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    // ------------------------------------------------------------------ statistics and report

    /** Nearest-rank percentile (p99 of 100 samples is the 99th smallest) in milliseconds. */
    static double percentileMs(List<Long> nanos, double p) {
        if (nanos.isEmpty()) {
            return Double.NaN;
        }
        List<Long> sorted = nanos.stream().sorted().toList();
        int rank = (int) Math.ceil(p / 100.0 * sorted.size());
        return sorted.get(Math.max(1, rank) - 1) / 1e6;
    }

    private static String ms(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String summaryLine(SourceResult r) {
        return String.format(Locale.ROOT,
                "%s: add n=%d p50=%s p90=%s p99=%s max=%s ms missed=%d | remove n=%d p50=%s p90=%s p99=%s max=%s ms"
                        + " missed=%d | probe p50=%s ms%s",
                r.source(), r.add().size(), ms(percentileMs(r.add(), 50)), ms(percentileMs(r.add(), 90)),
                ms(percentileMs(r.add(), 99)), ms(percentileMs(r.add(), 100)), r.missedAdd(), r.remove().size(),
                ms(percentileMs(r.remove(), 50)), ms(percentileMs(r.remove(), 90)), ms(percentileMs(r.remove(), 99)),
                ms(percentileMs(r.remove(), 100)), r.missedRemove(), ms(percentileMs(r.probe(), 50)),
                r.budgetHit() ? " (time budget hit: fewer trials than asked)" : "");
    }

    private static String report(List<SourceResult> results, String args, String loadBefore, String loadAfter,
                                 double seconds) {
        StringBuilder sb = new StringBuilder();
        sb.append("### Discovery propagation (`perf/propagation ").append(args).append("`)\n\n");
        sb.append("Run ").append(Instant.now().truncatedTo(ChronoUnit.SECONDS)).append(", ")
                .append(String.format(Locale.ROOT, "%.1f", seconds)).append(" s. Machine: ")
                .append(Runtime.getRuntime().availableProcessors()).append(" cores; Java ")
                .append(System.getProperty("java.vm.version")).append("; load average before ").append(loadBefore)
                .append(", after ").append(loadAfter).append(".\n\n");
        sb.append("| source | phase | trials | p50 ms | p90 ms | p99 ms | max ms | missed (> 5 s) | p99 ≤ 50 ms |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|\n");
        for (SourceResult r : results) {
            row(sb, r.source(), "add → first connection to it", r.add(), r.missedAdd());
            row(sb, r.source(), "(add → start of that connection)", minus(r.add(), r.probe()), r.missedAdd());
            row(sb, r.source(), "remove → no connection to it", r.remove(), r.missedRemove());
        }
        sb.append('\n');
        for (SourceResult r : results) {
            sb.append(String.format(Locale.ROOT,
                    "- %s: %d measured trials after %d warm-up trials%s; deciding probe (connect + newline + reply"
                            + " through the VIP) p50 %s ms, max %s ms; probes per add: median %d, max %d;"
                            + " the add write call itself (t0 until it returned) p50 %s ms, p99 %s ms.%n",
                    r.source(), r.add().size() + r.missedAdd(), r.warmup(),
                    r.budgetHit() ? " (time budget hit before " + r.requested() + ")" : "",
                    ms(percentileMs(r.probe(), 50)), ms(percentileMs(r.probe(), 100)),
                    median(r.probesPerAdd()), r.probesPerAdd().stream().mapToInt(Integer::intValue).max().orElse(0),
                    ms(percentileMs(r.addWrite(), 50)), ms(percentileMs(r.addWrite(), 99))));
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, String source, String phase, List<Long> nanos, int missed) {
        double p99 = percentileMs(nanos, 99);
        String goal = nanos.isEmpty() ? "n/a" : (p99 <= GOAL_P99_MS && missed == 0 ? "yes" : "**no**");
        sb.append("| ").append(source).append(" | ").append(phase).append(" | ").append(nanos.size()).append(" | ")
                .append(ms(percentileMs(nanos, 50))).append(" | ").append(ms(percentileMs(nanos, 90))).append(" | ")
                .append(ms(p99)).append(" | ").append(ms(percentileMs(nanos, 100))).append(" | ").append(missed)
                .append(" | ").append(goal).append(" |\n");
    }

    /** Per trial: time to the start of the deciding probe, i.e. without that probe's own duration. */
    private static List<Long> minus(List<Long> elapsed, List<Long> probe) {
        List<Long> out = new ArrayList<>(elapsed.size());
        for (int i = 0; i < elapsed.size(); i++) {
            out.add(elapsed.get(i) - probe.get(i));
        }
        return out;
    }

    private static int median(List<Integer> values) {
        if (values.isEmpty()) {
            return 0;
        }
        List<Integer> sorted = values.stream().sorted().toList();
        return sorted.get((sorted.size() - 1) / 2);
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }
}
