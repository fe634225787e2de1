package io.tandem.core.control;

import io.tandem.core.control.NodeView.BackendView;
import io.tandem.core.control.NodeView.VipView;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.pool.LocalityRouting;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Stream;

/** Builds the {@link NodeView} from the reconciler's state and the data path's live counters. Loop thread. */
final class Views {
    private Views() {
    }

    static NodeView node(String node, String transport, String configSource, Reconciler r, Discovery discovery,
                         Instant now) {
        List<VipView> vips = new ArrayList<>();
        for (VipState vs : r.vips()) {
            BackendPool pool = vs.vip.pool();
            var st = vs.vip.stats();
            List<BackendView> backends = Stream.concat(vs.backends.values().stream(), vs.unresolved.values().stream())
                    .map(bs -> backend(vs, bs)).toList();
            vips.add(new VipView(vs.name(), vs.config.listen().toString(),
                    vs.config.protocol().name().toLowerCase(Locale.ROOT), vs.config.policy().configName(),
                    vs.config.relay().name().toLowerCase(Locale.ROOT),
                    vs.config.proxyProtocol().name().toLowerCase(Locale.ROOT), vs.listener != null, pool.panic(),
                    vs.warming, pool.generation(),
                    (int) vs.backends.values().stream().filter(BackendState::eligible).count(), st.active.get(),
                    st.totalConnections.sum(), st.bytesIn.sum(), st.bytesOut.sum(), st.connectRetries.sum(),
                    st.noBackend.sum(), st.limitHits.sum(), backends, vs.config.locality().zoneAware(),
                    pool.routing().localShare() < 0 ? null : pool.routing().localShare() / 100.0,
                    groups(pool.routing())));
        }
        boolean warming = r.warming(now);
        return new NodeView(node, r.startedAt(), transport, configSource, r.generation(),
                Objects.requireNonNullElse(r.configLoadedAt(), r.startedAt()), r.ready(now), r.draining(), warming,
                vips, discovery.views(), discovery.namedVips(), r.locality().node().toString());
    }

    private static List<NodeView.GroupView> groups(LocalityRouting.Plan plan) {
        List<NodeView.GroupView> out = new ArrayList<>(plan.groups().size());
        for (LocalityRouting.Group g : plan.groups()) {
            out.add(new NodeView.GroupView(g.priority(), g.locality().region().orElse(null),
                    g.locality().zone().orElse(null), g.local(), g.backends().size(), g.share() / 100.0));
        }
        return out;
    }

    static BackendView backend(BackendState bs) {
        return backend(null, bs);
    }

    /**
     * {@code runtime} lists what the operator changed at run time: {@code weight} (a run-time
     * weight), {@code added} (also {@code origin} {@code runtime}).
     */
    static BackendView backend(VipState vs, BackendState bs) {
        Backend b = bs.backend();
        List<String> runtime = List.of();
        if (vs != null && vs.hasRuntimeChanges()) {
            runtime = new ArrayList<>(2);
            if (vs.runtimeAdded.containsKey(b.address())) {
                runtime.add("added");
            }
            if (vs.runtimeWeights.containsKey(b.address())) {
                runtime.add("weight");
            }
        }
        var s = b.stats();
        return new BackendView(b.address().toString(), b.weight(), bs.origin(), bs.state(), bs.flags(),
                bs.eligible(), s.active.get(), s.totalConnections.sum(), s.bytesIn.sum(), s.bytesOut.sum(),
                s.connectFailures.sum(), bs.recentTransitions(), b.locality().region().orElse(null),
                b.locality().zone().orElse(null), b.locality().rack().orElse(null), b.priority(), runtime,
                agentView(bs), sniRoutes(vs, b), latencyView(s, System.nanoTime()));
    }

    /** The last minute of the backend's connect and first-byte times (percentiles rounded to 0.01 ms). */
    static NodeView.LatencyView latencyView(io.tandem.core.pool.BackendStats s, long nowNanos) {
        var c = s.connectTime.window(nowNanos);
        var f = s.firstByteTime.window(nowNanos);
        return new NodeView.LatencyView(c.samples(), ms(c.quantileMs(0.5)), ms(c.quantileMs(0.9)),
                ms(c.quantileMs(0.99)), f.samples(), ms(f.quantileMs(0.5)), ms(f.quantileMs(0.9)),
                ms(f.quantileMs(0.99)));
    }

    private static double ms(double v) {
        return Double.isInfinite(v) ? 10_000.0 : Math.round(v * 100) / 100.0;
    }

    /**
     * The {@code sni} routes a backend serves, by name ({@code default} for the VIP's own set), in
     * the config's order; empty when the VIP has no {@code sni} routes.
     */
    static List<String> sniRoutes(VipState vs, Backend b) {
        if (vs == null || vs.config == null || vs.config.sni().routes().isEmpty()) {
            return List.of();
        }
        List<String> out = new ArrayList<>(2);
        for (int set = 0; set <= vs.config.sni().routes().size(); set++) {
            if (b.inSniSet(set)) {
                out.add(io.tandem.core.pool.SniSets.routeName(vs.config.sni(), set));
            }
        }
        return out;
    }

    /** Null when no agent check asks this backend's agent. */
    static NodeView.AgentView agentView(BackendState bs) {
        if (bs.agentSpec == null) {
            return null;
        }
        var a = bs.agent == null ? io.tandem.health.check.AgentState.INITIAL : bs.agent;
        return new NodeView.AgentView(a.health().word(), a.admin().word(),
                a.weight().map(Object::toString).orElse(null), a.reason().isEmpty() ? null : a.reason(),
                a.lastAnswer().orElse(null), a.problem().orElse(bs.agent == null ? "no exchange yet" : null),
                a.reachable());
    }
}
