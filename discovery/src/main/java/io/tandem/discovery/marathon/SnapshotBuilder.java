package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import io.tandem.config.Protocol;
import io.tandem.discovery.Endpoint;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Pure mapping from the app model to the published snapshot. Every app port {@code i} is a
 * service {@code <appId>#<i>} (so config VIPs can bind to any app by name); every VIP label on
 * that port, for each of the port's protocols that the settings accept, is also a service
 * {@link MarathonVip#serviceName()}. A service with no eligible task is published empty.
 */
final class SnapshotBuilder {

    private final MarathonSettings settings;
    private final NamedVipBlock block;

    SnapshotBuilder(MarathonSettings settings) {
        this.settings = requireNonNull(settings, "settings");
        this.block = NamedVipBlock.parse(settings.namedVipBlock());
    }

    /** @param problems allocation failures (names the block had no room for), for the caller to report */
    record Built(Map<String, Set<Endpoint>> services, Map<String, MarathonVip> vips, List<String> problems) { }

    static String serviceName(String appId, int portIndex) {
        return appId + "#" + portIndex;
    }

    Built build(Collection<MarathonApp> apps, Map<String, Boolean> healthOverrides) {
        List<MarathonApp> sorted = new ArrayList<>(apps);
        sorted.sort(Comparator.comparing(MarathonApp::id));
        Set<String> names = new TreeSet<>();
        Set<InetAddress> reserved = new HashSet<>();
        for (MarathonApp app : sorted) {
            for (AppPort p : app.ports()) {
                for (VipLabel v : p.vips()) {
                    v.name().ifPresent(names::add);
                    v.address().ifPresent(reserved::add);
                }
            }
        }
        NamedVipBlock.Allocation alloc = block.allocate(names, reserved);
        List<String> problems = new ArrayList<>();
        for (String n : alloc.exhausted()) {
            problems.add("named VIP " + n + ": no free address in " + block.cidr());
        }

        Map<String, Set<Endpoint>> services = new TreeMap<>();
        Map<String, MarathonVip> vips = new TreeMap<>();
        for (MarathonApp app : sorted) {
            // service keys of each port, computed once per app
            List<List<String>> keysByPort = new ArrayList<>();
            for (AppPort p : app.ports()) {
                List<String> keys = new ArrayList<>();
                keys.add(serviceName(app.id(), p.index()));
                for (VipLabel v : p.vips()) {
                    InetAddress addr = v.address().orElseGet(() -> alloc.addresses().get(v.name().orElseThrow()));
                    if (addr == null) {
                        continue;
                    }
                    for (Protocol proto : p.protocols()) {
                        if (!settings.protocols().contains(proto)) {
                            continue;
                        }
                        MarathonVip mv = new MarathonVip(v.name(), addr.getHostAddress(), v.port(), proto);
                        vips.put(mv.serviceName(), mv);
                        keys.add(mv.serviceName());
                    }
                }
                for (String k : keys) {
                    services.computeIfAbsent(k, x -> new LinkedHashSet<>());
                }
                keysByPort.add(keys);
            }
            for (MarathonTask task : app.tasks().values()) {
                if (!eligible(task.state())) {
                    continue;
                }
                boolean healthy = healthOf(task, healthOverrides);
                boolean draining = task.state().kind() == TaskState.Kind.DRAINING;
                String origin = "marathon:" + app.id() + "/" + task.id();
                for (int i = 0; i < app.ports().size(); i++) {
                    HostPort hp = task.backends().get(app.ports().get(i).index());
                    if (hp == null) {
                        continue;
                    }
                    Endpoint ep = new Endpoint(hp, 1, task.zone(), healthy, draining, origin);
                    for (String k : keysByPort.get(i)) {
                        services.get(k).add(ep);
                    }
                }
            }
        }
        Map<String, Set<Endpoint>> frozen = new TreeMap<>();
        services.forEach((k, v) -> frozen.put(k, Set.copyOf(v)));
        return new Built(java.util.Collections.unmodifiableMap(frozen),
                java.util.Collections.unmodifiableMap(vips), List.copyOf(problems));
    }

    private boolean eligible(TaskState state) {
        return switch (state.kind()) {
            case SERVING, DRAINING -> true;
            case UNREACHABLE -> settings.unreachable() == MarathonSettings.UnreachablePolicy.KEEP;
            case PENDING, TERMINAL -> false;
        };
    }

    /** A health event (newer) wins over the task's {@code healthCheckResults}; no data = healthy. */
    static boolean healthOf(MarathonTask task, Map<String, Boolean> overrides) {
        Boolean o = overrides.get(task.instanceId());
        if (o == null) {
            o = overrides.get(task.id());
        }
        if (o != null) {
            return o;
        }
        Optional<Boolean> h = task.healthy();
        return h.orElse(true);
    }
}
