package io.tandem.core.admin;

import static java.util.Objects.requireNonNull;

import io.tandem.core.control.PostureReport;
import io.tandem.core.control.PostureReport.Finding;
import io.tandem.core.control.PostureReport.Severity;
import io.tandem.core.control.PostureReport.VipSpread;
import java.util.List;

/**
 * Renders a {@link PostureReport} as text: in full for {@code tandem doctor} (each finding with
 * what to do, then every VIP's spread), in short for the end of {@code tandem status}. Plain,
 * deterministic, no colours.
 */
public final class PostureText {
    private PostureText() {
    }

    /** What {@code tandem doctor} prints. */
    public static String render(PostureReport report) {
        requireNonNull(report, "report");
        StringBuilder out = new StringBuilder();
        out.append(headline(report)).append('\n');
        for (Finding f : report.findings()) {
            out.append('\n').append(f.severity() == Severity.WARN ? "WARN " : "INFO ").append(f.code()).append("  ")
                    .append(f.subject()).append('\n')
                    .append("     ").append(f.detail()).append('\n')
                    .append("     what to do: ").append(f.todo()).append('\n');
        }
        if (!report.vips().isEmpty()) {
            out.append('\n');
            String[] header = {"VIP", "ELIGIBLE", "ZONES", "HOSTS", "ZONE-UNKNOWN", "CHECK"};
            List<String[]> rows = new java.util.ArrayList<>();
            rows.add(header);
            for (VipSpread v : report.vips()) {
                rows.add(new String[] {v.vip(), String.valueOf(v.eligible()),
                        v.zones() + (v.zoneNames().isEmpty() ? "" : " (" + String.join(",", v.zoneNames()) + ")"),
                        String.valueOf(v.hosts()), String.valueOf(v.unknownZone()), v.activeCheck() ? "yes" : "no"});
            }
            int[] width = new int[header.length];
            for (String[] r : rows) {
                for (int i = 0; i < r.length; i++) {
                    width[i] = Math.max(width[i], r[i].length());
                }
            }
            for (String[] r : rows) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < r.length; i++) {
                    line.append(i == r.length - 1 ? r[i] : String.format("%-" + width[i] + "s  ", r[i]));
                }
                out.append(line.toString().stripTrailing()).append('\n');
            }
        }
        return out.toString();
    }

    /** The lines {@code tandem status} ends with: one headline and one line per finding. */
    public static String summary(PostureReport report) {
        requireNonNull(report, "report");
        StringBuilder out = new StringBuilder("posture: ").append(headline(report));
        if (!report.findings().isEmpty()) {
            out.append(" (tandem doctor says what to do)");
        }
        out.append('\n');
        for (Finding f : report.findings()) {
            out.append("  ").append(f.severity()).append(' ').append(f.code()).append("  ").append(f.subject())
                    .append(": ").append(f.detail()).append('\n');
        }
        return out.toString();
    }

    private static String headline(PostureReport report) {
        long warn = report.findings().stream().filter(f -> f.severity() == Severity.WARN).count();
        long info = report.findings().size() - warn;
        if (report.findings().isEmpty()) {
            return "no single point of failure found";
        }
        return warn + " WARN, " + info + " INFO";
    }
}
