package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.netty.util.NetUtil;
import io.tandem.config.BackendConfig;
import io.tandem.config.Durations;
import io.tandem.config.HostPort;
import io.tandem.config.RuntimeSettings;
import io.tandem.config.TandemConfig;
import io.tandem.config.VipConfig;
import io.tandem.core.control.NameTable.Answer;
import io.tandem.core.control.NameTable.Decision;
import io.tandem.core.control.NameTable.Failed;
import io.tandem.core.control.NameTable.Found;
import io.tandem.core.control.NameTable.NotFound;
import io.tandem.core.pool.Backend;
import io.tandem.health.HealthFlag;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The names half of the {@link Reconciler}: keeps every backend host name of the config resolved.
 * A reload (and the start) looks every name up <em>before</em> the config is applied, off the loop
 * ({@link NameLookups#prepare}); {@link #adopt} takes those answers in with the swap. After that
 * each name is looked up again when its TTL runs out ({@link NameTable} decides when): a
 * {@link Action.Timer.NameRefresh} timer, then an {@link Action.Lookup} whose answer comes back
 * through {@link #answer}. A name whose addresses change makes the reconciler re-sync the VIPs
 * that use it.
 *
 * <p>It owns the {@code UNRESOLVED} flag: a static backend whose name has no address is held as a
 * placeholder carrying it ({@link #syncUnresolved}). Pure; confined to the control loop's thread.
 */
final class NameKeeper {
    private final List<Action> out;
    private final NameTable table;
    /** Names with a refresh timer set. */
    private final Set<String> timers = new HashSet<>();
    /** Bumped on every adopt: a lookup started before it answers for a table that moved on. */
    private long epoch;

    NameKeeper(List<Action> out) {
        this.out = requireNonNull(out, "out");
        RuntimeSettings.Dns d = RuntimeSettings.Dns.DEFAULTS;
        this.table = new NameTable(d.minTtl(), d.maxTtl());
    }

    /** The host names among {@code config}'s static backends (IP literals need no lookup). */
    static Set<String> names(TandemConfig config) {
        Set<String> out = new LinkedHashSet<>();
        for (VipConfig v : config.vips()) {
            for (BackendConfig b : v.backends()) {
                if (literal(b.address().host()) == null) {
                    out.add(b.address().host());
                }
            }
        }
        return out;
    }

    /** {@code host} as an address when it is an IP literal, else null. */
    static InetAddress literal(String host) {
        try {
            return InetAddress.ofLiteral(host);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * Adopts a prepared config's lookups: its TTL bounds, its answers, a refresh per name; forgets
     * names no longer used. Part of a successful apply (which re-syncs every VIP afterwards, so no
     * name is reported changed here).
     */
    void adopt(RuntimeSettings.Dns settings, Map<String, Answer> answers) {
        epoch++;
        table.bounds(settings.minTtl(), settings.maxTtl());
        table.retain(answers.keySet());
        for (var it = timers.iterator(); it.hasNext(); ) {
            String name = it.next();
            if (!answers.containsKey(name)) {
                it.remove();
                out.add(new Action.Cancel(new Action.Timer.NameRefresh(name)));
            }
        }
        answers.forEach(this::record);
    }

    /** {@code name}'s refresh timer ran out: look it up (the answer comes back to {@link #answer}). */
    void refreshDue(String name) {
        timers.remove(name);
        if (table.knows(name)) {
            out.add(new Action.Lookup(name, epoch));
        }
    }

    /**
     * A lookup's answer; stale ones (a reload looked the name up again, or dropped it, meanwhile)
     * are ignored.
     *
     * @return whether the name's addresses (or its reason for having none) changed
     */
    boolean answer(String name, long lookupEpoch, Answer answer) {
        if (lookupEpoch != epoch || !table.knows(name)) {
            return false;
        }
        return record(name, answer).changed();
    }

    /**
     * The backends a static backend written as a host name stands for: one per current address,
     * named by the address ({@code 10.0.0.2:8080}). Empty for an IP literal (the caller has it)
     * and for a name without an address.
     */
    Map<HostPort, InetSocketAddress> backends(BackendConfig b) {
        if (literal(b.address().host()) != null) {
            return Map.of();
        }
        Map<HostPort, InetSocketAddress> found = new LinkedHashMap<>();
        for (InetAddress ip : table.addresses(b.address().host())) {
            found.put(HostPort.of(NetUtil.toAddressString(ip), b.address().port()),
                    new InetSocketAddress(ip, b.address().port()));
        }
        return found;
    }

    /**
     * Holds a placeholder, flagged {@code UNRESOLVED} with the reason, for each static backend of
     * {@code vs} whose host name has no address now (HAProxy {@code init-addr none}): the operator
     * sees it and why, the data path never does (it is in no pool and never checked). It goes when
     * the name resolves and its addresses join as backends.
     */
    void syncUnresolved(VipState vs, Instant now, List<String> changes) {
        Map<HostPort, BackendConfig> want = new LinkedHashMap<>();
        for (BackendConfig b : vs.config.backends()) {
            String host = b.address().host();
            if (literal(host) == null && table.addresses(host).isEmpty()) {
                want.put(b.address(), b);
            }
        }
        for (var it = vs.unresolved.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!want.containsKey(e.getKey())) {
                it.remove();
                List<String> addresses = text(table.addresses(e.getKey().host()));
                if (addresses.isEmpty()) {
                    changes.add("removed backend " + e.getKey() + " from " + vs.name());
                }
                out.add(Action.Log.info("backend placeholder gone vip=" + vs.name() + " backend=" + e.getKey()
                        + " addresses=" + addresses));
            }
        }
        for (BackendConfig b : want.values()) {
            String reason = table.unresolvedReason(b.address().host()).orElse("not looked up yet");
            BackendState bs = vs.unresolved.get(b.address());
            String shown = bs == null ? null : bs.recentTransitions().getLast().reason();
            if (reason.equals(shown)) {
                continue;
            }
            // New, or a new reason (NXDOMAIN after a timeout, say): a fresh placeholder shows it.
            bs = new BackendState(Backend.of(b.address(), InetSocketAddress.createUnresolved(b.address().host(),
                    b.address().port()), Math.max(1, b.weight())), "dns:" + b.address().host());
            bs.flag(HealthFlag.UNRESOLVED, true, reason, now);
            if (vs.unresolved.put(b.address(), bs) == null) {
                changes.add("unresolved backend " + b.address() + " of " + vs.name() + " (" + reason + ")");
            }
            out.add(Action.Log.warn("backend unresolved vip=" + vs.name() + " backend=" + b.address()
                    + " flag=UNRESOLVED reason=\"" + reason + "\""));
        }
    }

    /** The node stops: no more refreshes. */
    void close() {
        timers.forEach(name -> out.add(new Action.Cancel(new Action.Timer.NameRefresh(name))));
        timers.clear();
    }

    /** Applies one answer: the table decides; this logs, counts and sets the next refresh. */
    private Decision record(String name, Answer answer) {
        Decision d = table.onAnswer(name, answer);
        String result = switch (answer) {
            case Found f -> "found";
            case NotFound nf -> "not_found";
            case Failed fl -> "failed";
        };
        out.add(Action.counter("tandem.dns.lookups", "result", result));
        String next = Durations.format(d.askAgainIn());
        String addresses = text(table.addresses(name)).toString();
        switch (answer) {
            case Found f when d.changed() -> out.add(Action.Log.info("name resolved name=" + name + " addresses="
                    + addresses + " ttl=" + Durations.format(f.ttl()) + " next_in=" + next));
            case Found f -> out.add(Action.Log.debug("name unchanged name=" + name + " addresses=" + addresses
                    + " next_in=" + next));
            case Failed fl when d.held() -> out.add(Action.Log.warn("name lookup failed name=" + name + " reason=\""
                    + fl.reason() + "\" keeping=" + addresses + " retry_in=" + next));
            default -> {
                String reason = table.unresolvedReason(name).orElse("?");
                out.add(d.changed()
                        ? Action.Log.warn("name unresolved name=" + name + " reason=\"" + reason + "\" retry_in=" + next)
                        : Action.Log.debug("name still unresolved name=" + name + " reason=\"" + reason + "\" retry_in="
                                + next));
            }
        }
        timers.add(name);
        out.add(new Action.Schedule(new Action.Timer.NameRefresh(name), Duration.ofMillis(Math.max(1,
                d.askAgainIn().toMillis()))));
        return d;
    }

    private static List<String> text(List<InetAddress> addresses) {
        return addresses.stream().map(NetUtil::toAddressString).toList();
    }
}
