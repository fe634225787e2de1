package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HaConfig;
import io.tandem.config.TandemConfig;
import io.tandem.core.control.PostureReport.Finding;
import io.tandem.core.metrics.Metrics;
import io.tandem.discovery.Placement;
import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control loop's side of {@link Posture}: gathers its inputs from the reconciler's state,
 * the discovery snapshots and the config in force; keeps the last report; logs each finding once
 * when it appears (WARN) and once when it clears (INFO), never on every recomputation; keeps the
 * posture metrics current. Loop thread only, except {@link #last}.
 */
final class PostureWatch {
    private static final Logger log = LoggerFactory.getLogger(PostureWatch.class);

    private final Metrics metrics;
    private volatile PostureReport last;
    /** Something changed since the last report (an input was handled). */
    private boolean dirty = true;

    PostureWatch(Metrics metrics) {
        this.metrics = requireNonNull(metrics, "metrics");
    }

    /** An input was handled: the next {@link #tick} recomputes. */
    void changed() {
        dirty = true;
    }

    /** The last report; null before the first. Any thread. */
    PostureReport last() {
        return last;
    }

    /**
     * Recomputes when something changed since the last time (the loop's posture timer); not while
     * the node is warming (its first health checks pending).
     */
    void tick(Reconciler r, Discovery discovery, Instant now) {
        if (!dirty || r.config() == null || r.warming(now)) {
            return; // warming: backends come up one by one, each step is no finding worth a WARN
        }
        dirty = false;
        publish(compute(r, discovery, now));
    }

    /** A fresh report (the admin API), published like a timer's. */
    PostureReport now(Reconciler r, Discovery discovery, Instant now) {
        if (r.config() == null) {
            return new PostureReport(now, List.of(), List.of());
        }
        dirty = false;
        PostureReport report = compute(r, discovery, now);
        publish(report);
        return report;
    }

    private void publish(PostureReport report) {
        for (String line : changes(last, report)) {
            if (line.startsWith("posture finding cleared")) {
                log.info(line);
            } else {
                log.warn(line);
            }
        }
        last = report;
        for (PostureReport.VipSpread v : report.vips()) {
            Map<String, Boolean> codes = new LinkedHashMap<>();
            Posture.VIP_CODES.forEach(c -> codes.put(c, false));
            report.findings().stream().filter(f -> v.vip().equals(f.vip())).forEach(f -> codes.put(f.code(), true));
            metrics.vipPosture(v.vip(), v.zones(), v.hosts(), codes);
        }
        Map<String, Boolean> node = new LinkedHashMap<>();
        Posture.NODE_CODES.forEach(c -> node.put(c, false));
        report.findings().stream().filter(f -> f.vip() == null).forEach(f -> node.put(f.code(), true));
        metrics.nodePosture(node);
    }

    /**
     * The log lines for what changed between two reports: a finding is its code, subject and VIP;
     * a new one is a WARN line (INFO findings too: they appear rarely), a gone one an INFO line.
     */
    static List<String> changes(PostureReport before, PostureReport after) {
        Map<String, Finding> old = byKey(before);
        Map<String, Finding> now = byKey(after);
        List<String> out = new ArrayList<>();
        now.forEach((k, f) -> {
            if (!old.containsKey(k)) {
                out.add("posture finding code=" + f.code() + " severity=" + f.severity() + " subject=" + quote(f.subject())
                        + " detail=" + quote(f.detail()) + " todo=" + quote(f.todo()));
            }
        });
        old.forEach((k, f) -> {
            if (!now.containsKey(k)) {
                out.add("posture finding cleared code=" + f.code() + " subject=" + quote(f.subject()));
            }
        });
        return out;
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static Map<String, Finding> byKey(PostureReport r) {
        Map<String, Finding> m = new LinkedHashMap<>();
        if (r != null) {
            r.findings().forEach(f -> m.put(f.code() + "|" + f.subject() + "|" + f.vip(), f));
        }
        return m;
    }

    static PostureReport compute(Reconciler r, Discovery discovery, Instant now) {
        TandemConfig config = r.config();
        Map<String, List<Discovery.Resolved>> endpoints = discovery.endpoints();
        List<Posture.VipInput> vips = new ArrayList<>();
        for (VipState vs : r.vips()) {
            List<Posture.BackendInput> backends = new ArrayList<>();
            vs.backends.forEach((hp, bs) -> backends.add(new Posture.BackendInput(hp.host(),
                    bs.backend().locality().zone(), bs.eligible())));
            vs.unresolved.forEach((hp, bs) -> backends.add(new Posture.BackendInput(hp.host(), Optional.empty(), false)));
            List<Posture.AppInput> apps = new ArrayList<>();
            vs.config.service().ifPresent(service -> {
                for (Discovery.Resolved e : endpoints.getOrDefault(service, List.of())) {
                    e.endpoint().placement().ifPresent(
                            (Placement p) -> apps.add(new Posture.AppInput(p.app(), p.constraints())));
                }
            });
            vips.add(new Posture.VipInput(vs.name(), backends, vs.config.healthCheck().isPresent(), apps));
        }
        Optional<Posture.HaInput> ha = config.ha().map(PostureWatch::ha);
        List<Posture.ZooKeeperInput> zks = new ArrayList<>();
        config.ha().ifPresent(h -> zks.add(new Posture.ZooKeeperInput("ha.zookeeper.connect", h.zkConnect())));
        config.discovery().zookeeper().ifPresent(z -> zks.add(
                new Posture.ZooKeeperInput("discovery.zookeeper.connect", z.connect())));
        var locality = r.locality();
        return Posture.evaluate(new Posture.Input(vips, ha, zks, host -> {
            try {
                // Only literals: a name would need a DNS lookup, which the loop never does.
                return locality.lookup(InetAddress.ofLiteral(host)).zone();
            } catch (IllegalArgumentException notALiteral) {
                return Optional.empty();
            }
        }), now);
    }

    private static Posture.HaInput ha(HaConfig h) {
        TreeSet<String> ids = new TreeSet<>();
        ids.add(h.nodeId());
        h.peers().forEach(p -> ids.add(p.id()));
        return new Posture.HaInput(List.copyOf(ids), h.zones());
    }
}
