package io.tandem.core.admin;

import static java.util.Objects.requireNonNull;

import io.tandem.core.control.NodeView;
import io.tandem.core.control.NodeView.BackendView;
import io.tandem.core.control.NodeView.VipView;
import io.tandem.ha.HaView;
import io.tandem.health.HealthFlag;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Renders a {@link NodeView} as the fixed-width table {@code tandem status} prints, in the
 * spirit of {@code ipvsadm -L}: one header line for the node, then each VIP followed by its
 * backends indented under {@code ->}. Deterministic (flags in declaration order, VIPs and
 * backends in the view's order), no colours, so it can be diffed and grepped.
 *
 * <p>A backend's {@code STATE} is the view's one word for it ({@code up} only when an active
 * check vouches for it, {@code unchecked} when nothing does — HAProxy's "no check"), its
 * {@code FLAGS} every reason it is out; a VIP's {@code STATE} adds {@code unchecked} when it routes
 * to backends nothing checks, so "3/3 eligible" is never read as "3 known up".
 *
 * <p>Fault domains show only where they exist, so a node without them prints what it always
 * did: the node's {@code locality} in the header when known, a VIP's {@code LOCAL} column (the
 * planned share of new connections to the node's zone) when some VIP has one, and the backends'
 * {@code LOCALITY} ({@code region/zone/rack}) and {@code PRIO} columns when some backend has a
 * known locality or a priority other than 0.
 *
 * <p>A node of an HA group ({@link #render(NodeView, Optional)} with its {@link HaView}) also
 * prints an HA section: ZooKeeper, each peer link, and each VIP address with its owner and
 * whether this node holds it. A VIP that listens on an HA address this node does not hold shows
 * {@code standby} rather than {@code ok}: it is bound, but no client reaches it here.
 */
public final class StatusTable {
    private static final String[] VIP_HEADER =
            {"VIP", "LISTEN", "PROTO", "POLICY", "ACTIVE", "TOTAL", "ELIGIBLE", "STATE"};
    private static final boolean[] VIP_RIGHT = {false, false, false, false, true, true, true, false};
    private static final String[] BACKEND_HEADER =
            {"  -> BACKEND", "WEIGHT", "STATE", "FLAGS", "ACTIVE", "TOTAL", "IN", "OUT", "CONN-FAIL"};
    private static final boolean[] BACKEND_RIGHT = {false, true, false, false, true, true, true, true, true};

    private StatusTable() {
    }

    public static String render(NodeView view) {
        return render(view, Optional.empty());
    }

    /** The table, with the HA section, and in BGP mode ({@code ha.announce}) what this node announces. */
    public static String render(NodeView view, Optional<HaView> ha,
                                Optional<io.tandem.ha.announce.Announcer.AnnounceView> announce) {
        requireNonNull(announce, "announce");
        String table = render(view, ha);
        if (announce.isEmpty()) {
            return table;
        }
        StringBuilder out = new StringBuilder(table);
        announceSection(out, announce.get());
        return out.toString();
    }

    /**
     * <pre>
     * announce bgp single-owner  bird up (pid 4120, 1 start)  announced 198.19.200.10
     *   neighbor 198.19.1.1  bgp Established  bfd Up
     * </pre>
     */
    private static void announceSection(StringBuilder out, io.tandem.ha.announce.Announcer.AnnounceView a) {
        out.append("announce bgp ").append(a.anycast() ? "anycast" : "single-owner");
        if (a.anycast()) {
            out.append(Boolean.TRUE.equals(a.anycastUp()) ? " (up here)" : " (WITHDRAWN here)");
        }
        out.append("  bird ").append(a.birdRunning() ? "up (pid " + a.birdPid() + ", " + a.birdStarts()
                + (a.birdStarts() == 1 ? " start)" : " starts)") : "DOWN");
        out.append("  announced ").append(a.announced().isEmpty() ? "nothing" : String.join(", ", a.announced()))
                .append('\n');
        for (io.tandem.ha.announce.BirdStatus.Session s : a.sessions()) {
            String bfd = a.bfd().stream().filter(b -> b.neighbor().equals(s.neighbor()))
                    .map(io.tandem.ha.announce.BirdStatus.BfdSession::state).findFirst().orElse("-");
            out.append("  neighbor ").append(s.neighbor()).append("  bgp ")
                    .append(s.bgpState().isEmpty() ? s.state() : s.bgpState());
            if (!s.established() && !s.info().isEmpty()) {
                out.append(" (").append(s.info()).append(')');
            }
            out.append("  bfd ").append(bfd).append('\n');
        }
        a.withheld().forEach((address, why) -> out.append("  withheld ").append(address).append(": ").append(why)
                .append('\n'));
    }

    /** The table, with the HA section and {@code standby} VIPs when {@code ha} is present. */
    public static String render(NodeView view, Optional<HaView> ha) {
        requireNonNull(view, "view");
        requireNonNull(ha, "ha");
        Set<String> standby = ha.map(StatusTable::notHeld).orElse(Set.of());
        StringBuilder out = new StringBuilder();
        out.append("node ").append(view.node())
                .append("  transport ").append(view.transport())
                .append("  config #").append(view.configGeneration())
                .append(" (").append(view.configSource()).append(", loaded ").append(view.configLoadedAt()).append(')')
                .append("  ready ").append(view.ready() ? "yes" : "no")
                .append(view.warming() ? " (warming: first health checks pending)" : "")
                .append(view.draining() ? "  DRAINING" : "")
                .append(view.locality().equals("-") ? "" : "  locality " + view.locality())
                .append('\n');
        ha.ifPresent(h -> haSection(out, h));
        if (view.vips().isEmpty()) {
            return out.append("(no VIPs)\n").toString();
        }

        boolean localColumn = view.vips().stream().anyMatch(v -> v.localSharePercent() != null);
        boolean placeColumns = view.vips().stream().flatMap(v -> v.backends().stream())
                .anyMatch(b -> !b.locality().equals("-") || b.priority() != 0);
        String[] vipHeader = localColumn ? append(VIP_HEADER, "LOCAL") : VIP_HEADER;
        boolean[] vipRight = localColumn ? append(VIP_RIGHT, true) : VIP_RIGHT;
        String[] backendHeader = placeColumns ? append(append(BACKEND_HEADER, "LOCALITY"), "PRIO") : BACKEND_HEADER;
        boolean[] backendRight = placeColumns ? append(append(BACKEND_RIGHT, false), true) : BACKEND_RIGHT;
        boolean agentColumn = view.vips().stream().flatMap(v -> v.backends().stream()).anyMatch(b -> b.agent() != null);
        if (agentColumn) {
            backendHeader = append(backendHeader, "AGENT");
            backendRight = append(backendRight, false);
        }
        // Latency columns once any backend has samples in the last minute (an idle node stays narrow).
        boolean latencyColumns = view.vips().stream().flatMap(v -> v.backends().stream())
                .anyMatch(b -> b.latency() != null && b.latency().connectSamples() > 0);
        if (latencyColumns) {
            backendHeader = append(append(backendHeader, "CONN-P99"), "TTFB-P99");
            backendRight = append(append(backendRight, true), true);
        }
        List<String[]> vipRows = new ArrayList<>();
        List<String[]> backendRows = new ArrayList<>();
        vipRows.add(vipHeader);
        backendRows.add(backendHeader);
        for (VipView v : view.vips()) {
            vipRows.add(vipRow(v, localColumn, standby));
            for (BackendView b : v.backends()) {
                backendRows.add(withLatency(withAgent(backendRow(b, placeColumns), b, agentColumn), b,
                        latencyColumns));
            }
        }
        int[] vipWidths = widths(vipRows);
        int[] backendWidths = widths(backendRows);

        out.append('\n');
        line(out, vipHeader, vipWidths, vipRight);
        line(out, backendHeader, backendWidths, backendRight);
        for (VipView v : view.vips()) {
            line(out, vipRow(v, localColumn, standby), vipWidths, vipRight);
            if (v.backends().isEmpty()) {
                out.append("  -> (no backends)\n");
            }
            for (BackendView b : v.backends()) {
                line(out, withLatency(withAgent(backendRow(b, placeColumns), b, agentColumn), b, latencyColumns),
                        backendWidths, backendRight);
            }
        }
        return out.toString();
    }

    /**
     * The AGENT cell: what the backend's agent says ({@code down(disk full) ready 50%}), with
     * {@code unreachable} when its last exchange got no line; {@code -} without an agent check.
     */
    /** The last minute's p99 connect time and time to first byte ({@code -}: no samples). */
    private static String[] withLatency(String[] row, BackendView b, boolean latencyColumns) {
        if (!latencyColumns) {
            return row;
        }
        NodeView.LatencyView l = b.latency();
        return append(append(row, l == null ? "-" : millis(l.connectP99Ms())),
                l == null ? "-" : millis(l.firstByteP99Ms()));
    }

    private static String millis(double ms) {
        if (ms < 0) {
            return "-";
        }
        if (ms >= 10_000) {
            return ">=10s";
        }
        return ms < 10 ? String.format(Locale.ROOT, "%.1fms", ms) : Math.round(ms) + "ms";
    }

    private static String[] withAgent(String[] row, BackendView b, boolean agentColumn) {
        if (!agentColumn) {
            return row;
        }
        NodeView.AgentView a = b.agent();
        if (a == null) {
            return append(row, "-");
        }
        String cell = a.health() + (a.reason() == null ? "" : "(" + a.reason() + ")") + " " + a.admin() + " "
                + (a.weight() == null ? "100%" : a.weight()) + (a.reachable() ? "" : " unreachable");
        return append(row, cell);
    }

    private static String[] append(String[] a, String cell) {
        String[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = cell;
        return out;
    }

    private static boolean[] append(boolean[] a, boolean cell) {
        boolean[] out = java.util.Arrays.copyOf(a, a.length + 1);
        out[a.length] = cell;
        return out;
    }

    private static String[] vipRow(VipView v, boolean localColumn, Set<String> standby) {
        String[] row = vipRow(v);
        if (row[row.length - 1].equals("ok") && standby.contains(canonicalHost(v.listen()))) {
            row[row.length - 1] = "standby"; // bound, but the address is on another node
        }
        return localColumn ? append(row, v.localSharePercent() == null ? "-"
                : String.format(Locale.ROOT, "%.1f%%", v.localSharePercent())) : row;
    }

    private static String[] backendRow(BackendView b, boolean placeColumns) {
        String[] row = backendRow(b);
        return placeColumns ? append(append(row, b.locality()), Integer.toString(b.priority())) : row;
    }

    private static String[] vipRow(VipView v) {
        List<String> state = new ArrayList<>();
        if (!v.listening()) {
            state.add("NOT-LISTENING");
        }
        if (v.panic()) {
            state.add("PANIC");
        }
        if (v.warming()) {
            state.add("warming");
        }
        if (state.isEmpty() && v.backends().stream().anyMatch(b -> b.state().equals("unchecked"))) {
            state.add("unchecked"); // routable, but no active check vouches for (some of) them
        }
        return new String[] {
                v.name(), v.listen(), v.protocol().toLowerCase(Locale.ROOT), v.policy(),
                Integer.toString(v.activeConnections()), Long.toString(v.totalConnections()),
                v.eligible() + "/" + v.backends().size(),
                state.isEmpty() ? "ok" : String.join(",", state)};
    }

    private static String[] backendRow(BackendView b) {
        String flags = b.flags().isEmpty() ? "-"
                : b.flags().stream().sorted().map(HealthFlag::name).collect(Collectors.joining(","));
        return new String[] {
                "  -> " + b.address(), b.weight() + (b.runtime().contains("weight") ? "*" : ""), b.state(), flags,
                Integer.toString(b.activeConnections()), Long.toString(b.totalConnections()),
                bytes(b.bytesIn()), bytes(b.bytesOut()), Long.toString(b.connectFailures())};
    }

    /**
     * <pre>
     * ha node lb1  zookeeper CONNECTED  holds 1 of 2 addresses
     *   peer lb2  link up  last heartbeat 12 ms ago  zookeeper yes
     *   ADDRESS      OWNER  HERE  PREFERRED  EPOCH
     *   10.1.0.10    lb1    yes   lb1            3
     *   10.1.0.11    lb2    no    lb2            1
     * </pre>
     */
    private static void haSection(StringBuilder out, HaView ha) {
        long held = ha.vipAddresses().stream().filter(HaView.VipAddressView::servedHere).count();
        out.append("ha node ").append(ha.nodeId()).append("  zookeeper ").append(ha.zk())
                .append("  holds ").append(held).append(" of ").append(ha.vipAddresses().size())
                .append(ha.vipAddresses().size() == 1 ? " address" : " addresses").append('\n');
        for (HaView.PeerView p : ha.peers()) {
            out.append("  peer ").append(p.nodeId()).append("  link ").append(p.linkUp() ? "up" : "DOWN");
            if (p.lastHeartbeatAgoMs() >= 0) {
                out.append("  last heartbeat ").append(p.lastHeartbeatAgoMs()).append(" ms ago");
            } else {
                out.append("  never heard");
            }
            if (!p.linkUp()) {
                out.append("  (").append(p.lastLinkLoss()).append(", probe ").append(p.probe()).append(')');
            } else {
                out.append("  zookeeper ").append(p.peerZkConnected() ? "yes" : "NO");
            }
            out.append('\n');
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"  ADDRESS", "OWNER", "HERE", "PREFERRED", "EPOCH"});
        for (HaView.VipAddressView a : ha.vipAddresses()) {
            String owner = a.servedHere() ? ha.nodeId() : a.zkOwner() == null ? "(none)" : a.zkOwner();
            rows.add(new String[] {"  " + a.address(), owner, a.servedHere() ? "yes" : "no",
                    a.preferredOwner() == null ? "-" : a.preferredOwner(), Long.toString(a.epoch())});
        }
        int[] w = widths(rows);
        boolean[] right = {false, false, false, false, true};
        for (String[] row : rows) {
            line(out, row, w, right);
        }
    }

    /** The HA addresses this node does not hold, canonical. */
    private static Set<String> notHeld(HaView ha) {
        Set<String> out = new TreeSet<>();
        for (HaView.VipAddressView a : ha.vipAddresses()) {
            if (!a.servedHere()) {
                out.add(canonical(a.address()));
            }
        }
        return out;
    }

    /** The host of a listen address ({@code 10.1.0.10:80}, {@code [::1]:53}), canonical. */
    private static String canonicalHost(String listen) {
        int colon = listen.lastIndexOf(':');
        String host = colon < 0 ? listen : listen.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return canonical(host);
    }

    private static String canonical(String address) {
        try {
            return InetAddress.ofLiteral(address).getHostAddress();
        } catch (IllegalArgumentException e) {
            return address;
        }
    }

    private static int[] widths(List<String[]> rows) {
        int[] w = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                w[i] = Math.max(w[i], row[i].length());
            }
        }
        return w;
    }

    private static void line(StringBuilder out, String[] cells, int[] widths, boolean[] right) {
        StringBuilder l = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) {
                l.append("  ");
            }
            String pad = " ".repeat(widths[i] - cells[i].length());
            l.append(right[i] ? pad + cells[i] : cells[i] + pad);
        }
        out.append(l.toString().stripTrailing()).append('\n');
    }

    /**
     * One backend after a run-time change, for {@code tandem backend ...}:
     * {@code web 10.0.0.1:80 weight 5 state up origin static runtime weight}.
     */
    public static String backendLine(String vip, BackendView b) {
        return vip + " " + b.address() + " weight " + b.weight() + " state " + b.state() + " origin " + b.origin()
                + (b.runtime().isEmpty() ? "" : " runtime " + String.join(",", b.runtime())) + "\n";
    }

    /** A page of connections for {@code tandem connections}, with how to get the next one. */
    public static String connections(io.tandem.core.control.NodeControl.ConnectionPage page) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ID", "CLIENT", "BACKEND", "AGE", "FROM-CLIENT", "TO-CLIENT"});
        for (var c : page.connections()) {
            rows.add(new String[] {Long.toString(c.id()), c.client() == null ? "-" : c.client(),
                    c.backend() == null ? "(connecting)" : c.backend(), age(c.ageMillis()), bytes(c.bytesFromClient()),
                    bytes(c.bytesToClient())});
        }
        StringBuilder sb = new StringBuilder();
        int[] w = new int[6];
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                w[i] = Math.max(w[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            for (int i = 0; i < r.length; i++) {
                boolean right = i == 0 || i >= 3;
                String cell = right ? " ".repeat(w[i] - r[i].length()) + r[i] : r[i] + " ".repeat(w[i] - r[i].length());
                sb.append(i == 0 ? "" : "  ").append(cell);
            }
            sb.setLength(sb.length() - (sb.length() - sb.toString().stripTrailing().length()));
            sb.append('\n');
        }
        sb.append(page.connections().size()).append(" of ").append(page.matched()).append(" shown");
        if (page.next() != null) {
            sb.append("; next page: --after ").append(page.next());
        }
        return sb.append('\n').toString();
    }

    /** {@code 850ms}, {@code 12s}, {@code 3m05s}, {@code 2h01m}. */
    static String age(long millis) {
        if (millis < 1000) {
            return millis + "ms";
        }
        long s = millis / 1000;
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }

    /** Binary units, one decimal: {@code 512 B}, {@code 1.5 KiB}, {@code 3.2 GiB}. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
