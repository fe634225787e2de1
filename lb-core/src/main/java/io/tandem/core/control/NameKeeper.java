package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.netty.util.NetUtil;
import io.tandem.config.BackendConfig;
import io.tandem.config.HostPort;
import io.tandem.config.RuntimeSettings;
import io.tandem.config.TandemConfig;
import io.tandem.config.VipConfig;
import io.tandem.core.control.NameTable.Answer;
import io.tandem.core.control.NameTable.Decision;
import io.tandem.core.control.NameTable.Failed;
import io.tandem.core.control.NameTable.Found;
import io.tandem.core.control.NameTable.NotFound;
import io.tandem.core.metrics.Metrics;
import io.tandem.core.pool.Backend;
import io.tandem.health.HealthFlag;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resolver half of the control loop: keeps every backend host name of the config resolved.
 * A reload (and the start) looks every name up <em>before</em> the config is applied, off the
 * loop ({@link #prepare}); after that each name is looked up again when its TTL runs out
 * ({@link NameTable} decides when), on a timer of the loop whose lookup runs elsewhere
 * ({@link DnsClient}) and whose answer is posted back. A name whose addresses change is handed to
 * {@code changed}, which re-syncs the VIPs that use it.
 *
 * <p>It owns the {@code UNRESOLVED} flag: a static backend whose name has no address is held as a
 * placeholder carrying it ({@link #syncUnresolved}).
 *
 * <p>Confined to the control loop's thread except {@link #prepare}, which runs on the reload
 * thread and only reads the current client.
 */
final class NameKeeper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NameKeeper.class);
    private static final int PARALLEL = 64;

    /** The lookups done for a config about to be applied, with the client that did them. */
    record Prepared(DnsClient client, Map<String, Answer> answers) {
    }

    private final ScheduledExecutorService loop;
    private final Metrics metrics;
    private final Function<RuntimeSettings.Dns, DnsClient> clients;
    private final Consumer<String> changed;
    private final NameTable table;
    private final Map<String, ScheduledFuture<?>> timers = new HashMap<>();
    private volatile DnsClient client;
    /** Bumped on every adopt: a timer's answer from before it is stale. Loop thread. */
    private long epoch;

    /**
     * @param clients builds a DNS client for settings (a reload with new {@code runtime.dns} gets a new one)
     * @param changed called on the loop with a name whose addresses (or unresolved reason) changed
     */
    NameKeeper(ScheduledExecutorService loop, Metrics metrics, Function<RuntimeSettings.Dns, DnsClient> clients,
               Consumer<String> changed) {
        this.loop = requireNonNull(loop, "loop");
        this.metrics = requireNonNull(metrics, "metrics");
        this.clients = requireNonNull(clients, "clients");
        this.changed = requireNonNull(changed, "changed");
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
     * Looks every name of {@code next} up, with {@code next}'s DNS settings, and waits for the
     * answers. Runs on the reload thread (never on the loop); each lookup is bounded, so this is.
     */
    Prepared prepare(TandemConfig next) {
        DnsClient current = client;
        DnsClient c = current != null && current.settings().equals(next.runtime().dns()) ? current
                : clients.apply(next.runtime().dns());
        Map<String, Answer> answers = new LinkedHashMap<>();
        List<String> all = List.copyOf(names(next));
        // At most PARALLEL lookups (one UDP socket each) in flight: a config of a thousand names
        // must not open a thousand sockets at once.
        for (int from = 0; from < all.size(); from += PARALLEL) {
            Map<String, CompletableFuture<Answer>> pending = new LinkedHashMap<>();
            for (String name : all.subList(from, Math.min(all.size(), from + PARALLEL))) {
                pending.put(name, c.lookup(name));
            }
            pending.forEach((name, f) -> answers.put(name, f.join()));
        }
        return new Prepared(c, answers);
    }

    /**
     * Adopts a prepared config's lookups: its client and TTL bounds, its answers, a timer per name;
     * forgets names no longer used. Loop thread, as part of a successful apply (which re-syncs
     * every VIP afterwards, so nothing is reported to {@code changed} here).
     */
    void adopt(RuntimeSettings.Dns settings, Prepared prepared) {
        epoch++;
        client = prepared.client();
        table.bounds(settings.minTtl(), settings.maxTtl());
        table.retain(prepared.answers().keySet());
        timers.entrySet().removeIf(e -> {
            e.getValue().cancel(false);
            return true;
        });
        prepared.answers().forEach((name, answer) -> record(name, answer));
    }

    List<InetAddress> addresses(String name) {
        return table.addresses(name);
    }

    Optional<String> unresolvedReason(String name) {
        return table.unresolvedReason(name);
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
        Map<HostPort, InetSocketAddress> out = new LinkedHashMap<>();
        for (InetAddress ip : table.addresses(b.address().host())) {
            out.put(HostPort.of(NetUtil.toAddressString(ip), b.address().port()),
                    new InetSocketAddress(ip, b.address().port()));
        }
        return out;
    }

    /**
     * Holds a placeholder, flagged {@code UNRESOLVED} with the reason, for each static backend of
     * {@code vs} whose host name has no address now (HAProxy {@code init-addr none}): the operator
     * sees it and why, the data path never does (it is in no pool and never checked). It goes when
     * the name resolves and its addresses join as backends. Loop thread.
     */
    void syncUnresolved(VipState vs, Instant now, List<String> changes) {
        Map<HostPort, BackendConfig> want = new LinkedHashMap<>();
        for (BackendConfig b : vs.config.backends()) {
            String host = b.address().host();
            if (NameKeeper.literal(host) == null && addresses(host).isEmpty()) {
                want.put(b.address(), b);
            }
        }
        for (var it = vs.unresolved.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!want.containsKey(e.getKey())) {
                it.remove();
                List<String> addresses = addresses(e.getKey().host()).stream()
                        .map(NetUtil::toAddressString).toList();
                if (addresses.isEmpty()) {
                    changes.add("removed backend " + e.getKey() + " from " + vs.vip.name());
                }
                log.info("backend placeholder gone vip={} backend={} addresses={}", vs.vip.name(), e.getKey(),
                        addresses);
            }
        }
        for (BackendConfig b : want.values()) {
            String reason = unresolvedReason(b.address().host()).orElse("not looked up yet");
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
                changes.add("unresolved backend " + b.address() + " of " + vs.vip.name() + " (" + reason + ")");
            }
            log.warn("backend unresolved vip={} backend={} flag=UNRESOLVED reason=\"{}\"", vs.vip.name(),
                    b.address(), reason);
        }
    }

    @Override
    public void close() {
        timers.values().forEach(t -> t.cancel(false));
        timers.clear();
    }

    /** Applies one answer: the table decides, this logs, counts and schedules the next lookup. */
    private Decision record(String name, Answer answer) {
        Decision d = table.onAnswer(name, answer);
        String result = switch (answer) {
            case Found f -> "found";
            case NotFound nf -> "not_found";
            case Failed fl -> "failed";
        };
        metrics.counter("tandem.dns.lookups", "result", result).increment();
        String next = io.tandem.config.Durations.format(d.askAgainIn());
        switch (answer) {
            case Found f when d.changed() -> log.info("name resolved name={} addresses={} ttl={} next_in={}", name,
                    text(table.addresses(name)), io.tandem.config.Durations.format(f.ttl()), next);
            case Found f -> log.debug("name unchanged name={} addresses={} next_in={}", name,
                    text(table.addresses(name)), next);
            case Failed fl when d.held() -> log.warn("name lookup failed name={} reason=\"{}\" keeping={} retry_in={}",
                    name, fl.reason(), text(table.addresses(name)), next);
            default -> {
                if (d.changed()) {
                    log.warn("name unresolved name={} reason=\"{}\" retry_in={}", name,
                            table.unresolvedReason(name).orElse("?"), next);
                } else {
                    log.debug("name still unresolved name={} reason=\"{}\" retry_in={}", name,
                            table.unresolvedReason(name).orElse("?"), next);
                }
            }
        }
        schedule(name, d.askAgainIn());
        return d;
    }

    private void schedule(String name, Duration in) {
        long at = epoch;
        ScheduledFuture<?> old = timers.put(name, loop.schedule(() -> {
            timers.remove(name);
            refresh(name, at);
        }, Math.max(1, in.toMillis()), TimeUnit.MILLISECONDS));
        if (old != null) {
            old.cancel(false);
        }
    }

    /** Loop thread: starts a lookup whose answer comes back to the loop. */
    private void refresh(String name, long at) {
        DnsClient c = client;
        if (c == null || at != epoch) {
            return;
        }
        c.lookup(name).thenAccept(answer -> {
            try {
                loop.execute(() -> {
                    if (at != epoch || !table.knows(name)) {
                        return; // a reload looked it up again (or dropped it) meanwhile
                    }
                    if (record(name, answer).changed()) {
                        changed.accept(name);
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // the node is stopping
            }
        });
    }

    private static String text(List<InetAddress> addresses) {
        return addresses.stream().map(NetUtil::toAddressString).toList().toString();
    }
}
