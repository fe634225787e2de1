package io.tandem.tests.ha;

import static io.tandem.tests.ha.PairSystem.PEER_PORT;
import static io.tandem.tests.ha.PairSystem.VIP10;
import static io.tandem.tests.ha.PairSystem.VIP11;
import static io.tandem.tests.ha.PairSystem.ZK_PORT;

import io.tandem.tests.TandemProcess;
import io.tandem.tests.ha.OwnershipTimeline.Fault;
import io.tandem.tests.ha.OwnershipTimeline.Sample;
import io.tandem.tests.netns.Topology;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The partition nemesis's hands and eyes on a {@link PairSystem}: an {@link OwnerSamplerMain} in
 * each node's namespace, and the faults (iptables DROP of the peer port one way or both and of
 * ZooKeeper, SIGSTOP/SIGCONT, 2 % CPU through a cgroup v1 cpu group, kill -9 and restart), each
 * logged with its {@code System.nanoTime()} start and heal (the samplers' clock) and healed by
 * {@link #healAll()} whatever happened. Cleanup of a crashed run's leftovers: namespaces and
 * processes by {@link PairSystem#create}'s sweeps (iptables rules live and die with the
 * namespaces), cgroups named {@code tandem-nem-<pid>} of dead pids by {@link #sweepCgroups()}.
 */
final class NemesisRig implements AutoCloseable {
    static final List<String> NODES = List.of("lb1", "lb2");
    static final List<String> VIPS = List.of(VIP10, VIP11);
    private static final Path CPU = Path.of("/sys/fs/cgroup/cpu");
    private static final String CGROUP_PREFIX = "tandem-nem-";

    private final PairSystem pair;
    private final Topology net;
    private final Map<String, Child> samplers = new LinkedHashMap<>();
    private final List<Fault> faults = new CopyOnWriteArrayList<>();
    /** Installed iptables rules per node (the spec after -I/-D CHAIN), removed by {@link #healAll()}. */
    private final Map<String, List<List<String>>> rules = new HashMap<>();
    private final Set<Long> stopped = new TreeSet<>();
    private final Set<Long> starved = new TreeSet<>();
    private Path cgroup;

    NemesisRig(PairSystem pair) {
        this.pair = pair;
        this.net = pair.net();
    }

    /** Removes the {@code tandem-nem-<pid>} cpu cgroups of dead pids (their tasks moved back to the root). */
    static int sweepCgroups() throws IOException {
        if (!Files.isDirectory(CPU)) {
            return 0;
        }
        int n = 0;
        try (var dirs = Files.list(CPU)) {
            for (Path d : dirs.filter(p -> p.getFileName().toString().startsWith(CGROUP_PREFIX)).toList()) {
                String pid = d.getFileName().toString().substring(CGROUP_PREFIX.length());
                boolean alive;
                try {
                    alive = ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false);
                } catch (NumberFormatException e) {
                    alive = false;
                }
                if (!alive) {
                    release(d);
                    n++;
                }
            }
        }
        return n;
    }

    private static void release(Path group) throws IOException {
        for (String task : Files.readAllLines(group.resolve("cgroup.procs"))) {
            if (!task.isBlank()) {
                try {
                    Files.writeString(CPU.resolve("cgroup.procs"), task.strip());
                } catch (IOException e) {
                    // gone meanwhile
                }
            }
        }
        Files.deleteIfExists(group);
    }

    /** Null if CPU starvation can be applied here (cgroup v1 cpu controller writable), else why not. */
    static String starvationUnavailable() {
        return Files.isWritable(CPU.resolve("cgroup.procs")) ? null
                : "no writable cgroup v1 cpu controller at " + CPU;
    }

    /** Creates this run's 2 % cpu group (2 ms every 100 ms). */
    void createCgroup() throws IOException {
        cgroup = CPU.resolve(CGROUP_PREFIX + ProcessHandle.current().pid());
        if (!Files.isDirectory(cgroup)) {
            Files.createDirectory(cgroup);
        }
        Files.writeString(cgroup.resolve("cpu.cfs_period_us"), "100000");
        Files.writeString(cgroup.resolve("cpu.cfs_quota_us"), "2000");
    }

    /** Starts one sampler per node namespace (10 ms period, 20 ms handshake bound) and waits for both. */
    void startSamplers() throws Exception {
        for (String n : NODES) {
            List<String> args = new ArrayList<>(List.of(Long.toString(ProcessHandle.current().pid()), "10", "20",
                    Topology.IFACE, "80"));
            args.addAll(VIPS);
            samplers.put(n, Child.start("sampler-" + n, net.in(n), OwnerSamplerMain.class,
                    args.toArray(String[]::new)).awaitLine(OwnerSamplerMain.READY, Duration.ofSeconds(20)));
        }
    }

    /** Every sample so far, of both nodes. */
    List<Sample> samples() {
        List<Sample> out = new ArrayList<>();
        samplers.forEach((n, c) -> {
            for (String line : c.lines()) {
                Sample s = parse(n, line);
                if (s != null) {
                    out.add(s);
                }
            }
        });
        return out;
    }

    static Sample parse(String node, String line) {
        String[] f = line.split(" ");
        if (f.length < 5 || !f[0].equals("S")) {
            return null;
        }
        return new Sample(node, Long.parseLong(f[1]), f[2], f[3].equals("1"), f[4].equals("1"));
    }

    /** The raw sampler lines, prefixed with the node: for the report under target/. */
    void saveSamples(Path file) throws IOException {
        StringBuilder b = new StringBuilder();
        samplers.forEach((n, c) -> c.lines().forEach(l -> b.append(n).append(' ').append(l).append('\n')));
        Files.writeString(file, b);
    }

    /**
     * Per VIP, the nodes whose last {@code rounds} samples (each) all read accepting, from the
     * samplers' latest lines: who serves it now.
     */
    Map<String, Set<String>> acceptingNow(int rounds) {
        Map<String, Set<String>> out = new LinkedHashMap<>();
        VIPS.forEach(v -> out.put(v, new TreeSet<>()));
        samplers.forEach((n, c) -> {
            List<String> lines = c.lines();
            Map<String, Integer> seen = new HashMap<>();
            Map<String, Boolean> all = new HashMap<>();
            for (int i = lines.size() - 1; i >= 0 && seen.values().stream().mapToInt(x -> x).sum() < rounds * VIPS.size();
                    i--) {
                Sample s = parse(n, lines.get(i));
                if (s == null || seen.getOrDefault(s.vip(), 0) >= rounds) {
                    continue;
                }
                seen.merge(s.vip(), 1, Integer::sum);
                all.merge(s.vip(), s.accepting() && s.listed(), Boolean::logicalAnd);
            }
            all.forEach((v, yes) -> {
                if (yes && seen.getOrDefault(v, 0) >= rounds) {
                    out.get(v).add(n);
                }
            });
        });
        return out;
    }

    /** Whether every VIP is served (listed and accepting) by exactly one node over the last {@code rounds} samples. */
    boolean oneOwnerEach(int rounds) {
        return acceptingNow(rounds).values().stream().allMatch(s -> s.size() == 1);
    }

    List<Fault> faults() {
        return List.copyOf(faults);
    }

    /** Records a fault that was applied at {@code start} and healed now. */
    Fault logged(long start, String label) {
        Fault f = new Fault(start, System.nanoTime(), label);
        faults.add(f);
        return f;
    }

    TandemProcess node(String n) {
        return n.equals("lb1") ? pair.lb1() : pair.lb2();
    }

    static String other(String n) {
        return n.equals("lb1") ? "lb2" : "lb1";
    }

    // --- the faults: each one returns once it has been applied; heal with the matching call ---

    /** Cuts the peer link of {@code node}: "out" (node -> peer), "in" (peer -> node) or "both". */
    void cutPeer(String node, String direction) throws IOException {
        String peer = net.address(other(node));
        if (!direction.equals("in")) {
            rule(node, List.of("OUTPUT", "-d", peer, "-p", "tcp", "-m", "multiport", "--ports",
                    Integer.toString(PEER_PORT), "-j", "DROP"));
        }
        if (!direction.equals("out")) {
            rule(node, List.of("INPUT", "-s", peer, "-p", "tcp", "-m", "multiport", "--ports",
                    Integer.toString(PEER_PORT), "-j", "DROP"));
        }
    }

    /** Cuts {@code node} off from ZooKeeper (both directions, silently). */
    void cutZooKeeper(String node) throws IOException {
        String zk = net.address("zk");
        rule(node, List.of("OUTPUT", "-d", zk, "-p", "tcp", "--dport", Integer.toString(ZK_PORT), "-j", "DROP"));
        rule(node, List.of("INPUT", "-s", zk, "-p", "tcp", "--sport", Integer.toString(ZK_PORT), "-j", "DROP"));
    }

    private void rule(String node, List<String> spec) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("iptables", "-w", "5", "-I"));
        cmd.addAll(spec);
        Topology.Result r = net.exec(node, cmd.toArray(String[]::new));
        if (r.code() != 0) {
            throw new IOException("iptables in " + node + ": " + String.join(" ", cmd) + ": " + r.output());
        }
        rules.computeIfAbsent(node, k -> new ArrayList<>()).add(spec);
    }

    /** Removes every rule this rig installed. */
    void healRules() throws IOException {
        for (var e : rules.entrySet()) {
            for (List<String> spec : e.getValue()) {
                List<String> cmd = new ArrayList<>(List.of("iptables", "-w", "5", "-D"));
                cmd.addAll(spec);
                net.exec(e.getKey(), cmd.toArray(String[]::new));
            }
        }
        rules.clear();
    }

    void freeze(String node) throws IOException, InterruptedException {
        long pid = node(node).pid();
        node(node).signal("STOP");
        stopped.add(pid);
    }

    void thaw(String node) throws IOException, InterruptedException {
        long pid = node(node).pid();
        node(node).signal("CONT");
        stopped.remove(pid);
    }

    /**
     * Moves {@code node}'s JVM into the 2 % group: writing the pid to {@code cgroup.procs} moves
     * every thread of it (checked: the group's {@code tasks} must then list as many threads as
     * {@code /proc/<pid>/task} has).
     */
    int starve(String node) throws IOException {
        long pid = node(node).pid();
        Files.writeString(cgroup.resolve("cgroup.procs"), Long.toString(pid));
        starved.add(pid);
        long inGroup = Files.readAllLines(cgroup.resolve("tasks")).stream().filter(s -> !s.isBlank()).count();
        int threads;
        try (var ts = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            threads = (int) ts.count();
        }
        if (inGroup < threads) {
            throw new IOException("only " + inGroup + " of " + threads + " threads of " + node + " moved into " + cgroup);
        }
        return threads;
    }

    void feed(String node) throws IOException {
        long pid = node(node).pid();
        Files.writeString(CPU.resolve("cgroup.procs"), Long.toString(pid));
        starved.remove(pid);
    }

    /** kill -9 of {@code node}; returns once it is gone. */
    void kill(String node) throws Exception {
        TandemProcess p = node(node);
        p.signal("KILL");
        stopped.remove(p.pid());
        starved.remove(p.pid());
        p.waitForExit(Duration.ofSeconds(10));
    }

    /** A new process for {@code node} in the pair's cluster (a kill -9 leaves its address behind: it sweeps it). */
    void restart(String node) throws IOException {
        pair.startNode(node, pair.cluster());
    }

    /**
     * Undoes every fault still in place: rules removed, stopped nodes continued, starved ones put
     * back in the root group, a dead node restarted. Best effort throughout: one failed step must
     * not leave the others undone.
     */
    void healAll() {
        try {
            healRules();
        } catch (IOException e) {
            System.out.println("NEMESIS heal rules: " + e);
        }
        for (String n : NODES) {
            TandemProcess p = node(n);
            if (p == null) {
                continue;
            }
            try {
                if (starved.contains(p.pid())) {
                    feed(n);
                }
                if (stopped.contains(p.pid())) {
                    thaw(n);
                }
                if (!p.process().isAlive()) {
                    restart(n);
                }
            } catch (Exception e) {
                System.out.println("NEMESIS heal " + n + ": " + e);
            }
        }
    }

    @Override
    public void close() throws Exception {
        healAll();
        for (Child c : samplers.values()) {
            c.close();
        }
        samplers.clear();
        if (cgroup != null && Files.isDirectory(cgroup)) {
            release(cgroup);
        }
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }
}
