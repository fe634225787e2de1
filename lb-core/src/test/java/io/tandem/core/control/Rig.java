package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.HostPort;
import io.tandem.config.TandemConfig;
import io.tandem.config.VipConfig;
import io.tandem.core.control.NodeControl.ReloadOutcome;
import io.tandem.core.control.Transaction.Proposal;
import io.tandem.discovery.Endpoint;
import io.tandem.health.check.CheckState;
import io.tandem.health.check.HealthTransition;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.event.Level;

/**
 * Drives a {@link Reconciler} the way the control loop does, with no sockets, threads or clock:
 * time is {@link #now} (moved by {@link #advance}), binds succeed at once on a made-up port unless
 * told to fail ({@link #failBind}) or to wait ({@link #holdBinds}), listener closes complete at
 * once unless held ({@link #holdCloses}). Every input returns the actions it led to (those of the
 * binds and closes it answered included).
 */
final class Rig {
    Instant now = Instant.parse("2026-12-01T10:00:00Z");
    final Reconciler r = new Reconciler(now);
    /** VIP name → the reason its next bind fails. */
    private final Map<String, String> bindFailures = new HashMap<>();
    private boolean holdBinds;
    private boolean holdCloses;
    /** Binds not answered yet (while held). */
    final List<Action.Bind> heldBinds = new ArrayList<>();
    /** Closes not answered yet (while held). */
    final List<Action.CloseListener> heldCloses = new ArrayList<>();
    private long requests;
    private int nextPort = 40_000;

    // ---------------------------------------------------------------- configs

    /** A config from YAML (admin off); fails the test when it does not validate. */
    static TandemConfig config(String yaml) {
        ConfigResult r = ConfigLoader.parse("admin: {enabled: false}\n" + yaml, "test.yaml");
        assertThat(r).as("%s", r).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config();
    }

    /** One TCP VIP {@code name} on {@code 10.1.0.<n>:80}, round robin, with {@code extra} YAML lines. */
    static String vip(String name, int n, String backends, String... extra) {
        StringBuilder b = new StringBuilder("  - name: " + name + "\n    listen: 10.1.0." + n + ":80\n    backends: ["
                + backends + "]\n");
        for (String e : extra) {
            b.append("    ").append(e).append('\n');
        }
        return b.toString();
    }

    static TandemConfig vips(String... vips) {
        return config("vips:\n" + String.join("", vips));
    }

    static Discovery.Resolved endpoint(String address, boolean draining, boolean healthy) {
        HostPort hp = HostPort.parse(address);
        return new Discovery.Resolved(new Endpoint(hp, 1, Optional.empty(), healthy, draining, "zookeeper:/" + address),
                new InetSocketAddress(hp.host(), hp.port()));
    }

    // ---------------------------------------------------------------- inputs

    /** Proposes {@code config} (as a reload with no host names) and answers its binds. */
    List<Action> propose(TandemConfig config) {
        return propose(config, Map.of());
    }

    /** Proposes {@code config} with the answers of its host names' lookups, and answers its binds. */
    List<Action> propose(TandemConfig config, Map<String, NameTable.Answer> names) {
        long request = ++requests;
        return run(r -> r.propose(new Proposal(request, config, "reload", names), now));
    }

    /** Runs one input at {@link #now}, then answers the binds and closes it asked for (unless held). */
    List<Action> run(Consumer<Reconciler> input) {
        input.accept(r);
        return settle();
    }

    /** Answers the held binds as they were asked (or failed), and returns what followed. */
    List<Action> releaseBinds() {
        holdBinds = false;
        List<Action.Bind> binds = List.copyOf(heldBinds);
        heldBinds.clear();
        binds.forEach(this::answer);
        return settle();
    }

    /** Answers the held closes, and returns what followed. */
    List<Action> releaseCloses() {
        holdCloses = false;
        int n = heldCloses.size();
        heldCloses.clear();
        for (int i = 0; i < n; i++) {
            r.listenerClosed(now);
        }
        return settle();
    }

