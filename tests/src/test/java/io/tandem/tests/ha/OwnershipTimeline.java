package io.tandem.tests.ha;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The nemesis checker's pure part: from timestamped samples of who owns a VIP on each node, the
 * intervals with two owners and with none. No I/O, no clock of its own: every time is a
 * {@code CLOCK_MONOTONIC} nanosecond stamp (what {@link System#nanoTime()} reads on Linux, in
 * every process on the host, so the samplers in the node namespaces and the test JVM's fault
 * log share one clock).
 *
 * <p>How a node's state between two of its samples is read (for one VIP and one notion):
 * <ul>
 *   <li>samples at most {@code maxGap} apart: the earlier sample's state holds until the later
 *       one (sample-and-hold; the resolution is the sampling period);</li>
 *   <li>further apart (the sampler stalled, or lost lines) and both ends agree: that state is
 *       assumed throughout (a release and re-acquire inside the gap would be missed, which can
 *       only make an overlap look longer, never hide one that the ends show);</li>
 *   <li>further apart and the ends differ: {@link State#UNKNOWN} for the whole gap, because the
 *       change could be anywhere in it. A missing sample is never read as "not owner": an
 *       unknown stretch next to another node's ownership is an {@link Kind#AMBIGUOUS_DUAL}
 *       interval (reported with its length: an upper bound of a possible overlap), and an
 *       unknown stretch never counts towards an {@link Kind#OWNERLESS} one;</li>
 *   <li>before a node's first sample and after its last: {@link State#UNKNOWN}.</li>
 * </ul>
 * Each node's unknown stretches are also reported on their own ({@link Kind#BLIND}).
 */
final class OwnershipTimeline {
    private OwnershipTimeline() {
    }

    /** Which notion of "owner" a sample is read with. */
    enum Notion {
        /** The address is on the node's interface. */
        LISTED,
        /** A TCP handshake to VIP:port from inside the node's namespace completed: what a client sees. */
        ACCEPTING
    }

    /** One reading of one VIP on one node. */
    record Sample(String node, long nanos, String vip, boolean listed, boolean accepting) {
        boolean owner(Notion n) {
            return n == Notion.LISTED ? listed : accepting;
        }
    }

    /** A fault the nemesis applied, {@code [start, end]} (end = heal time). */
    record Fault(long start, long end, String label) {
    }

    enum State {
        OWNER, NOT, UNKNOWN
    }

    enum Kind {
        /** Two or more nodes own the VIP (sample-and-hold, or agreeing ends of a gap). */
        DUAL,
        /** One node owns it and another's state is unknown (its sampler gap with differing ends). */
        AMBIGUOUS_DUAL,
        /** Every node is known not to own it. */
        OWNERLESS,
        /** One node's state unknown (reported per node; {@code nodes} names it). */
        BLIND
    }

    /** One interval, with its likely cause among the faults. */
    record Interval(String vip, Kind kind, long start, long end, List<String> nodes, List<String> faults) {
        long nanos() {
            return end - start;
        }

        long millis() {
            return nanos() / 1_000_000;
        }
    }

    /** A node's state over {@code [start, end)}. */
    record Segment(long start, long end, State state) {
    }

    /** What {@link #analyse} found for one VIP under one notion over {@code [from, to)}. */
    record Analysis(String vip, Notion notion, long from, long to, List<Interval> intervals) {
        List<Interval> of(Kind k) {
            return intervals.stream().filter(i -> i.kind() == k).toList();
        }

        /** Intervals of {@code k} strictly longer than {@code millis}. */
        List<Interval> longer(Kind k, long millis) {
            return of(k).stream().filter(i -> i.nanos() > millis * 1_000_000L).toList();
        }

        long longestMillis(Kind k) {
            return of(k).stream().mapToLong(Interval::nanos).max().orElse(0) / 1_000_000;
        }
    }

    /** A node's segments for one VIP and notion over {@code [from, to)}, by the rules in the class comment. */
    static List<Segment> segments(List<Sample> samples, String node, String vip, Notion notion, long maxGap,
            long from, long to) {
        List<Sample> mine = samples.stream().filter(s -> s.node().equals(node) && s.vip().equals(vip))
                .sorted(Comparator.comparingLong(Sample::nanos)).toList();
        List<Segment> out = new ArrayList<>();
        if (mine.isEmpty()) {
            add(out, from, to, from, to, State.UNKNOWN);
            return out;
        }
        add(out, from, mine.getFirst().nanos(), from, to, State.UNKNOWN);
        for (int i = 0; i < mine.size(); i++) {
            Sample a = mine.get(i);
            if (i + 1 == mine.size()) {
                add(out, a.nanos(), to, from, to, State.UNKNOWN);
                break;
            }
            Sample b = mine.get(i + 1);
            State sa = a.owner(notion) ? State.OWNER : State.NOT;
            State sb = b.owner(notion) ? State.OWNER : State.NOT;
            State s = b.nanos() - a.nanos() <= maxGap || sa == sb ? sa : State.UNKNOWN;
            add(out, a.nanos(), b.nanos(), from, to, s);
        }
        return out;
    }

    /**
     * Appends {@code [start, end)} clipped to the window {@code [from, to)} and to what is
     * already covered, merging with an equal predecessor.
     */
    private static void add(List<Segment> out, long start, long end, long from, long to, State s) {
        start = Math.max(start, from);
        end = Math.min(end, to);
        if (!out.isEmpty()) {
            start = Math.max(start, out.getLast().end());
        }
        if (end <= start) {
            return;
        }
        if (!out.isEmpty() && out.getLast().state() == s && out.getLast().end() == start) {
            out.set(out.size() - 1, new Segment(out.getLast().start(), end, s));
        } else {
            out.add(new Segment(start, end, s));
        }
    }

    /**
     * Every {@link Kind#DUAL}, {@link Kind#AMBIGUOUS_DUAL}, {@link Kind#OWNERLESS} and
     * {@link Kind#BLIND} interval of {@code vip} over {@code [from, to)} among {@code nodes}
     * (samples outside the window only bound the state at its edges), each named with its
     * likely cause among {@code faults} ({@link #interval}).
     */
    static Analysis analyse(List<Sample> samples, List<String> nodes, String vip, Notion notion, long maxGap,
            long from, long to, List<Fault> faults, long tail) {
        Map<String, List<Segment>> segs = new TreeMap<>();
        TreeSet<Long> cuts = new TreeSet<>(List.of(from, to));
        for (String n : nodes) {
            List<Segment> s = segments(samples, n, vip, notion, maxGap, from, to);
            segs.put(n, s);
            s.forEach(x -> {
                cuts.add(x.start());
                cuts.add(x.end());
            });
        }
        List<Interval> out = new ArrayList<>();
        // per-node blind stretches
        for (var e : segs.entrySet()) {
            for (Segment s : e.getValue()) {
                if (s.state() == State.UNKNOWN) {
                    out.add(interval(vip, Kind.BLIND, s.start(), s.end(), List.of(e.getKey()), faults, tail));
                }
            }
        }
        // sweep the elementary slices between all boundaries, coalescing equal classifications
        Kind open = null;
        long openStart = 0;
        TreeSet<String> openNodes = new TreeSet<>();
        Long prev = null;
        for (long t : cuts) {
            if (prev != null) {
                long mid = prev;
                int owners = 0;
                int unknown = 0;
                TreeSet<String> involved = new TreeSet<>();
                for (var e : segs.entrySet()) {
                    State st = stateAt(e.getValue(), mid);
                    if (st == State.OWNER) {
                        owners++;
                        involved.add(e.getKey());
                    } else if (st == State.UNKNOWN) {
                        unknown++;
                        involved.add(e.getKey());
                    }
                }
                Kind k = owners >= 2 ? Kind.DUAL
                        : owners + unknown >= 2 ? Kind.AMBIGUOUS_DUAL
                        : owners == 0 && unknown == 0 ? Kind.OWNERLESS : null;
                if (k != open) {
                    if (open != null) {
                        out.add(interval(vip, open, openStart, prev, List.copyOf(openNodes), faults, tail));
                    }
                    open = k;
                    openStart = prev;
                    openNodes = new TreeSet<>();
                }
                if (k != null && k != Kind.OWNERLESS) {
                    openNodes.addAll(involved);
                }
            }
            prev = t;
        }
        if (open != null) {
            out.add(interval(vip, open, openStart, to, List.copyOf(openNodes), faults, tail));
        }
        out.sort(Comparator.comparingLong(Interval::start).thenComparing(Interval::kind));
        return new Analysis(vip, notion, from, to, List.copyOf(out));
    }

    private static State stateAt(List<Segment> segs, long t) {
        for (Segment s : segs) {
            if (s.start() <= t && t < s.end()) {
                return s.state();
            }
        }
        return State.UNKNOWN;
    }

    /**
     * The interval with its likely cause: the faults active when it began; else the one healed
     * last, less than {@code tail} before it began (a thawed node releases some time after
     * SIGCONT); else those that began inside it.
     */
    private static Interval interval(String vip, Kind k, long start, long end, List<String> nodes, List<Fault> faults,
            long tail) {
        List<String> cause = faults.stream().filter(f -> f.start() <= start && start <= f.end()).map(Fault::label)
                .toList();
        if (cause.isEmpty()) {
            cause = faults.stream().filter(f -> f.end() < start && f.end() + tail > start)
                    .max(Comparator.comparingLong(Fault::end)).map(f -> List.of(f.label())).orElse(List.of());
        }
        if (cause.isEmpty()) {
            cause = faults.stream().filter(f -> f.start() > start && f.start() < end).map(Fault::label).toList();
        }
        return new Interval(vip, k, start, end, nodes, cause);
    }

    /**
     * The longest stretch between two consecutive samples of {@code node} (any VIP), in ns; the
     * sampler's own worst stall.
     */
    static long longestSamplingGap(List<Sample> samples, String node) {
        long[] ts = samples.stream().filter(s -> s.node().equals(node)).mapToLong(Sample::nanos).distinct().sorted()
                .toArray();
        long worst = 0;
        for (int i = 1; i < ts.length; i++) {
            worst = Math.max(worst, ts[i] - ts[i - 1]);
        }
        return worst;
    }
}
