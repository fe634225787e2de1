package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A few lines that tell an operator what a valid config will do, printed by
 * {@code tandem validate} on success:
 * <pre>
 * 2 VIPs; admin API on 127.0.0.1:9090
 *   web  tcp 127.0.0.1:8080  round-robin  2 backends  http check GET /healthz every 100ms
 *   dns  udp 127.0.0.1:5353  maglev       1 backend   udp check every 1s
 * </pre>
 */
public final class ConfigSummary {
    private ConfigSummary() {
    }

    public static String describe(TandemConfig config) {
        requireNonNull(config, "config");
        StringBuilder b = new StringBuilder();
        int n = config.vips().size();
        b.append(n).append(n == 1 ? " VIP" : " VIPs").append("; ").append(admin(config.admin())).append('\n');
        List<String[]> rows = new ArrayList<>();
        for (VipConfig v : config.vips()) {
            int backends = v.backends().size();
            rows.add(new String[] {
                    v.name(),
                    v.protocol().name().toLowerCase(Locale.ROOT) + " " + v.listen(),
                    v.policy().configName(),
                    backends + (backends == 1 ? " backend" : " backends"),
                    v.healthCheck().map(ConfigSummary::check).orElse("no health check")});
        }
        int[] widths = new int[5];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder("  ");
            for (int i = 0; i < row.length; i++) {
                line.append(i == row.length - 1 ? row[i] : pad(row[i], widths[i] + 2));
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        config.ha().ifPresent(ha -> b.append(ha(ha)));
        return b.toString();
    }

    /**
     * The HA group in two lines: this node, its peers, the addresses it moves (with their preferred
     * owner when one is configured; the others are spread over the nodes) and preemption.
     */
    private static String ha(HaConfig ha) {
        StringBuilder b = new StringBuilder("HA group ").append(ha.cluster()).append(": node ").append(ha.nodeId())
                .append(" (peer link ").append(ha.listen()).append("), peers ");
        b.append(ha.peers().isEmpty() ? "none"
                : String.join(", ", ha.peers().stream().map(p -> p.id() + " at " + p.address()).toList()));
        b.append("; ZooKeeper ").append(ha.zkConnect()).append('\n');
        b.append("  ").append(ha.addresses().size()).append(ha.addresses().size() == 1 ? " address" : " addresses")
                .append(" on ").append(ha.interfaceName()).append(": ");
        b.append(String.join(", ", ha.addresses().stream()
                .map(a -> a.address() + a.preferredOwner().map(o -> " (preferred " + o + ")").orElse("")).toList()));
        b.append("; preemption ").append(ha.preempt() ? "after " + Durations.format(ha.preemptDelay()) : "off")
                .append('\n');
        return b.toString();
    }

    /**
     * What is valid but probably not meant, in the errors' form ({@code path: value (expected …)}):
     * with an {@code ha} section, each VIP address is written twice, as an {@code ha.addresses}
     * entry (moved between the nodes) and as the host of {@code vips[].listen} (served). Warnings,
     * not errors: an HA address may serve another process on the host (as a keepalived address
     * does), and a VIP may listen on this node's own fixed address; but a typo in either list
     * passes validation and then serves nothing, so {@code tandem validate} says so.
     */
    public static List<String> warnings(TandemConfig config) {
        requireNonNull(config, "config");
        List<String> out = new ArrayList<>();
        if (config.ha().isEmpty()) {
            return out;
        }
        HaConfig ha = config.ha().get();
        List<java.net.InetAddress> managed = new ArrayList<>();
        for (HaConfig.Address a : ha.addresses()) {
            managed.add(literal(a.address()));
        }
        List<java.net.InetAddress> listened = new ArrayList<>();
        for (int i = 0; i < config.vips().size(); i++) {
            VipConfig v = config.vips().get(i);
            java.net.InetAddress host = literal(v.listen().host());
            listened.add(host);
            if (host != null && !host.isAnyLocalAddress() && !managed.contains(host)) {
                out.add("vips[" + i + "].listen: " + v.listen() + " (expected an address of ha.addresses: VIP "
                        + v.name() + " listens on " + v.listen().host() + ", which the HA group does not manage, so"
                        + " no failover moves it)");
            }
        }
        for (int i = 0; i < ha.addresses().size(); i++) {
            java.net.InetAddress a = managed.get(i);
            boolean anyWildcard = listened.stream().anyMatch(h -> h != null && h.isAnyLocalAddress());
            if (a != null && !listened.contains(a) && !anyWildcard) {
                out.add("ha.addresses[" + i + "]: " + ha.addresses().get(i).address() + " (expected the listen"
                        + " address of a VIP: no vips[].listen uses it, so the group moves an address nothing here"
                        + " serves)");
            }
        }
        return out;
    }

    private static java.net.InetAddress literal(String host) {
        try {
            return java.net.InetAddress.ofLiteral(host);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String admin(AdminSettings admin) {
        if (!admin.enabled()) {
            return "admin API disabled";
        }
        return "admin API on " + admin.listen() + (admin.token().isPresent() ? " (bearer token required)" : "");
    }

    private static String check(HealthCheckSpec spec) {
        String every = " every " + Durations.format(spec.timing().interval());
        String port = spec.port().isPresent() ? " port " + spec.port().getAsInt() : "";
        return switch (spec) {
            case HealthCheckSpec.Tcp t -> "tcp check" + port + every;
            case HealthCheckSpec.Http h -> (h.tls() ? "https" : "http") + " check " + h.method() + " " + h.path()
                    + port + every;
            case HealthCheckSpec.SendExpect s -> "send-expect check" + port + every;
            case HealthCheckSpec.Udp u -> "udp check" + port + every;
        };
    }

    private static String pad(String s, int width) {
        return s + " ".repeat(Math.max(0, width - s.length()));
    }
}
