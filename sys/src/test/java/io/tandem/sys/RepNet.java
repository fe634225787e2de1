package io.tandem.sys;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The connection-survival tests' network: namespaces {@code rep<pid>-br} (a bridge),
 * {@code rep<pid>-c} (the client) and {@code rep<pid>-n1}, {@code rep<pid>-n2} (two nodes), each
 * host with an {@code eth0} on the bridge and an address in 198.18.29.0/24. The machine's own
 * namespace is never touched. {@link #sweep()} deletes the namespaces of runs whose JVM is gone
 * (a crash before cleanup), {@link #close()} this run's. {@link #call} runs code on a fresh thread
 * that has entered a host's namespace: sockets it creates live there, and may be used from any
 * thread afterwards.
 */
final class RepNet implements AutoCloseable {
    static final String CLIENT = "c";
    static final String NODE1 = "n1";
    static final String NODE2 = "n2";
    static final String BACKEND = "b";
    private static final Pattern OURS = Pattern.compile("rep(\\d+)-[a-z0-9]+");

    private final String prefix = "rep" + ProcessHandle.current().pid() + "-";

    static RepNet create() throws IOException {
        sweep();
        RepNet n = new RepNet();
        n.close();
        try {
            String br = n.ns("br");
            n.ok("ip", "netns", "add", br);
            n.ok("ip", "-n", br, "link", "add", "br0", "type", "bridge");
            n.ok("ip", "-n", br, "link", "set", "br0", "up");
            n.host(CLIENT, "198.18.29.1");
            n.host(NODE1, "198.18.29.11");
            n.host(NODE2, "198.18.29.12");
            n.host(BACKEND, "198.18.29.21");
        } catch (IOException | RuntimeException e) {
            n.close();
            throw e;
        }
        return n;
    }

    private void host(String host, String address) throws IOException {
        String ns = ns(host);
        ok("ip", "netns", "add", ns);
        String port = "v" + host; // a bare "b" would read as a keyword to ip
        ok("ip", "-n", ns("br"), "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
        ok("ip", "-n", ns("br"), "link", "set", port, "master", "br0");
        ok("ip", "-n", ns("br"), "link", "set", port, "up");
        ok("ip", "-n", ns, "addr", "add", address + "/24", "dev", "eth0");
        ok("ip", "-n", ns, "link", "set", "eth0", "up");
        ok("ip", "-n", ns, "link", "set", "lo", "up");
    }

    /** Pulls {@code host}'s cable (its switch port down) or plugs it back: a host loss, as the others see it. */
    void link(String host, boolean up) throws IOException {
        ok("ip", "-n", ns("br"), "link", "set", "v" + host, up ? "up" : "down");
    }

    String ns(String host) {
        return prefix + host;
    }

    /**
     * What the HA layer's gratuitous ARP does when {@code owner} takes {@code address}: each of
     * {@code neighbours} points its entry for the address at the owner's MAC now. A plain
     * {@code ip neigh flush} left it to the neighbour's own resolution, which after a host loss
     * can first probe the old MAC for seconds (the restore check's 3 s then saw nothing: UNKNOWN,
     * once in CI).
     */
    void announce(String owner, String address, String... neighbours) throws IOException {
        String mac = in(owner, "cat", "/sys/class/net/eth0/address").strip();
        for (String n : neighbours) {
            in(n, "ip", "neigh", "replace", address, "lladdr", mac, "dev", "eth0", "nud", "reachable");
        }
    }

    /** Runs {@code cmd} inside {@code host}'s namespace; fails on a non-zero exit. */
    String in(String host, String... cmd) throws IOException {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns(host)));
        all.addAll(List.of(cmd));
        return ok(all.toArray(String[]::new));
    }

    /** {@code body} on a new thread inside {@code host}'s namespace. */
    <T> T call(String host, Callable<T> body) throws Exception {
        AtomicReference<Object> out = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("netns-" + host).start(() -> {
            try {
                NetNamespace.enter(ns(host));
                out.set(body.call());
            } catch (Throwable e) {
                out.set(e);
            }
        });
        t.join(30_000);
        Object o = out.get();
        if (o instanceof Exception e) {
            throw e;
        }
        if (o instanceof Throwable e) {
            throw new IllegalStateException(e);
        }
        @SuppressWarnings("unchecked")
        T r = (T) o;
        return r;
    }

    static void sweep() throws IOException {
        for (String line : run("ip", "netns", "list").split("\n")) {
            String name = line.split(" ")[0].trim();
            Matcher m = OURS.matcher(name);
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).map(h -> !h.isAlive()).orElse(true)) {
                run("ip", "netns", "delete", name);
            }
        }
    }

    @Override
    public void close() throws IOException {
        for (String line : run("ip", "netns", "list").split("\n")) {
            String name = line.split(" ")[0].trim();
            if (name.startsWith(prefix)) {
                run("ip", "netns", "delete", name);
            }
        }
    }

    private String ok(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": " + out.strip());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static String run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
