package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;

/**
 * The node's fault-domain posture: every single point of failure it can see, for
 * {@code GET /api/posture}, {@code tandem doctor}, {@code tandem status} and the
 * {@code tandem_vip_posture_findings} metric. Decided by {@link Posture} from the control loop's
 * state; plain records so it serialises to JSON as-is.
 *
 * @param findings every finding, node-wide ones first, then by VIP name
 * @param vips     per VIP, how far its eligible backends are spread
 */
public record PostureReport(Instant at, List<Finding> findings, List<VipSpread> vips) {
    public PostureReport {
        requireNonNull(at, "at");
        findings = List.copyOf(findings);
        vips = List.copyOf(vips);
    }

    /** How serious a finding is: {@code WARN} is a single point of failure, {@code INFO} something not known. */
    public enum Severity { INFO, WARN }

    /**
     * One finding.
     *
     * @param code     stable, lower-case ({@code one-zone}); the metric's {@code code} label
     * @param subject  what it is about: {@code vip orders}, {@code marathon app /orders},
     *                 {@code ha group}, {@code ha.zookeeper.connect}
     * @param vip      the VIP it belongs to; null for a node-wide finding
     * @param detail   what was seen, with the numbers
     * @param todo     what to do about it
     */
    public record Finding(String code, Severity severity, String subject, String vip, String detail, String todo) {
        public Finding {
            requireNonNull(code, "code");
            requireNonNull(severity, "severity");
            requireNonNull(subject, "subject");
            requireNonNull(detail, "detail");
            requireNonNull(todo, "todo");
        }
    }

    /**
     * One VIP's spread over fault domains, counting only its eligible backends.
     *
     * @param zones        distinct known zones
     * @param hosts        distinct backend hosts (addresses)
     * @param unknownZone  eligible backends whose zone is not known
     * @param activeCheck  an active health check watches its backends
     */
    public record VipSpread(String vip, int eligible, int zones, int hosts, int unknownZone, List<String> zoneNames,
                            boolean activeCheck) {
        public VipSpread {
            requireNonNull(vip, "vip");
            zoneNames = List.copyOf(zoneNames);
        }
    }

    /** Whether any finding is a {@code WARN} ({@code tandem doctor} exits 1). */
    public boolean hasWarnings() {
        return findings.stream().anyMatch(f -> f.severity() == Severity.WARN);
    }
}
