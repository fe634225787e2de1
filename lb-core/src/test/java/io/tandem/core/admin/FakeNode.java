package io.tandem.core.admin;

import io.tandem.core.control.NodeControl;
import io.tandem.core.control.NodeView;
import io.tandem.health.HealthFlag;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * A NodeControl of our own for admin tests: serves a settable view, records actions, and
 * completes every future on another thread after a short delay (as the real control loop does).
 */
class FakeNode implements NodeControl {
    record Action(String vip, String backend, BackendAction action) {
    }

    static final Instant STARTED = Instant.parse("2026-03-01T10:00:00Z");
    static final Instant LOADED = Instant.parse("2026-03-01T10:05:30.250Z");

    final List<Action> actions = new CopyOnWriteArrayList<>();
    volatile NodeView view = sampleView();
    volatile ReloadOutcome nextReload = new ReloadOutcome(true, 8, List.of("vip web: backend 10.0.0.3:80 added"), List.of());
    volatile int reloads;
    private final Executor later = CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS);

    @Override
    public NodeView view() {
        return view;
    }

    @Override
    public CompletableFuture<ReloadOutcome> reload() {
        reloads++;
        return CompletableFuture.supplyAsync(() -> nextReload, later);
    }

    @Override
    public CompletableFuture<NodeView.BackendView> backendAction(String vip, String backend, BackendAction action) {
        return CompletableFuture.supplyAsync(() -> {
            NodeView.VipView v = view.vip(vip)
                    .orElseThrow(() -> new IllegalArgumentException("no VIP named \"" + vip + "\""));
            NodeView.BackendView b = v.backends().stream().filter(x -> x.address().equals(backend)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(
                            "no backend \"" + backend + "\" in VIP \"" + vip + "\""));
            actions.add(new Action(vip, backend, action));
            Set<HealthFlag> flags = b.flags().isEmpty() ? EnumSet.noneOf(HealthFlag.class) : EnumSet.copyOf(b.flags());
            switch (action) {
                case DRAIN -> flags.add(HealthFlag.DRAINING);
                case DISABLE -> flags.add(HealthFlag.DISABLED);
                case ENABLE -> flags.removeAll(EnumSet.of(HealthFlag.DRAINING, HealthFlag.DISABLED));
            }
            return new NodeView.BackendView(b.address(), b.weight(), b.origin(), flags, flags.isEmpty(),
                    b.activeConnections(), b.totalConnections(), b.bytesIn(), b.bytesOut(), b.connectFailures(),
                    b.recentTransitions());
        }, later);
    }

    static NodeView sampleView() {
        var web1 = new NodeView.BackendView("10.0.0.1:80", 1, "static", Set.of(), true, 2, 60,
                1_258_291, 3_565_158, 0, List.of());
        var web2 = new NodeView.BackendView("10.0.0.2:80", 3, "zookeeper:/services/web",
                Set.of(HealthFlag.DISABLED, HealthFlag.FAILED_ACTIVE_CHECK), false, 0, 61, 512, 2048, 7,
                List.of(new NodeView.TransitionView(Instant.parse("2026-03-01T10:07:00Z"),
                        HealthFlag.FAILED_ACTIVE_CHECK, true, "connect refused")));
        var v6 = new NodeView.BackendView("[::1]:8080", 1, "static", Set.of(), true, 0, 0, 0, 0, 0, List.of());
        var web = new NodeView.VipView("web", "10.1.0.10:80", "TCP", "round-robin", "SPLICE", "NONE", true, false,
                12, 2, 2, 121, 1_258_803, 3_567_206, 3, 0, 0, List.of(web1, web2, v6));
        var dns = new NodeView.VipView("dns", "10.1.0.11:53", "UDP", "maglev", "COPY", "NONE", true, true,
                4, 0, 0, 5_000, 10_000_000_000L, 0, 0, 17, 2,
                List.of(new NodeView.BackendView("10.0.1.1:53", 1, "marathon:/dns", Set.of(HealthFlag.EJECTED_PASSIVE),
                        false, 0, 5_000, 10_000_000_000L, 0, 1, List.of())));
        return new NodeView("edge-1", STARTED, "epoll", "/etc/tandem/tandem.yaml", 7, LOADED, true, false,
                List.of(web, dns));
    }
}
