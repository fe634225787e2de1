package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.TandemConfig;
import io.tandem.config.VipConfig;
import io.tandem.core.control.NameTable.Answer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One config on its way in: the {@link Reconciler}'s "binding" state. Planned against the state in
 * force when it starts ({@link #plan}): what applies live and what needs a restart, which VIPs to
 * run (the file's, plus those discovery declares that clash with none), and which of them need a
 * new listener. Those are bound first, all of them, and only when every bind is back does it
 * decide: a file VIP that cannot bind rejects the whole config (what was bound is closed, nothing
 * else changed); a declared VIP that cannot bind is dropped alone.
 */
final class Transaction {

    /**
     * A config to apply.
     *
     * @param request the caller waiting for the outcome (0: nobody, a discovery-declared VIP changed)
     * @param config  null: the config in force again (with the declared VIPs of now)
     * @param names   the lookups of {@code config}'s host names, made off the loop; null: keep the names
     */
    record Proposal(long request, TandemConfig config, String why, Map<String, Answer> names) {
        Proposal {
            requireNonNull(why, "why");
        }

        boolean rereadsDeclared() {
            return config == null;
        }
    }

    final long id;
    final Proposal proposal;
    final ConfigChanges.Report report;
    final List<String> needsRestart;
    final TandemConfig effective;
    /** Name → config of every VIP to run, in order. */
    final Map<String, VipConfig> wanted;
    /** The VIPs of {@link #wanted} declared by discovery (their failures are theirs alone). */
    final Set<String> declared;
    /** VIPs that need a new listener, by name. */
    final Map<String, VipState> fresh = new LinkedHashMap<>();
    /** Binds that failed, by VIP name, with the reason. */
    final Map<String, String> failed = new LinkedHashMap<>();
    private int outstanding;

    private Transaction(long id, Proposal proposal, ConfigChanges.Report report, List<String> needsRestart,
                        TandemConfig effective, Map<String, VipConfig> wanted, Set<String> declared) {
        this.id = id;
        this.proposal = proposal;
        this.report = report;
        this.needsRestart = needsRestart;
        this.effective = effective;
        this.wanted = wanted;
        this.declared = declared;
    }

    /**
     * Plans {@code next} against the VIPs in force; {@code out} gets a warning for every declared
     * VIP that clashes with a file VIP, and a {@link Action.Bind} for every new listener.
     */
    static Transaction plan(long id, Proposal p, TandemConfig running, TandemConfig next,
                            Map<String, VipState> vips, Map<String, VipConfig> declaredVips, boolean draining,
                            long firstIncarnation, List<Action> out) {
        ConfigChanges.Report report = ConfigChanges.between(running == null ? next : running, next);
        List<String> needsRestart = new ArrayList<>(report.needsRestart());
        // A VIP that keeps its listener keeps the UDP options it was bound with (they size its
        // buffers and session table): a change there needs a restart, or a new listen address.
        List<VipConfig> fileVips = new ArrayList<>();
        for (VipConfig v : next.vips()) {
            VipState current = vips.get(v.name());
            if (current != null && keepsListener(current, v) && !current.config.udp().equals(v.udp())) {
                needsRestart.addAll(ConfigChanges.udpNeedsRestart(v.name(), current.config.udp(), v.udp()));
                v = ConfigChanges.withUdp(v, current.config.udp());
            }
            fileVips.add(v);
        }
        TandemConfig effective = new TandemConfig(report.effective().runtime(), report.effective().admin(),
                report.effective().discovery(), fileVips, report.effective().ha(), report.effective().locality());
        // The VIPs to run: the file's, plus those discovery declares (Marathon VIP labels) that do
        // not clash with a file VIP.
        Map<String, VipConfig> wanted = new LinkedHashMap<>();
        Set<String> fileListens = new HashSet<>();
        for (VipConfig v : effective.vips()) {
            wanted.put(v.name(), v);
            fileListens.add(v.protocol() + " " + v.listen());
        }
        Set<String> declared = new HashSet<>();
        for (VipConfig v : declaredVips.values()) {
            if (wanted.containsKey(v.name()) || fileListens.contains(v.protocol() + " " + v.listen())) {
                out.add(Action.Log.warn("declared vip ignored vip=" + v.name() + " listen=" + v.listen()
                        + " reason=\"a config file VIP has the same name or address\""));
                continue;
            }
            wanted.put(v.name(), v);
            declared.add(v.name());
        }
        Transaction tx = new Transaction(id, p, report, needsRestart, effective, wanted, declared);
        long incarnation = firstIncarnation;
        for (VipConfig v : wanted.values()) {
            VipState current = vips.get(v.name());
            if (draining || (current != null && keepsListener(current, v))) {
                continue; // a draining node binds nothing new; an unchanged listener stays
            }
            VipState vs = new VipState(v, incarnation++);
            tx.fresh.put(v.name(), vs);
            tx.outstanding++;
            out.add(new Action.Bind(id, v, vs.vip));
        }
        return tx;
    }

    /** Whether {@code v} can keep {@code current}'s bound listener (same address and protocol). */
    static boolean keepsListener(VipState current, VipConfig v) {
        return current.listener != null && current.config.listen().equals(v.listen())
                && current.config.protocol() == v.protocol();
    }

    /** How many incarnation numbers {@link #plan} used. */
    int incarnations() {
        return fresh.size();
    }

    /** Whether {@code vip} awaits its bind in this transaction. */
    boolean awaits(String vip) {
        VipState vs = fresh.get(vip);
        return vs != null && vs.listener == null && !failed.containsKey(vip);
    }

    /** A bind came back; true when it was the last. */
    boolean bound(String vip, BoundListener listener) {
        fresh.get(vip).listener = listener;
        return --outstanding == 0;
    }

    /** A bind failed; true when it was the last. */
    boolean failed(String vip, String reason) {
        failed.put(vip, reason);
        return --outstanding == 0;
    }

    boolean complete() {
        return outstanding == 0;
    }
}
