package io.tandem.tests.netns;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Continuous record of the {@code /32} addresses on {@code eth0} of some hosts of a
 * {@link Topology}: one {@code ip monitor address} per namespace, every add/delete timestamped
 * as it arrives, on top of a snapshot taken once the monitors run. Unlike sampling, it cannot
 * miss a short window in which two hosts hold the same address ({@link #overlaps()}).
 * Timestamps are the test JVM's receive times (a few ms of skew between hosts).
 */
public final class AddressWatch implements AutoCloseable {
    private static final Pattern INET = Pattern.compile("(Deleted )?.*\\binet (\\S+)/32\\b");

    /** One address appearing on or leaving a host's interface. */
    public record Change(long at, String host, boolean added, String address) {
    }

    /** A window in which {@code address} was on both hosts' interfaces ({@code end} = -1: still open). */
    public record Overlap(String address, long start, long end) {
        public long millis(long now) {
            return (end < 0 ? now : end) - start;
        }
    }

    private final Map<String, Set<String>> initial = new HashMap<>();
    private final List<Change> changes = new CopyOnWriteArrayList<>();
    private final List<Process> monitors = new ArrayList<>();
    private final long startedAt;

    private AddressWatch(Topology net, List<String> hosts) throws IOException {
        for (String host : hosts) {
            Process p = new ProcessBuilder("ip", "-n", net.ns(host), "monitor", "address", "dev", Topology.IFACE)
                    .redirectErrorStream(true).start();
            monitors.add(p);
            Thread.ofVirtual().name("addr-watch-" + host).start(() -> read(host, p));
        }
        try {
            TimeUnit.MILLISECONDS.sleep(100); // let the monitors subscribe before the snapshot
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        startedAt = System.currentTimeMillis();
        for (String host : hosts) {
            Set<String> s = new TreeSet<>();
            for (String a : net.addressesOn(host)) {
                if (a.endsWith("/32")) {
                    s.add(a.substring(0, a.length() - 3));
                }
            }
            initial.put(host, s);
        }
    }

    /** Starts watching {@code hosts}. */
    public static AddressWatch start(Topology net, String... hosts) throws IOException {
        return new AddressWatch(net, List.of(hosts));
    }

    private void read(String host, Process p) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                Matcher m = INET.matcher(line);
                if (m.find()) {
                    changes.add(new Change(System.currentTimeMillis(), host, m.group(1) == null, m.group(2)));
                }
            }
        } catch (IOException e) {
            // monitor closed
        }
    }

    /** Every add/delete seen since the snapshot (events racing the snapshot may repeat it: harmless). */
    public List<Change> changes() {
        return changes.stream().filter(c -> c.at() >= startedAt).sorted(Comparator.comparingLong(Change::at)).toList();
    }

    /** Every window in which one address was on two hosts' interfaces at once. */
    public List<Overlap> overlaps() {
        Map<String, Set<String>> held = new HashMap<>();
        initial.forEach((h, s) -> held.put(h, new TreeSet<>(s)));
        Map<String, Long> open = new HashMap<>();
        List<Overlap> out = new ArrayList<>();
        for (String a : allAddresses(held)) {
            if (holders(held, a) > 1) {
                open.put(a, startedAt);
            }
        }
        for (Change c : changes()) {
            Set<String> s = held.computeIfAbsent(c.host(), h -> new TreeSet<>());
            if (c.added()) {
                s.add(c.address());
            } else {
                s.remove(c.address());
            }
            boolean both = holders(held, c.address()) > 1;
            if (both && !open.containsKey(c.address())) {
                open.put(c.address(), c.at());
            } else if (!both && open.containsKey(c.address())) {
                out.add(new Overlap(c.address(), open.remove(c.address()), c.at()));
            }
        }
        open.forEach((a, start) -> out.add(new Overlap(a, start, -1)));
        return out;
    }

    private static Set<String> allAddresses(Map<String, Set<String>> held) {
        Set<String> all = new TreeSet<>();
        held.values().forEach(all::addAll);
        return all;
    }

    private static long holders(Map<String, Set<String>> held, String address) {
        return held.values().stream().filter(s -> s.contains(address)).count();
    }

    @Override
    public void close() {
        for (Process p : monitors) {
            p.destroyForcibly();
        }
    }
}
