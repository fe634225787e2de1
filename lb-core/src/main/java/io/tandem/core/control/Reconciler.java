package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import io.tandem.config.TandemConfig;
import io.tandem.config.VipConfig;
import io.tandem.core.control.NodeControl.BackendAction;
import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.control.Transaction.Proposal;
import io.tandem.core.pool.Backend;
import io.tandem.core.vip.Vip;
import io.tandem.health.HealthFlag;
import io.tandem.health.check.HealthTransition;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The control plane's decisions, as a pure state machine in the manner of {@code ha/Arbiter}:
 * (desired config, discovery results, names, health verdicts and signals, operator actions, bind
 * results, timers) in, {@link Action}s out. No I/O, no clock, no threads: every input carries its
 * time, and {@link ControlLoop} runs it on its one thread and executes what {@link #actions()}
 * returns. Its parts: {@link Transaction} (a config on its way in), {@link BackendSync}
 * (membership), {@link HealthRules} (checks, ejections, flag consequences), {@link NameKeeper}
 * (host names on their TTL), {@link VipState#publish} (the pool rule).
 *
 * <p>The rules:
 * <ol>
 *   <li><b>All or nothing</b>: a config is applied only once every new listener it needs is
 *       bound ("binding" is a state, not a wait); a file VIP that cannot bind rejects the whole
 *       config, what was bound for it is closed and nothing else changes. Configs are applied one
 *       at a time, in order, and never while a listener is still closing (the next one may want
 *       its address).</li>
 *   <li><b>Every difference is reported</b>: applied live ({@code changes}) or needing a restart
 *       ({@link ConfigChanges}); a listener that stays keeps the UDP options it was bound with.</li>
 *   <li><b>File VIPs win</b>: a VIP discovery declares (Marathon labels) runs unless a file VIP has
 *       its name or address; one that cannot bind is dropped alone, with a warning.</li>
 *   <li><b>Flags have one owner each</b>: checks and passive signals ({@link HealthRules}), the
 *       discovery source ({@link BackendSync}), names ({@link NameKeeper}: {@code UNRESOLVED}),
 *       the operator ({@code DRAINING}, shared with the source, and {@code DISABLED}). Any change
 *       publishes a new pool.</li>
 *   <li><b>Existing connections are never cut by a reload</b>: removing a VIP or a backend only
 *       stops new connections; connections are cut only by {@code close_on_backend_down} (after
 *       the publish that took the backend out) and by an operator drain's deadline.</li>
 *   <li><b>Warm-up</b>: the node is not ready while backends await their first check, bounded by
 *       the longest a first verdict can take; once over it never comes back.</li>
 * </ol>
 */
final class Reconciler {
    private final List<Action> out = new ArrayList<>();
    private final Instant startedAt;
    private final Map<String, VipState> vips = new LinkedHashMap<>();
    private final NameKeeper names = new NameKeeper(out);
    private final HealthRules health;
    private final BackendSync members;
    private final Deque<Proposal> queue = new ArrayDeque<>();
    private Map<String, VipConfig> declared = Map.of();
    private Map<String, List<Discovery.Resolved>> discovered = Map.of();
    /** The config in force (restart-only keys at their running values); null before the first. */
    private TandemConfig config;
    /** The node's locality and the CIDR map in force: set before a config's VIPs are synced. */
    private io.tandem.config.LocalitySettings locality = io.tandem.config.LocalitySettings.NONE;
    private long generation;
    private Instant configLoadedAt;
    private boolean draining;
    /** The start-up warm-up is over (see {@link #warming}); never goes back. */
    private boolean warmedUp;
    /** The config on its way in (binding its listeners); null when none. */
    private Transaction tx;
    /** Listeners closing now: the next config waits for them. */
    private int closing;
    private long nextTransaction = 1;
    private long nextIncarnation = 1;
    /** The time of the input being handled. */
    private Instant now;

    Reconciler(Instant startedAt) {
        this.startedAt = requireNonNull(startedAt, "startedAt");
        this.now = startedAt;
        this.health = new HealthRules(out, () -> now, vips::get, this::publish);
        this.members = new BackendSync(out, names, health, () -> locality);
    }

    /** What to do, in order; the list is handed over (the next call starts a new one). */
    List<Action> actions() {
        List<Action> a = List.copyOf(out);
        out.clear();
        return a;
    }

    // ---------------------------------------------------------------- config and listeners

    /** A config to apply (the start, a reload); queued behind one on its way in. */
    void propose(Proposal p, Instant at) {
        now = requireNonNull(at, "at");
        queue.add(requireNonNull(p, "p"));
        pump();
    }

    /** A listener of transaction {@code transaction} is bound. */
    void bound(long transaction, String vip, BoundListener listener, Instant at) {
        now = at;
        if (tx == null || tx.id != transaction || !tx.awaits(vip)) {
            closeListener(vip, listener); // the node stopped meanwhile
            return;
        }
        if (tx.bound(vip, listener)) {
            finish();
            pump();
        }
    }

    /** A listener of transaction {@code transaction} cannot be bound, for {@code reason}. */
    void bindFailed(long transaction, String vip, String reason, Instant at) {
        now = at;
        if (tx != null && tx.id == transaction && tx.awaits(vip) && tx.failed(vip, reason)) {
            finish();
            pump();
        }
    }

    /** A listener asked to close ({@link Action.CloseListener}) has closed, or given up trying. */
    void listenerClosed(Instant at) {
        now = at;
        closing--;
        pump();
    }

    /**
     * Graceful shutdown, step one: the node is no longer ready and every listener closes; nothing
     * is bound from now on. Existing connections are left to finish.
     */
    void stopAccepting(Instant at) {
        now = at;
        draining = true;
        for (VipState vs : vips.values()) {
            if (vs.listener != null) {
                closeListener(vs.name(), vs.listener);
                vs.listener = null;
            }
        }
    }

    /** The node stops: listeners close, checks and timers stop, meters go. */
    void close(Instant at) {
        now = at;
        draining = true;
        names.close();
        for (VipState vs : vips.values()) {
            if (vs.listener != null) {
                closeListener(vs.name(), vs.listener);
                vs.listener = null;
            }
            health.forget(vs);
            out.add(new Action.UnbindVip(vs.name()));
        }
        vips.clear();
        if (tx != null) {
            tx.fresh.values().stream().filter(vs -> vs.listener != null)
                    .forEach(vs -> closeListener(vs.name(), vs.listener));
            tx = null;
        }
        queue.clear();
    }

    private void pump() {
        while (tx == null && closing == 0 && !queue.isEmpty()) {
            Proposal p = queue.poll();
            TandemConfig next = p.rereadsDeclared() ? config : p.config();
            if (next == null) {
                continue; // declared VIPs changed before any config: the first one reads them
            }
            try {
                tx = Transaction.plan(nextTransaction++, p, config, next, vips, declared, draining, nextIncarnation,
                        out);
            } catch (RuntimeException e) {
                failed(p, e);
                continue;
            }
            nextIncarnation += tx.incarnations();
            if (tx.complete()) {
                finish();
            }
        }
    }

    /** Every bind of the transaction is back: reject it whole, or swap. */
    private void finish() {
        Transaction t = tx;
        tx = null;
        try {
            decide(t);
        } catch (RuntimeException e) {
            failed(t.proposal, e); // a bug: whoever waits still gets an answer
        }
    }

    private void failed(Proposal p, RuntimeException e) {
        out.add(new Action.Log(org.slf4j.event.Level.ERROR, "config failed why=" + p.why() + " error=\"" + e + "\""));
        out.add(Action.counter("tandem.reloads", "result", "rejected"));
        answer(p, new ReloadOutcome(false, generation, List.of(), List.of("reload failed (" + e + ")")));
    }

    private void decide(Transaction t) {
        if (draining) {
            // Shutdown began while binding: a draining node takes nothing new.
            t.fresh.values().stream().filter(vs -> vs.listener != null)
                    .forEach(vs -> closeListener(vs.name(), vs.listener));
            t.fresh.clear();
            t.failed.clear();
        }
        List<String> errors = new ArrayList<>();
        for (String name : List.copyOf(t.wanted.keySet())) {
            String reason = t.failed.get(name);
            if (reason == null) {
                continue;
            }
            VipConfig v = t.wanted.get(name);
            t.fresh.remove(name);
            if (t.declared.remove(name)) {
                t.wanted.remove(name);
                out.add(Action.Log.warn("declared vip ignored vip=" + name + " listen=" + v.listen()
                        + " reason=\"cannot bind: " + reason + "\""));
            } else {
                errors.add("vips[" + name + "].listen: " + v.listen() + " (expected a bindable address: " + reason
                        + ")");
            }
        }
        if (!errors.isEmpty()) {
            t.fresh.values().forEach(vs -> closeListener(vs.name(), vs.listener));
            out.add(Action.counter("tandem.reloads", "result", "rejected"));
            out.add(Action.Log.warn("config rejected why=" + t.proposal.why() + " errors=" + errors.size()
                    + " first=\"" + errors.getFirst() + "\""));
            answer(t.proposal, new ReloadOutcome(false, generation, List.of(), errors));
            return;
        }
        swap(t);
    }

    /** Phase two: nothing below can fail for config reasons. */
    private void swap(Transaction t) {
        Proposal p = t.proposal;
        List<String> changes = new ArrayList<>();
        if (p.names() != null) {
            names.adopt(t.effective.runtime().dns(), p.names());
        }
        changes.addAll(t.report.live());
        for (var it = vips.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            VipConfig v = t.wanted.get(e.getKey());
            if (v != null && !t.fresh.containsKey(e.getKey())) {
                continue;
            }
            VipState old = e.getValue();
            dropRuntime(old, v == null ? "the reload removed the VIP" : "the reload replaced the VIP's listener",
                    changes);
            if (old.listener != null) {
                closeListener(old.name(), old.listener);
                old.listener = null;
            }
            health.forget(old);
            out.add(new Action.UnbindVip(e.getKey()));
            it.remove();
            if (v == null) {
                changes.add("removed vip " + e.getKey());
                out.add(Action.Log.info("vip removed vip=" + e.getKey() + " listen=" + old.config.listen()));
            }
        }
        locality = t.effective.locality();
        for (VipConfig v : t.wanted.values()) {
            VipState vs = t.fresh.get(v.name());
            if (vs != null) {
                vips.put(v.name(), vs);
                out.add(new Action.BindVip(vs.vip, vs.listener));
                changes.add("listening vip " + v.name() + " on " + vs.listener.localAddress());
                out.add(Action.Log.info("vip listening vip=" + v.name() + " listen=" + vs.listener.localAddress()
                        + " protocol=" + v.protocol().name().toLowerCase(Locale.ROOT) + " policy="
                        + v.policy().configName() + " backends=" + v.backends().size() + " service="
                        + v.service().orElse("-") + " origin=" + (t.declared.contains(v.name()) ? "discovery"
                        : "config")));
            } else {
                vs = vips.get(v.name());
                if (vs == null) {
                    continue; // draining node: no new VIPs
                }
                List<String> fields = ConfigChanges.vipFields(vs.config, v);
                if (!fields.isEmpty()) {
                    changes.add("updated vip " + v.name() + " (" + String.join(", ", fields) + ")");
                }
            }
            VipConfig previous = vs.config;
            if (!previous.backends().equals(v.backends()) || !previous.service().equals(v.service())) {
                dropRuntime(vs, "the reload changed the VIP's backends", changes);
            }
            vs.config = v;
            members.sync(vs, discovered, now, changes);
            if (health.sync(vs, previous, now)) {
                members.sync(vs, discovered, now, changes); // an agent's weight was dropped
            }
            publish(vs);
        }
        config = t.effective;
        generation++;
        configLoadedAt = now;
        out.add(new Action.ConfigureDiscovery(config.discovery()));
        out.add(Action.counter("tandem.reloads", "result", "applied"));
        out.add(Action.Log.info("config applied why=" + p.why() + " generation=" + generation + " vips="
                + vips.size() + " changes=" + changes.size() + " needs_restart=" + t.needsRestart.size()));
        for (String line : t.needsRestart) {
            out.add(Action.Log.warn("config change not applied why=" + p.why() + " change=\"" + line + "\""));
        }
        out.add(new Action.Applied(p.request(), config, generation));
        answer(p, new ReloadOutcome(true, generation, changes, t.needsRestart, List.of()));
    }

    private void answer(Proposal p, ReloadOutcome outcome) {
        if (p.request() != 0) {
            out.add(new Action.Reply(p.request(), outcome));
        } else if (!outcome.applied()) {
            out.add(Action.Log.warn("discovery update not applied source=" + p.why().replaceFirst("^discovery:", "")
                    + " errors=" + outcome.errors()));
        }
    }

    private void closeListener(String vip, BoundListener listener) {
        closing++;
        out.add(new Action.CloseListener(vip, listener));
    }

    // ---------------------------------------------------------------- discovery and names

    /**
     * A discovery source reported: {@code endpoints} is every source's latest (service →
     * endpoints), {@code declaredVips} the VIPs they declare. A change of declared VIPs applies the
     * config in force again; otherwise the VIPs bound to a service re-sync their backends.
     */
    void discovered(String source, Map<String, List<Discovery.Resolved>> endpoints,
                    Map<String, VipConfig> declaredVips, Instant at) {
        now = at;
        discovered = Map.copyOf(endpoints);
        if (config == null) {
            return;
        }
        if (!declaredVips.equals(declared)) {
            declared = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(declaredVips)); // kept in order
            if (queue.stream().noneMatch(Proposal::rereadsDeclared)) {
                queue.add(new Proposal(0, null, "discovery:" + source, null));
            }
            pump();
            return;
        }
        List<String> changes = new ArrayList<>();
        for (VipState vs : vips.values()) {
            if (vs.config.service().isPresent() || vs.config.sni().anyService()) {
                resync(vs, changes);
            }
        }
        if (!changes.isEmpty()) {
            out.add(Action.Log.info("discovery applied source=" + source + " changes=" + changes.size()));
        }
    }

    /** The sources were reconfigured: a stopped source's endpoints are gone (the next sync drops them). */
    void discoveryRestarted(Map<String, List<Discovery.Resolved>> endpoints) {
        discovered = Map.copyOf(endpoints);
    }

    /**
     * A host name's lookup answered. When its addresses changed, the VIPs that use it re-sync: an
     * address gone leaves the pool (its connections finish), a new one joins (checked first, when
     * the VIP has a check).
     */
    void nameAnswer(String name, long epoch, NameTable.Answer answer, Instant at) {
        now = at;
        if (!names.answer(name, epoch, answer) || config == null) {
            return;
        }
        List<String> changes = new ArrayList<>();
        for (VipState vs : vips.values()) {
            if (vs.config.backends().stream().anyMatch(b -> b.address().host().equals(name))) {
                resync(vs, changes);
            }
        }
        if (!changes.isEmpty()) {
            out.add(Action.Log.info("dns applied name=" + name + " changes=" + changes));
        }
    }

    private void resync(VipState vs, List<String> changes) {
        members.sync(vs, discovered, now, changes);
        if (health.sync(vs, vs.config, now)) {
            members.sync(vs, discovered, now, changes); // an agent's weight was dropped
        }
        publish(vs);
    }

    // ---------------------------------------------------------------- health and operators

    /** A verdict of active check {@code check}. */
    void verdict(long check, HealthTransition t, Instant at) {
        now = at;
        health.verdict(check, t);
    }

    /**
     * What agent check {@code check} found. Flags apply at once; a new weight goes through the same
     * membership sync as an operator's run-time weight ({@link BackendSync}), then one publish.
     */
    void agent(long check, io.tandem.health.check.AgentState state, Instant at) {
        now = at;
        VipState vs = health.agent(check, state, at);
        if (vs != null) {
            resync(vs, new ArrayList<>());
        }
    }

    /** The data path saw {@code backend} of {@code vip} fail at {@code signalAt}. */
    void passiveFailure(Vip vip, Backend backend, String reason, Instant signalAt, String kind, Instant at) {
        now = at;
        health.passiveFailure(vip, backend, reason, signalAt, kind, at);
    }

    /** A connect to {@code backend} succeeded after failures: the streak ends. */
    void connectSucceeded(Vip vip, Backend backend, Instant at) {
        now = at;
        health.connectSucceeded(vip, backend);
    }

    /** {@code backend} of {@code vip} leads back into this node. */
    void selfLoop(Vip vip, Backend backend, Instant at) {
        now = at;
        health.selfLoop(vip, backend, at);
    }

    /**
     * A peer node ejected {@code backend} of {@code vip} by passive detection: probe it here at once
     * (shared health view). The peer's verdict is a hint; this node's own check decides.
     */
    void peerEjected(String vip, HostPort backend, String reason, Instant at) {
        now = at;
        VipState vs = vips.get(vip);
        BackendState bs = vs == null ? null : vs.backends.get(backend);
        if (bs == null) {
            return;
        }
        boolean probed = health.probeNow(bs);
        out.add(Action.Log.info("peer ejected backend vip=" + vip + " backend=" + backend + " peer_reason=\"" + reason
                + "\" probed=" + probed));
        out.add(Action.counter("tandem.ha.peer.ejections", "vip", vip));
    }

    /**
     * An operator's action on a backend.
     *
     * @return the backend after it
     * @throws IllegalArgumentException when the VIP or the backend does not exist (the message says which)
     */
    BackendState operator(String vipName, String backend, BackendAction action, Instant at) {
        now = at;
        VipState vs = vips.get(vipName);
        if (vs == null) {
            throw new IllegalArgumentException("no VIP named \"" + vipName + "\"");
        }
        HostPort address;
        try {
            address = HostPort.parse(backend);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("backend: " + e.getMessage());
        }
        BackendState bs = vs.backends.get(address);
        if (bs == null) {
            throw new IllegalArgumentException("VIP \"" + vipName + "\" has no backend " + address);
        }
        boolean wasEligible = bs.eligible();
        boolean changed = switch (action) {
            case DRAIN -> {
                bs.operatorDraining = true;
                yield bs.flag(HealthFlag.DRAINING, true, "operator drain", at);
            }
            case DISABLE -> bs.flag(HealthFlag.DISABLED, true, "operator disable", at);
            case ENABLE -> {
                bs.operatorDraining = false;
                // A drain the discovery source asked for (TASK_KILLING) is not the operator's to lift.
                yield bs.flag(HealthFlag.DRAINING, bs.sourceDraining, "operator enable", at)
                        | bs.flag(HealthFlag.DISABLED, false, "operator enable", at);
            }
        };
        out.add(Action.Log.info("backend action vip=" + vipName + " backend=" + address + " action="
                + action.name().toLowerCase(Locale.ROOT) + " changed=" + changed + " flags=" + bs.flags()));
        if (action == BackendAction.DRAIN && changed) {
            health.scheduleDrainDeadline(vs, bs, config.runtime().drainTimeout());
        } else if (action == BackendAction.ENABLE) {
            health.cancelDrainDeadline(vs, bs);
        }
        if (changed) {
            health.afterFlagChange(vs, bs, wasEligible, false, at);
        }
        return bs;
    }

    // ---------------------------------------------------------------- run-time changes

    /**
     * The operator's run-time changes of {@code vs} are forgotten: the config (or the source) is
     * what the VIP runs from now on. Each is logged at INFO and listed in {@code changes}.
     */
    void dropRuntime(VipState vs, String reason, List<String> changes) {
        if (!vs.hasRuntimeChanges()) {
            return;
        }
        for (var e : vs.runtimeWeights.entrySet()) {
            dropped(vs, e.getKey(), "weight weight=" + e.getValue(), "weight " + e.getValue() + " of backend "
                    + e.getKey(), reason, changes);
        }
        for (var b : vs.runtimeAdded.values()) {
            dropped(vs, b.address(), "added weight=" + b.weight(), "added backend " + b.address(), reason, changes);
        }
        for (HostPort hp : vs.runtimeRemoved) {
            dropped(vs, hp, "removed", "removal of backend " + hp, reason, changes);
        }
        vs.runtimeWeights.clear();
        vs.runtimeAdded.clear();
        vs.runtimeRemoved.clear();
    }

    private void dropped(VipState vs, HostPort backend, String logChange, String change, String reason,
                         List<String> changes) {
        out.add(Action.Log.info("runtime change dropped vip=" + vs.name() + " backend=" + backend + " change="
                + logChange + " reason=\"" + reason + "\""));
        changes.add("dropped run-time " + change + " of " + vs.name() + " (" + reason + ")");
    }

    /**
     * The operator sets a backend's weight (0..256) until a reload changes the VIP's backends.
     *
     * @throws IllegalArgumentException no such VIP or backend
     * @throws NodeControl.Refused a bad weight or backend address
     */
    BackendState setWeight(String vipName, String backend, int weight, Instant at) {
        now = at;
        VipState vs = existing(vipName);
        HostPort address = address(backend);
        checkWeight(weight);
        BackendState bs = vs.backends.get(address);
        if (bs == null) {
            throw new IllegalArgumentException("VIP \"" + vipName + "\" has no backend " + address);
        }
        int was = bs.backend().weight();
        vs.runtimeWeights.put(address, weight);
        out.add(Action.Log.info("backend weight set vip=" + vipName + " backend=" + address + " weight=" + weight
                + " was=" + was + " origin=runtime"));
        if (was != weight) {
            resync(vs, new ArrayList<>());
        }
        return bs;
    }

    /**
     * The operator adds a backend (an IP literal) to a VIP; it joins like a discovered one: checked
     * first when the VIP has a check. The config's self-loop rule holds.
     *
     * @throws IllegalArgumentException no such VIP
     * @throws NodeControl.Refused a bad address, weight or priority; a backend the VIP already has;
     *         one of this node's own listeners
     */
    BackendState addBackend(String vipName, NodeControl.RuntimeBackend spec, Instant at) {
        now = at;
        VipState vs = existing(vipName);
        HostPort address = address(spec.address());
        if (NameKeeper.literal(address.host()) == null) {
            throw new NodeControl.Refused(NodeControl.Refused.Kind.INVALID, "backend: \"" + address
                    + "\" (expected an IP address and port; a run-time backend is not looked up in DNS)");
        }
        checkWeight(spec.weight());
        if (spec.priority() < 0 || spec.priority() > io.tandem.config.BackendConfig.MAX_PRIORITY) {
            throw new NodeControl.Refused(NodeControl.Refused.Kind.INVALID, "priority: " + spec.priority()
                    + " (expected 0.." + io.tandem.config.BackendConfig.MAX_PRIORITY + ")");
        }
        for (String[] part : new String[][] {{"region", spec.region()}, {"zone", spec.zone()}}) {
            if (part[1] != null && !io.tandem.config.Locality.NAME.matcher(part[1]).matches()) {
                throw new NodeControl.Refused(NodeControl.Refused.Kind.INVALID, part[0] + ": \"" + part[1]
                        + "\" (expected letters, digits, '.', '_', ':' or '-', at most 63)");
            }
        }
        if (vs.backends.containsKey(address) || vs.unresolved.containsKey(address)) {
            throw new NodeControl.Refused(NodeControl.Refused.Kind.CONFLICT, "VIP \"" + vipName
                    + "\" already has backend " + address);
        }
        var loop = io.tandem.config.OwnListeners.reachedBy(config, vs.config.protocol(), address);
        if (loop.isPresent()) {
            throw new NodeControl.Refused(NodeControl.Refused.Kind.INVALID, "backend: \"" + address
                    + "\" (expected an address other than this node's own listener " + loop.get() + ")");
        }
        boolean wasRemoved = vs.runtimeRemoved.remove(address);
        if (!wasRemoved) {
            vs.runtimeAdded.put(address, new io.tandem.config.BackendConfig(address, spec.weight(),
                    io.tandem.config.Locality.of(spec.region(), spec.zone()), spec.priority()));
        }
        // A static backend removed earlier comes back as the config has it, with this weight.
        vs.runtimeWeights.remove(address);
        if (wasRemoved) {
            vs.runtimeWeights.put(address, spec.weight());
        }
        out.add(Action.Log.info("backend add requested vip=" + vipName + " backend=" + address + " weight="
                + spec.weight() + " origin=" + (wasRemoved ? "static (its run-time removal undone)" : "runtime")));
        resync(vs, new ArrayList<>());
        return vs.backends.get(address);
    }

    /**
     * The operator removes a static or run-time backend: it leaves the pool, its connections finish.
     *
     * @return the backend as it was just before
     * @throws IllegalArgumentException no such VIP or backend
     * @throws NodeControl.Refused a bad address; a backend discovery or a host name brought
     */
    BackendState removeBackend(String vipName, String backend, Instant at) {
        now = at;
        VipState vs = existing(vipName);
        HostPort address = address(backend);
        BackendState bs = vs.backends.get(address);
        if (bs == null) {
            throw new IllegalArgumentException("VIP \"" + vipName + "\" has no backend " + address);
        }
        boolean runtime = vs.runtimeAdded.containsKey(address);
        boolean isStatic = bs.origin().equals("static");
        if (!runtime && !isStatic) {
            throw new NodeControl.Refused(NodeControl.Refused.Kind.CONFLICT, "backend " + address + " of VIP \""
                    + vipName + "\" comes from " + bs.origin() + " (expected a static or run-time backend;"
                    + " its source or the config owns it: drain or disable it instead)");
        }
        io.tandem.config.BackendConfig added = runtime ? vs.runtimeAdded.remove(address) : null;
        if (!runtime) {
            vs.runtimeRemoved.add(address);
        }
        Integer weight = vs.runtimeWeights.remove(address);
        resync(vs, new ArrayList<>());
        if (vs.backends.containsKey(address)) {
            // Discovery or a host name wants the same address: it stays, so nothing was removed.
            if (runtime) {
                vs.runtimeAdded.put(address, added);
            } else {
                vs.runtimeRemoved.remove(address);
            }
            if (weight != null) {
                vs.runtimeWeights.put(address, weight);
            }
            resync(vs, new ArrayList<>());
            throw new NodeControl.Refused(NodeControl.Refused.Kind.CONFLICT, "backend " + address + " of VIP \""
                    + vipName + "\" is also wanted by discovery or a host name of the VIP: it stays (expected a backend"
                    + " only the config or a run-time add brings)");
        }
        out.add(Action.Log.info("backend removed vip=" + vipName + " backend=" + address + " origin=" + bs.origin()
                + " active=" + bs.backend().active() + " by=operator"));
        return bs;
    }

    private VipState existing(String vipName) {
        VipState vs = vips.get(vipName);
        if (vs == null) {
            throw new IllegalArgumentException("no VIP named \"" + vipName + "\"");
        }
        return vs;
    }

    private static HostPort address(String backend) {
        try {
            return HostPort.parse(backend);
        } catch (IllegalArgumentException e) {
            throw new NodeControl.Refused(NodeControl.Refused.Kind.INVALID, "backend: " + e.getMessage());
        }
    }

    private static void checkWeight(int weight) {
        if (weight < 0 || weight > NodeControl.MAX_RUNTIME_WEIGHT) {
            throw new NodeControl.Refused(NodeControl.Refused.Kind.INVALID, "weight: " + weight + " (expected 0.."
                    + NodeControl.MAX_RUNTIME_WEIGHT + ")");
        }
    }

    // ---------------------------------------------------------------- timers

    void timer(Action.Timer timer, Instant at) {
        now = at;
        switch (timer) {
            case Action.Timer.Ramp r -> {
                VipState vs = incarnation(r.vip(), r.incarnation());
                if (vs != null) {
                    vs.rampTimer = false;
                    publish(vs);
                }
            }
            case Action.Timer.EjectionExpiry e -> {
                VipState vs = incarnation(e.vip(), e.incarnation());
                if (vs != null) {
                    health.ejectionsExpired(vs, at);
                }
            }
            case Action.Timer.DrainDeadline d -> {
                VipState vs = incarnation(d.vip(), d.incarnation());
                if (vs != null) {
                    health.drainDeadline(vs, d.backend(), config.runtime().drainTimeout());
                }
            }
            case Action.Timer.LatencyReview l -> {
                VipState vs = incarnation(l.vip(), l.incarnation());
                if (vs != null) {
                    health.latencyReview(vs, at);
                }
            }
            case Action.Timer.NameRefresh n -> names.refreshDue(n.name());
        }
    }

    private VipState incarnation(String name, long incarnation) {
        VipState vs = vips.get(name);
        return vs != null && vs.incarnation == incarnation ? vs : null;
    }

    // ---------------------------------------------------------------- pools and readiness

    private void publish(VipState vs) {
        vs.publish(now, locality, out);
        warming(now); // ends the node's warm-up as soon as the last first verdict arrives
    }

    /**
     * Whether the node is still warming up (Envoy's cluster warming, for readiness only): just
     * started, and some backend still awaits its first check. Bounded per VIP by
     * {@code fall × (timeout + fast_interval) + interval} from the start, the longest a first
     * verdict takes, so a check that never concludes cannot hold readiness. Once over it stays
     * over: a reload or discovery adding backends later does not make a serving node unready.
     */
    boolean warming(Instant at) {
        if (warmedUp || config == null) {
            return false;
        }
        boolean awaiting = false;
        Instant deadline = startedAt;
        for (VipState vs : vips.values()) {
            var check = vs.config.healthCheck();
            if (check.isEmpty()) {
                continue;
            }
            var t = check.get().timing();
            Instant limit = startedAt.plus(t.timeout().plus(t.fastInterval()).multipliedBy(t.fall())).plus(t.interval());
            deadline = limit.isAfter(deadline) ? limit : deadline;
            awaiting |= vs.backends.values().stream().anyMatch(b -> b.has(HealthFlag.PENDING_FIRST_CHECK));
        }
        if (!awaiting || !at.isBefore(deadline)) {
            warmedUp = true;
            if (deadline.isAfter(startedAt)) { // some VIP has a check, so there was a warm-up
                out.add(Action.Log.info("node warm after_ms=" + Duration.between(startedAt, at).toMillis()
                        + " first_checks=\"" + (awaiting ? "some still pending at the warm-up limit" : "all answered")
                        + "\""));
            }
            return false;
        }
        return true;
    }

    /** Listeners bound, a config in force, not draining and not warming up. */
    boolean ready(Instant at) {
        return config != null && !draining && !warming(at) && vips.values().stream().allMatch(v -> v.listener != null);
    }

    // ---------------------------------------------------------------- reads (views, the shell)

    Collection<VipState> vips() {
        return vips.values();
    }

    VipState vip(String name) {
        return vips.get(name);
    }

    /** The node's locality and the CIDR map in force. */
    io.tandem.config.LocalitySettings locality() {
        return locality;
    }

    TandemConfig config() {
        return config;
    }

    long generation() {
        return generation;
    }

    Instant configLoadedAt() {
        return configLoadedAt;
    }

    boolean draining() {
        return draining;
    }

    Instant startedAt() {
        return startedAt;
    }
}