    private List<Action> settle() {
        List<Action> all = new ArrayList<>();
        List<Action> batch;
        while (!(batch = r.actions()).isEmpty()) {
            all.addAll(batch);
            for (Action a : batch) {
                if (a instanceof Action.Bind b) {
                    if (holdBinds) {
                        heldBinds.add(b);
                    } else {
                        answer(b);
                    }
                } else if (a instanceof Action.CloseListener c) {
                    if (holdCloses) {
                        heldCloses.add(c);
                    } else {
                        r.listenerClosed(now);
                    }
                }
            }
        }
        return all;
    }

    private void answer(Action.Bind b) {
        String vip = b.config().name();
        String failure = bindFailures.remove(vip);
        if (failure != null) {
            r.bindFailed(b.transaction(), vip, failure, now);
        } else {
            r.bound(b.transaction(), vip, listener(b.config().listen().host()), now);
        }
    }

    BoundListener listener(String host) {
        return new BoundListener(new InetSocketAddress(host, nextPort++), () -> CompletableFuture.completedFuture(null),
                Optional.empty());
    }

    Rig failBind(String vip, String reason) {
        bindFailures.put(vip, reason);
        return this;
    }

    Rig holdBinds() {
        holdBinds = true;
        return this;
    }

    Rig holdCloses() {
        holdCloses = true;
        return this;
    }

    Rig advance(Duration d) {
        now = now.plus(d);
        return this;
    }

    /** A check verdict: {@code up} or down, at {@link #now}. */
    HealthTransition transition(boolean up) {
        return new HealthTransition(CheckState.PENDING, up ? CheckState.UP : CheckState.DOWN, up ? "passed" : "refused",
                now, now);
    }

    // ---------------------------------------------------------------- reading actions

    static <T extends Action> List<T> only(List<Action> actions, Class<T> type) {
        return actions.stream().filter(type::isInstance).map(type::cast).toList();
    }

    static List<String> lines(List<Action> actions, Level level) {
        return only(actions, Action.Log.class).stream().filter(l -> l.level() == level).map(Action.Log::line).toList();
    }

    static ReloadOutcome outcome(List<Action> actions) {
        List<Action.Reply> replies = only(actions, Action.Reply.class);
        assertThat(replies).as("replies in %s", actions).hasSize(1);
        return replies.getFirst().outcome();
    }

    static int indexOf(List<Action> actions, Class<? extends Action> type) {
        for (int i = 0; i < actions.size(); i++) {
            if (type.isInstance(actions.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /** The addresses in the pool last published for {@code vip} in {@code actions}. */
    static List<String> published(List<Action> actions, String vip) {
        List<Action.Publish> p = only(actions, Action.Publish.class).stream()
                .filter(x -> x.vip().name().equals(vip)).toList();
        assertThat(p).as("a pool published for %s in %s", vip, actions).isNotEmpty();
        return p.getLast().pool().backends().stream().map(b -> b.address().toString()).toList();
    }

    VipState vip(String name) {
        VipState vs = r.vip(name);
        assertThat(vs).as("VIP %s", name).isNotNull();
        return vs;
    }

    BackendState backend(String vip, String address) {
        BackendState bs = vip(vip).backends.get(HostPort.parse(address));
        assertThat(bs).as("backend %s of %s", address, vip).isNotNull();
        return bs;
    }

    /** The check ids of {@code vip}'s backends by address. */
    Map<String, Long> checks(String vip) {
        Map<String, Long> ids = new LinkedHashMap<>();
        vip(vip).backends.forEach((hp, bs) -> ids.put(hp.toString(), bs.checkId));
        return ids;
    }

    /** Every VIP config in force, by name. */
    Map<String, VipConfig> running() {
        Map<String, VipConfig> m = new LinkedHashMap<>();
        r.vips().forEach(vs -> m.put(vs.name(), vs.config));
        return m;
    }
}
