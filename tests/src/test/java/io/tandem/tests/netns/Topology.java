package io.tandem.tests.netns;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A throw-away L2 network of Linux network namespaces for system tests: one namespace holds a
 * bridge ({@code br0}), every other namespace ("host") gets one veth ({@code eth0}) plugged into
 * it and one address from 198.18.0.0/15, no default route. The host's own namespace is never
 * touched, so nothing of a test's network can leak into the machine's.
 *
 * <p>Namespace names are {@code tnd-<pid>-<host>} with the test JVM's pid: {@link #sweep()}
 * deletes those whose pid is gone (a run killed before its cleanup), {@link #close()} deletes
 * this run's. Deleting a namespace deletes its veth ends and its iptables rules with it.
 * Needs root and {@code ip netns}: {@link #unavailableReason()} says why not, for a skip.
 */
public final class Topology implements AutoCloseable {
    /** The name of the interface every host gets. */
    public static final String IFACE = "eth0";
    private static final Pattern OURS = Pattern.compile("tnd-(\\d+)-[a-z0-9]+");

    private final String prefix;
    private final String bridgeNs;
    private final Map<String, String> addresses = new LinkedHashMap<>();

    private Topology(String prefix) {
        this.prefix = prefix;
        this.bridgeNs = prefix + "br";
    }

    /** Null when namespaces can be built here, else why not (for an assumption's message). */
    public static String unavailableReason() {
        if (!"Linux".equals(System.getProperty("os.name"))) {
            return "network namespaces need Linux";
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            return "network namespaces need root";
        }
        try {
            if (run(List.of("ip", "netns", "list")).code() != 0) {
                return "`ip netns` is unavailable";
            }
        } catch (IOException e) {
            return "`ip` is not installed: " + e.getMessage();
        }
        return null;
    }

    /** Deletes the namespaces of test runs whose JVM is gone; returns how many. */
    public static int sweep() throws IOException {
        int n = 0;
        for (String line : run(List.of("ip", "netns", "list")).output().split("\n")) {
            String name = line.split(" ")[0].trim();
            Matcher m = OURS.matcher(name);
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).map(h -> !h.isAlive()).orElse(true)) {
                run(List.of("ip", "netns", "delete", name));
                n++;
            }
        }
        return n;
    }

    /** Creates the bridge namespace of this JVM's topology (deleting a leftover one of this pid). */
    public static Topology create() throws IOException {
        return create("");
    }

    /**
     * As {@link #create()}, the namespace names tagged {@code tnd-<pid>-<tag><host>} (e.g. "nem"),
     * so that a test's namespaces are told apart at a glance; {@link #sweep()} still finds them.
     */
    public static Topology create(String tag) throws IOException {
        if (!tag.matches("[a-z0-9]*")) {
            throw new IllegalArgumentException("tag: " + tag + " (expected [a-z0-9]*)");
        }
        Topology t = new Topology("tnd-" + ProcessHandle.current().pid() + "-" + tag);
        t.deleteAll();
        try {
            t.ok(List.of("ip", "netns", "add", t.bridgeNs));
            t.ok(List.of("ip", "-n", t.bridgeNs, "link", "add", "br0", "type", "bridge"));
            t.ok(List.of("ip", "-n", t.bridgeNs, "link", "set", "br0", "up"));
            t.ok(List.of("ip", "-n", t.bridgeNs, "link", "set", "lo", "up"));
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /** Adds a namespace {@code host} whose {@code eth0} on the bridge has {@code address/16}. */
    public Topology host(String host, String address) throws IOException {
        requireNonNull(host, "host");
        if (!address.startsWith("198.18.") && !address.startsWith("198.19.")) {
            throw new IllegalArgumentException("address: " + address + " (expected one in 198.18.0.0/15)");
        }
        String ns = ns(host);
        ok(List.of("ip", "netns", "add", ns));
        ok(List.of("ip", "-n", bridgeNs, "link", "add", host, "type", "veth", "peer", "name", IFACE, "netns", ns));
        ok(List.of("ip", "-n", bridgeNs, "link", "set", host, "master", "br0"));
        ok(List.of("ip", "-n", bridgeNs, "link", "set", host, "up"));
        ok(List.of("ip", "-n", ns, "addr", "add", address + "/16", "dev", IFACE));
        ok(List.of("ip", "-n", ns, "link", "set", IFACE, "up"));
        ok(List.of("ip", "-n", ns, "link", "set", "lo", "up"));
        addresses.put(host, address);
        return this;
    }

    /** The namespace name of {@code host}. */
    public String ns(String host) {
        return prefix + host;
    }

    public String address(String host) {
        String a = addresses.get(host);
        if (a == null) {
            throw new IllegalArgumentException("host: " + host + " (expected one of " + addresses.keySet() + ")");
        }
        return a;
    }

    /** The command prefix that runs a program inside {@code host}'s namespace (same pid: ip execs). */
    public List<String> in(String host) {
        return List.of("ip", "netns", "exec", ns(host));
    }

    /** Runs {@code cmd} inside {@code host}'s namespace, bounded to 10 s. */
    public Result exec(String host, String... cmd) throws IOException {
        List<String> all = new ArrayList<>(in(host));
        all.addAll(List.of(cmd));
        return run(all);
    }

    /**
     * Takes {@code host}'s switch port (its veth end in the bridge namespace) down or up: a
     * pulled cable. The host's own {@code eth0} stays administratively up with its addresses and
     * routes; it only loses carrier, so its kernel keeps sending (into the void) and reports no
     * error, and nothing reaches or leaves it: no FIN, no RST, no ARP. Idempotent.
     */
    public void link(String host, boolean up) throws IOException {
        address(host);
        ok(List.of("ip", "-n", bridgeNs, "link", "set", host, up ? "up" : "down"));
    }

    /** The IPv4 addresses on {@code eth0} of {@code host}, as {@code a.b.c.d/len}. */
    public List<String> addressesOn(String host) throws IOException {
        Result r = run(List.of("ip", "-n", ns(host), "-o", "-4", "addr", "show", "dev", IFACE));
        List<String> out = new ArrayList<>();
        for (String line : r.output().split("\n")) {
            Matcher m = Pattern.compile("inet (\\S+)").matcher(line);
            if (m.find()) {
                out.add(m.group(1));
            }
        }
        return out;
    }

    /** Whether {@code ip} on {@code host} has {@code address/32} on eth0. */
    public boolean has(String host, String address) throws IOException {
        return addressesOn(host).contains(address + "/32");
    }

    @Override
    public void close() throws IOException {
        deleteAll();
    }

    private void deleteAll() throws IOException {
        for (String line : run(List.of("ip", "netns", "list")).output().split("\n")) {
            String name = line.split(" ")[0].trim();
            if (name.startsWith(prefix)) {
                run(List.of("ip", "netns", "delete", name));
            }
        }
    }

    /** Exit code and merged output of a command. */
    public record Result(int code, String output) {
    }

    private void ok(List<String> cmd) throws IOException {
        Result r = run(cmd);
        if (r.code() != 0) {
            throw new IOException(String.join(" ", cmd) + ": exit " + r.code() + ": " + r.output().strip());
        }
    }

    /** Runs a command to completion, bounded to 10 s (a hung one reads as exit -1). */
    public static Result run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timeout: " + String.join(" ", cmd));
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", cmd), e);
        }
    }
}
