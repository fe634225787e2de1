package io.tandem.core.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code tandem demo --pair}: an HA pair failing over, on this machine (Linux, root). Network
 * namespaces on one bridge (addresses from 198.18.0.0/15, no default route, the host's own
 * network untouched) hold two {@code tandem run} nodes ({@code lb1}, {@code lb2}), ZooKeeper
 * and two HTTP backends ({@code be}) and a client; the nodes share the VIP addresses
 * 198.18.1.10 (preferred owner lb1) and 198.18.1.11 (lb2). The client fetches through
 * 198.18.1.10; its owner is killed with SIGKILL; the demo prints what the client saw and the
 * survivor's own takeover time, then ends. Each node's dashboard is forwarded to the host's
 * loopback ({@link NamespacePort}) to be watched in a browser meanwhile.
 *
 * <p>Everything it creates is named {@code tdemo-<pid>-*} (namespaces, with the veths in them)
 * or lives in one temporary folder, and is removed when the demo ends: normally, on an error
 * half-way, or on Ctrl-C/SIGTERM (a shutdown hook). What a demo killed with SIGKILL leaves is
 * removed by the next one ({@link #sweep}): namespaces whose pid is gone, with the processes
 * still in them.
 */
final class DemoPair {
    static final String PREFIX = "tdemo-";
    static final String VIP = "198.18.1.10";
    static final String OTHER_VIP = "198.18.1.11";
    private static final Pattern OURS = Pattern.compile("tdemo-(\\d+)-[a-z0-9]+");
    private static final String IFACE = "eth0";
    private static final int ADMIN_PORT = 9090;
    private static final int PEER_PORT = 7946;
    private static final String[][] HOSTS = {
            {"lb1", "198.18.0.1"}, {"lb2", "198.18.0.2"}, {"be", "198.18.0.20"}, {"client", "198.18.0.100"}};

    private final PrintWriter out;
    private final int offset;
    private final Duration linger;
    private final String prefix = PREFIX + ProcessHandle.current().pid() + "-";
    private final List<Process> processes = new CopyOnWriteArrayList<>();
    private final List<NamespacePort> ports = new CopyOnWriteArrayList<>();
    private final List<String> clientLines = new CopyOnWriteArrayList<>();
    private Path dir;
    private boolean cleaned;

    DemoPair(PrintWriter out, int offset, Duration linger) {
        this.out = out;
        this.offset = offset;
        this.linger = linger;
    }

    /** What this machine lacks for the pair demo, or empty when it can run here. */
    static Optional<String> missing() {
        boolean linux = "Linux".equals(System.getProperty("os.name"));
        boolean root = linux && effectiveUid() == 0;
        boolean ipNetns = false;
        if (root) {
            try {
                ipNetns = run(List.of("ip", "netns", "list")).code() == 0;
            } catch (IOException e) {
                ipNetns = false;
            }
        }
        return missing(linux, root, ipNetns);
    }

    static Optional<String> missing(boolean linux, boolean root, boolean ipNetns) {
        String why = !linux ? "Linux" : !root ? "root" : !ipNetns ? "iproute2's `ip netns`" : null;
        if (why == null) {
            return Optional.empty();
        }
        return Optional.of("demo --pair needs " + why + ": it builds network namespaces (two nodes, ZooKeeper "
                + "and backends, a client) and moves a VIP address between them. Run it as root on Linux "
                + "with iproute2 installed (sudo ./tandem demo --pair), or try the single-node tour: ./tandem demo");
    }

    private static int effectiveUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.split("\\s+")[2]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux as we know it
        }
        return -1;
    }

    /** Runs the scenario; 0 when the takeover was shown, 3 when the demo could not be set up. */
    int run() throws Exception {
        Thread hook = Thread.ofPlatform().unstarted(() -> {
            say("== interrupted: removing the demo's namespaces, processes and folder");
            cleanup();
        });
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return scenario();
        } catch (IOException e) {
            say("demo: %s", e.getMessage());
            return TandemMain.EXIT_FAILED;
        } finally {
            cleanup();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already: the hook runs cleanup (a no-op now)
            }
        }
    }

    private int scenario() throws Exception {
        int swept = sweep();
        if (swept > 0) {
            say("   (removed %d namespace(s) an earlier demo killed before its cleanup left)", swept);
        }
        dir = Files.createTempDirectory("tandem-demo-pair-");
        say("Tandem HA pair demo: namespaces %s*, addresses from 198.18.0.0/15, logs in %s", prefix, dir);
        network();
        Path java = Path.of(ProcessHandle.current().info().command().orElse("java"));
        Path jar = Path.of(DemoPair.class.getProtectionDomain().getCodeSource().getLocation().toURI());

        say("== ZooKeeper and two HTTP backends in %sbe (198.18.0.20:2181, :8000, :8001)", prefix);
        Process infra = start("infra", "be", java(java, jar, "io.tandem.core.cli.DemoPairParts", "infra",
                own(), dir.toString(), address("be")));
        if (!await(Duration.ofSeconds(60), () -> logHas("infra", DemoPairParts.READY), infra)) {
            say("demo: ZooKeeper/backends did not start");
            showLogs();
            return TandemMain.EXIT_FAILED;
        }

        say("== two Tandem nodes: lb1 in %slb1 (198.18.0.1), lb2 in %slb2 (198.18.0.2)", prefix, prefix);
        say("   they share %s (preferred owner lb1) and %s (preferred owner lb2) through ZooKeeper", VIP, OTHER_VIP);
        Process lb1 = startNode(java, jar, "lb1", "lb2");
        Process lb2 = startNode(java, jar, "lb2", "lb1");
        int port1 = 9091 + offset;
        int port2 = 9092 + offset;
        boolean dashboards = forward("lb1", port1) & forward("lb2", port2);
        if (dashboards) {
            say("   dashboards: http://127.0.0.1:%d/ (lb1)   http://127.0.0.1:%d/ (lb2)   (watch the takeover there)",
                    port1, port2);
        }
        long t0 = System.nanoTime();
        if (!await(Duration.ofSeconds(90), () -> owners(VIP).equals("lb1") && owners(OTHER_VIP).equals("lb2"),
                lb1, lb2)) {
            say("demo: the pair did not settle (%s on %s, %s on %s)", VIP, owners(VIP), OTHER_VIP,
                    owners(OTHER_VIP));
            showLogs();
            return TandemMain.EXIT_FAILED;
        }
        say("   %s is on lb1, %s on lb2 (%.1f s after start)", VIP, OTHER_VIP, (System.nanoTime() - t0) / 1e9);

        say("== a client in %sclient opens a new connection to http://%s/ every 100 ms", prefix, VIP);
        Process client = start("client", "client", java(java, jar, "io.tandem.core.cli.DemoPairParts", "client",
                own(), VIP, "80", "100"));
        Thread.ofVirtual().start(() -> readLines(client));
        if (!await(Duration.ofSeconds(30), () -> count(0, true) >= 10, client)) {
            say("demo: the client got no answers through %s", VIP);
            showLogs();
            return TandemMain.EXIT_FAILED;
        }
        long t = progress(System.currentTimeMillis(), 3, () -> false);

        long killAt = System.currentTimeMillis();
        long killNanos = System.nanoTime();
        lb1.destroyForcibly(); // SIGKILL: no goodbye to the peer, no address removed
        say("== kill -9 lb1 (pid %d, the owner of %s) at %s", lb1.pid(), VIP,
                LocalTime.now().truncatedTo(ChronoUnit.MILLIS));
        long[] movedMs = {-1};
        Thread watch = Thread.ofVirtual().start(() -> {
            while (movedMs[0] < 0 && System.nanoTime() - killNanos < TimeUnit.SECONDS.toNanos(30)) {
                if (holds("lb2", VIP)) {
                    movedMs[0] = (System.nanoTime() - killNanos) / 1_000_000;
                    return;
                }
                try {
                    // a spawned `ip` per poll: not faster, or the demo's own polling slows the takeover
                    TimeUnit.MILLISECONDS.sleep(40);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        progress(t, 30, () -> !watch.isAlive() && count(killAt, true) >= 10);
        watch.join();
        if (movedMs[0] < 0) {
            say("demo: lb2 did not take %s over within 30 s", VIP);
            showLogs();
            return TandemMain.EXIT_FAILED;
        }
        say("   %s went onto lb2's interface %d ms after the kill (lb1's namespace still lists it: a SIGKILLed",
                VIP, movedMs[0]);
        say("   process cannot remove its address; lb2's gratuitous ARPs moved the client over)");

        ClientView view = ClientView.of(clientLines, killAt);
        say("== what the client saw: %d connection(s) failed; %s unserved (kill -> first answer of a "
                + "connection opened after it)", view.failed(), view.unservedMs() < 0 ? "never" : view.unservedMs()
                + " ms");
        takeover().ifPresentOrElse(
                ms -> say("== lb2's view: it took %s over from lb1 in %d ms (tandem_ha_takeover_duration_seconds: "
                        + "from lb1's last heartbeat to the address on lb2's interface)", VIP, ms),
                () -> say("== lb2's view: no takeover time in its metrics"));
        if (!linger.isZero()) {
            say("   the survivor keeps serving for %s more (dashboard above; Ctrl-C ends the demo)", linger);
            Thread.sleep(linger.toMillis()); // the demo's own lifetime, not a wait for a condition
        }
        say("== demo done; removing the namespaces, processes and %s", dir);
        return 0;
    }

    /** The last lines of each helper's log: the folder goes with the demo, so a failure shows them here. */
    private void showLogs() {
        try (var logs = Files.list(dir)) {
            for (Path log : logs.filter(p -> p.toString().endsWith(".log")).sorted().toList()) {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                say("-- last lines of %s:", log.getFileName());
                lines.subList(Math.max(0, lines.size() - 12), lines.size()).forEach(l -> say("   %s", l));
            }
        } catch (IOException | RuntimeException e) {
            say("(cannot read the logs: %s)", e.getMessage());
        }
    }

    /**
     * Prints the client's successes and failures of each second, for at most {@code seconds}
     * seconds or until {@code done}; returns the end of the last second printed.
     */
    private long progress(long from, int seconds, BooleanSupplier done) throws InterruptedException {
        long t = from;
        for (int i = 0; i < seconds && !done.getAsBoolean(); i++) {
            Thread.sleep(1000); // pacing the progress lines, not waiting for a condition
            long now = System.currentTimeMillis();
            say("   client: %2d ok, %2d failed", count(t, now, true), count(t, now, false));
            t = now;
        }
        return t;
    }

    private long count(long since, boolean ok) {
        return count(since, Long.MAX_VALUE, ok);
    }

    private long count(long since, long before, boolean ok) {
        return ClientView.attempts(clientLines).stream()
                .filter(a -> a.ok() == ok && a.end() >= since && a.end() < before).count();
    }

    /** The one line per attempt of the client (see {@link DemoPairParts}), and what it says around a kill. */
    record ClientView(long failed, long unservedMs) {
        record Attempt(long start, long end, boolean ok) {
        }

        static List<Attempt> attempts(List<String> lines) {
            List<Attempt> out = new ArrayList<>();
            for (String line : lines) {
                String[] f = line.split(" ", 5);
                if (f.length >= 4 && f[0].equals("R")) {
                    out.add(new Attempt(Long.parseLong(f[1]), Long.parseLong(f[2]), f[3].equals("ok")));
                }
            }
            out.sort(Comparator.comparingLong(Attempt::start));
            return out;
        }

        /** Failed attempts that ended after {@code killAt}; kill → first success of an attempt started after it (-1: none). */
        static ClientView of(List<String> lines, long killAt) {
            List<Attempt> as = attempts(lines);
            long failed = as.stream().filter(a -> !a.ok() && a.end() >= killAt).count();
            long firstOk = as.stream().filter(a -> a.ok() && a.start() >= killAt).mapToLong(Attempt::end).min()
                    .orElse(-1);
            return new ClientView(failed, firstOk < 0 ? -1 : firstOk - killAt);
        }
    }

    /** lb2's takeover time for the VIP from its metrics, in ms. */
    private Optional<Long> takeover() {
        String metrics = httpGet(9092 + offset, "/metrics").orElse("");
        return takeoverMillis(metrics, VIP);
    }

    static Optional<Long> takeoverMillis(String metrics, String address) {
        Matcher sum = Pattern.compile("^tandem_ha_takeover_duration_seconds_sum\\{address=\"" + Pattern.quote(address)
                + "\"[^}]*} (\\S+)$", Pattern.MULTILINE).matcher(metrics);
        Matcher count = Pattern.compile("^tandem_ha_takeover_duration_seconds_count\\{address=\""
                + Pattern.quote(address) + "\"[^}]*} (\\S+)$", Pattern.MULTILINE).matcher(metrics);
        if (!sum.find() || !count.find() || Double.parseDouble(count.group(1)) < 1) {
            return Optional.empty();
        }
        return Optional.of(Math.round(Double.parseDouble(sum.group(1)) / Double.parseDouble(count.group(1)) * 1000));
    }

    private static Optional<String> httpGet(int port, String path) {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? Optional.of(r.body()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private boolean forward(String host, int localPort) {
        try {
            ports.add(NamespacePort.open(prefix + host, localPort,
                    new InetSocketAddress("127.0.0.1", ADMIN_PORT)));
            return true;
        } catch (IOException e) {
            say("   (no dashboard forward for %s on 127.0.0.1:%d: %s; try --port-offset)", host, localPort,
                    e.getMessage());
            return false;
        }
    }

    private Process startNode(Path java, Path jar, String self, String peer) throws IOException {
        Path config = dir.resolve(self + ".yaml");
        Files.writeString(config, """
                # written by tandem demo --pair
                admin: {listen: "127.0.0.1:%d"}
                ha:
                  node_id: %s
                  cluster: demo
                  listen: "%s:%d"
                  peers: [{id: %s, address: "%s:%d"}]
                  zookeeper: {connect: "%s:%d"}
                  interface: %s
                  addresses:
                    - {address: %s, preferred_owner: lb1}
                    - {address: %s, preferred_owner: lb2}
                vips:
                  - name: web10
                    listen: "%s:80"
                    health_check: {type: http, path: /healthz}
                    backends: ["%s:%d", "%s:%d"]
                  - name: web11
                    listen: "%s:80"
                    health_check: {type: http, path: /healthz}
                    backends: ["%s:%d", "%s:%d"]
                """.formatted(ADMIN_PORT, self, address(self), PEER_PORT, peer, address(peer), PEER_PORT,
                address("be"), DemoPairParts.ZK_PORT, IFACE, VIP, OTHER_VIP, VIP, address("be"),
                DemoPairParts.BACKEND_PORT, address("be"), DemoPairParts.BACKEND_PORT + 1, OTHER_VIP, address("be"),
                DemoPairParts.BACKEND_PORT, address("be"), DemoPairParts.BACKEND_PORT + 1));
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-XX:+UseCompactObjectHeaders",
                "--enable-native-access=ALL-UNNAMED", "-Dtandem.demo.owner=" + ProcessHandle.current().pid(),
                "-jar", jar.toString(), "run", "--no-watch", "--node-name", self, "--config", config.toString()));
        return start(self, self, cmd);
    }

    private List<String> java(Path java, Path jar, String main, String... args) {
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "-XX:+UseCompactObjectHeaders",
                "--enable-native-access=ALL-UNNAMED", "-Dtandem.demo.owner=" + ProcessHandle.current().pid()));
        if (args[0].equals("infra")) {
            // ZooKeeper's snapshot code names Snappy's classes, which the jar leaves out (ZooKeeper
            // marks them "provided"; 2 MB of native libraries): unverified, they are never loaded,
            // as the demo's ZooKeeper never compresses. Demo helper process only.
            cmd.addAll(List.of("-XX:+UnlockDiagnosticVMOptions", "-XX:-BytecodeVerificationRemote"));
        }
        cmd.addAll(List.of("-cp", jar.toString(), main));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static String own() {
        return Long.toString(ProcessHandle.current().pid());
    }

    /** Starts {@code cmd} inside {@code host}'s namespace ({@code ip netns exec} execs it: same pid), output in DIR/NAME.log. */
    private Process start(String name, String host, List<String> cmd) throws IOException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", prefix + host));
        all.addAll(cmd);
        ProcessBuilder pb = new ProcessBuilder(all).redirectErrorStream(true);
        if (!name.equals("client")) {
            pb.redirectOutput(dir.resolve(name + ".log").toFile());
        }
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private void readLines(Process client) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(client.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                clientLines.add(line);
            }
        } catch (IOException e) {
            // client gone
        }
    }

    private boolean logHas(String name, String text) {
        try {
            return Files.readString(dir.resolve(name + ".log")).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Polls {@code condition} every 200 ms (some spawn {@code ip}: rarely enough not to slow the
     * JVMs starting beside them) for at most {@code limit}; false early when a process it needs died.
     */
    private static boolean await(Duration limit, BooleanSupplier condition, Process... needed)
            throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            for (Process p : needed) {
                if (!p.isAlive()) {
                    return condition.getAsBoolean();
                }
            }
            TimeUnit.MILLISECONDS.sleep(200);
        }
        return false;
    }

    /** Which nodes have {@code vip} on their interface: lb1, lb2, lb1+lb2 or none (the kernel's word). */
    private String owners(String vip) {
        List<String> held = new ArrayList<>();
        for (String n : List.of("lb1", "lb2")) {
            if (holds(n, vip)) {
                held.add(n);
            }
        }
        return held.isEmpty() ? "none" : String.join("+", held);
    }

    private boolean holds(String host, String vip) {
        try {
            return run(List.of("ip", "-n", prefix + host, "-o", "-4", "addr", "show", "dev", IFACE)).output()
                    .contains(" " + vip + "/");
        } catch (IOException e) {
            return false; // not there (yet)
        }
    }

    private static String address(String host) {
        for (String[] h : HOSTS) {
            if (h[0].equals(host)) {
                return h[1];
            }
        }
        throw new IllegalArgumentException("host: " + host);
    }

    private void network() throws IOException {
        String br = prefix + "br";
        ok("ip", "netns", "add", br);
        ok("ip", "-n", br, "link", "add", "br0", "type", "bridge");
        ok("ip", "-n", br, "link", "set", "br0", "up");
        for (String[] h : HOSTS) {
            String ns = prefix + h[0];
            ok("ip", "netns", "add", ns);
            ok("ip", "-n", br, "link", "add", h[0], "type", "veth", "peer", "name", IFACE, "netns", ns);
            ok("ip", "-n", br, "link", "set", h[0], "master", "br0");
            ok("ip", "-n", br, "link", "set", h[0], "up");
            ok("ip", "-n", ns, "addr", "add", h[1] + "/16", "dev", IFACE);
            ok("ip", "-n", ns, "link", "set", IFACE, "up");
            ok("ip", "-n", ns, "link", "set", "lo", "up");
        }
    }

    /**
     * Everything this demo made, gone: processes (SIGKILL, then whatever else still runs in its
     * namespaces), the namespaces (their veths and the bridge go with them), the folder. Runs once,
     * from the scenario's finally or the shutdown hook, whichever comes first; the other waits.
     */
    synchronized void cleanup() {
        if (cleaned) {
            return;
        }
        cleaned = true;
        ports.forEach(NamespacePort::close);
        for (Process p : processes) {
            p.destroyForcibly();
        }
        for (Process p : processes) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            deleteNamespaces(name -> name.startsWith(prefix));
        } catch (IOException e) {
            out.println("demo: could not remove every namespace " + prefix + "*: " + e.getMessage()
                    + " (ip netns list; ip netns delete NAME)");
        }
        if (dir != null) {
            try (var files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                out.println("demo: could not remove " + dir + ": " + e.getMessage());
            }
        }
        out.flush();
    }

    /** Removes the namespaces (and what still runs in them) of demos whose process is gone; returns how many. */
    static int sweep() throws IOException {
        return deleteNamespaces(name -> {
            Matcher m = OURS.matcher(name);
            return m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).map(h -> !h.isAlive()).orElse(true);
        });
    }

    private static int deleteNamespaces(java.util.function.Predicate<String> which) throws IOException {
        List<String> names = new ArrayList<>();
        for (String line : run(List.of("ip", "netns", "list")).output().split("\n")) {
            String name = line.split(" ")[0].trim();
            if (!name.isEmpty() && which.test(name)) {
                names.add(name);
            }
        }
        for (String name : names) {
            for (String pid : run(List.of("ip", "netns", "pids", name)).output().split("\\s+")) {
                if (!pid.isBlank()) {
                    ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
        }
        for (String name : names) {
            run(List.of("ip", "netns", "delete", name));
        }
        return names.size();
    }

    private void say(String format, Object... args) {
        out.println(args.length == 0 ? format : format.formatted(args));
        out.flush();
    }

    private static void ok(String... cmd) throws IOException {
        Result r = run(List.of(cmd));
        if (r.code() != 0) {
            throw new IOException(String.join(" ", cmd) + ": exit " + r.code() + ": " + r.output().strip());
        }
    }

    record Result(int code, String output) {
    }

    /** Runs a command to completion, bounded to 10 s (a hung one reads as exit -1). */
    static Result run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            byte[] bytes = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timeout: " + String.join(" ", cmd));
            }
            return new Result(p.exitValue(), new String(bytes, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", cmd), e);
        }
    }
}
