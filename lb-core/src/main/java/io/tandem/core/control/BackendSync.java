package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.BackendConfig;
import io.tandem.config.HostPort;
import io.tandem.config.Locality;
import io.tandem.config.LocalitySettings;
import io.tandem.core.pool.Backend;
import io.tandem.health.HealthFlag;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The membership half of the {@link Reconciler}: what a VIP's backends should be — its static
 * backends (a host name stands for each of its current addresses) plus its service's discovered
 * endpoints — and the diff that gets it there: a new backend joins (its check decides when it
 * serves), a gone one leaves the pool while its open connections finish, a kept one keeps its
 * counters and maybe gets a new weight. It owns the flags the discovery source sets:
 * {@code DRAINING} when the source drains ({@code TASK_KILLING}, weight 0), shared with the
 * operator's drain, and {@code UNHEALTHY_IN_SOURCE}.
 */
final class BackendSync {
    /** The origin of a backend the operator added through the admin API. */
    static final String RUNTIME = "runtime";
    /** The highest weight an agent's percentage can raise a backend to: the config's maximum. */
    static final int MAX_AGENT_WEIGHT = 1000;

    /** One backend as config, names and discovery want it. */
    private record Desired(InetSocketAddress socketAddress, int weight, String origin, boolean sourceDraining,
                           boolean unhealthyInSource, Locality locality, int priority, long sniSets) {
    }

    private final List<Action> out;
    private final NameKeeper names;
    private final HealthRules health;
    /** The config's CIDR → locality map, for backends whose config or source names no locality. */
    private final Supplier<LocalitySettings> locality;

    BackendSync(List<Action> out, NameKeeper names, HealthRules health, Supplier<LocalitySettings> locality) {
        this.out = requireNonNull(out, "out");
        this.names = requireNonNull(names, "names");
        this.health = requireNonNull(health, "health");
        this.locality = requireNonNull(locality, "locality");
    }

