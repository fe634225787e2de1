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
 *   web  tcp 127.0.0.1:8080  round-robin  2 backends  http check GET /healthz every 500ms
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
        return b.toString();
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