    /**
     * Adds, keeps and removes {@code vs}'s backends to match its config, the names' current
     * addresses and {@code discovered} (service → endpoints); every change goes to {@code changes}.
     * Does not publish: the caller does, once, after the health sync.
     */
    void sync(VipState vs, Map<String, List<Discovery.Resolved>> discovered, Instant now, List<String> changes) {
        Map<HostPort, Desired> want = desired(vs, discovered);
        for (var it = vs.backends.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!want.containsKey(e.getKey())) {
                it.remove();
                Integer runtimeWeight = vs.runtimeWeights.remove(e.getKey());
                if (runtimeWeight != null) {
                    out.add(Action.Log.info("runtime change dropped vip=" + vs.name() + " backend=" + e.getKey()
                            + " change=weight weight=" + runtimeWeight + " reason=\"the backend left the VIP\""));
                }
                health.forget(vs, e.getValue());
                changes.add("removed backend " + e.getKey() + " from " + vs.name());
                out.add(new Action.BackendRemoved(vs.vip, e.getValue().backend(), e.getValue().origin()));
            }
        }
        for (var w : want.entrySet()) {
            Desired d = w.getValue();
            BackendState bs = vs.backends.get(w.getKey());
            if (bs == null) {
                Backend b = Backend.of(w.getKey(), d.socketAddress(), d.weight(), d.locality(), d.priority(),
                        d.sniSets());
                bs = new BackendState(b, d.origin());
                bs.eligibleSince = now;
                vs.backends.put(w.getKey(), bs);
                out.add(new Action.BindBackend(vs.vip, b, bs::eligible));
                changes.add("added backend " + w.getKey() + " to " + vs.name());
                out.add(Action.Log.info("backend added vip=" + vs.name() + " backend=" + w.getKey() + " weight="
                        + d.weight() + " locality=" + d.locality() + " priority=" + d.priority() + " origin="
                        + d.origin()));
            } else {
                if (bs.backend().weight() != d.weight()) {
                    bs.backend(bs.backend().withWeight(d.weight()));
                    changes.add("reweighted backend " + w.getKey() + " of " + vs.name());
                }
                if (!bs.backend().locality().equals(d.locality()) || bs.backend().priority() != d.priority()) {
                    out.add(Action.Log.info("backend placement vip=" + vs.name() + " backend=" + w.getKey()
                            + " locality=" + d.locality() + " priority=" + d.priority() + " was_locality="
                            + bs.backend().locality() + " was_priority=" + bs.backend().priority()));
                    bs.backend(bs.backend().withPlacement(d.locality(), d.priority()));
                    changes.add("moved backend " + w.getKey() + " of " + vs.name() + " to " + d.locality()
                            + " priority " + d.priority());
                }
                if (bs.backend().sniSets() != d.sniSets()) {
                    bs.backend(bs.backend().withSniSets(d.sniSets()));
                    changes.add("moved backend " + w.getKey() + " of " + vs.name() + " to other sni routes");
                }
            }
            boolean was = bs.eligible();
            bs.sourceDraining = d.sourceDraining();
            boolean changed = bs.flag(HealthFlag.DRAINING, bs.sourceDraining || bs.operatorDraining,
                    d.sourceDraining() ? "draining in source " + d.origin() : "source no longer draining", now);
            changed |= bs.flag(HealthFlag.UNHEALTHY_IN_SOURCE, d.unhealthyInSource(), d.unhealthyInSource()
                    ? "unhealthy in source " + d.origin() : "healthy in source", now);
            if (changed) {
                out.add(Action.Log.info("backend source flags vip=" + vs.name() + " backend=" + w.getKey() + " flags="
                        + bs.flags() + " origin=" + d.origin()));
                health.afterFlagChange(vs, bs, was, true, now);
            }
        }
        names.syncUnresolved(vs, now, changes);
    }

    /**
     * {@code service}'s endpoints for the backend set {@code bit} ({@code sni}; 1: the VIP's own): a
     * new address joins with its source's settings; one already wanted (static, by name, or through
     * another set's service) keeps its settings and serves this set too.
     */
    private static void discovered(Map<HostPort, Desired> want, Map<String, List<Discovery.Resolved>> discovered,
                                   String service, long bit, LocalitySettings map) {
        for (Discovery.Resolved r : discovered.getOrDefault(service, List.of())) {
            var ep = r.endpoint();
            Desired was = want.get(ep.address());
            if (was != null) {
                if ((was.sniSets() & bit) == 0) {
                    want.put(ep.address(), new Desired(was.socketAddress(), was.weight(), was.origin(),
                            was.sourceDraining(), was.unhealthyInSource(), was.locality(), was.priority(),
                            was.sniSets() | bit));
                }
                continue;
            }
            want.put(ep.address(), new Desired(r.socketAddress(), Math.max(ep.weight(), 0), ep.origin(),
                    ep.draining() || ep.weight() == 0, !ep.healthyInSource(),
                    ep.locality().orElse(map.lookup(r.socketAddress().getAddress())), 0, bit));
        }
    }

    /** An IP literal wins over the same address reached through a name or discovery. */
    private Map<HostPort, Desired> desired(VipState vs, Map<String, List<Discovery.Resolved>> discovered) {
        Map<HostPort, Desired> want = new LinkedHashMap<>();
        LocalitySettings map = locality.get();
        for (BackendConfig b : vs.config.backends()) {
            InetAddress ip = NameKeeper.literal(b.address().host());
            if (ip != null && !vs.runtimeRemoved.contains(b.address())) {
                want.put(b.address(), new Desired(new InetSocketAddress(ip, b.address().port()), b.weight(), "static",
                        false, false, b.locality().orElse(map.lookup(ip)), b.priority(), b.sniSets()));
            }
        }
        for (BackendConfig b : vs.config.backends()) {
            names.backends(b).forEach((hp, socketAddress) -> want.putIfAbsent(hp, new Desired(socketAddress,
                    b.weight(), "dns:" + b.address().host(), false, false,
                    b.locality().orElse(map.lookup(socketAddress.getAddress())), b.priority(), b.sniSets())));
        }
        for (BackendConfig b : vs.runtimeAdded.values()) {
            InetAddress ip = NameKeeper.literal(b.address().host()); // the admin API takes IP literals only
            want.putIfAbsent(b.address(), new Desired(new InetSocketAddress(ip, b.address().port()), b.weight(),
                    RUNTIME, false, false, b.locality().orElse(map.lookup(ip)), b.priority(), b.sniSets()));
        }
        vs.config.service().ifPresent(service -> discovered(want, discovered, service, 1L, map));
        var routes = vs.config.sni().routes();
        for (int i = 0; i < routes.size(); i++) {
            long bit = io.tandem.config.SniRouting.bit(i + 1);
            routes.get(i).service().ifPresent(service -> discovered(want, discovered, service, bit, map));
        }
        // Weights: the source's 0 means draining (its own flag), so it counts 1 like the config's
        // minimum; the operator's run-time weight is taken as it is, 0 included (no new connections).
        // An agent's percentage then scales that weight (0 % = no new connections), an agent's
        // weight:N replaces it, capped at the config's maximum.
        want.replaceAll((hp, d) -> {
            Integer runtime = vs.runtimeWeights.get(hp);
            int weight = runtime != null ? runtime : Math.max(1, d.weight());
            BackendState known = vs.backends.get(hp);
            if (known != null && known.agent != null && known.agent.weight().isPresent()) {
                weight = known.agent.weight().get().apply(weight, MAX_AGENT_WEIGHT);
            }
            return new Desired(d.socketAddress(), weight, d.origin(), d.sourceDraining(), d.unhealthyInSource(),
                    d.locality(), d.priority(), d.sniSets());
        });
        return want;
    }
}
