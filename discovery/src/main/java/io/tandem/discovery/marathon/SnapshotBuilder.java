package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HealthCheckSpec;
import io.tandem.config.HealthPolicy;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import io.tandem.discovery.Endpoint;
import io.tandem.discovery.Placement;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Pure mapping from the app model to the published snapshot:
 *
 * <ul>
 *   <li>every app port {@code i} is a service {@code <appId>#<i>} (so config VIPs can bind to any
 *       app by name);</li>
 *   <li>every DC/OS VIP label on that port, for each of the port's protocols that the settings
 *       accept, is a service {@link MarathonVip#serviceName()} and a declared VIP
 *       {@code marathon-<name>-<port>-<proto>};</li>
 *   <li>every port Marathon-LB's labels give this node ({@link MarathonLb}) is a service
 *       {@code marathon-lb:<proto>:<bind>:<port>} and a declared VIP
 *       {@code marathon-lb-<app>-<port>-<proto>} listening there.</li>
 * </ul>
 *
 * Declared VIPs carry the app's Marathon health check as their active check
 * ({@link MarathonChecks}) unless the settings turn that off. A service with no eligible task is
 * published empty. Two apps with the same VIP label pool their tasks (DC/OS does); two apps on
 * the same Marathon-LB port pool them only in one HAPROXY_DEPLOYMENT_GROUP, otherwise the first
 * app (by id) keeps the port and the other gets a note.
 */
final class SnapshotBuilder {

    /** Prefix of the service keys of Marathon-LB ports. */
    static final String LB_SERVICE_PREFIX = "marathon-lb:";
    private static final int MAX_NAME = 63;

    private final MarathonSettings settings;
    private final NamedVipBlock block;
    private final MarathonLb.Settings lb;

    SnapshotBuilder(MarathonSettings settings) {
        this.settings = requireNonNull(settings, "settings");
        this.block = NamedVipBlock.parse(settings.namedVipBlock());
        this.lb = new MarathonLb.Settings(settings.groups(), settings.bindAddress(), settings.strictMode());
    }

    /**
     * @param declared VIP configs the node serves with no config of its own, by name
     * @param notes    per app, what of its labels or checks could not be honoured as written
     * @param problems allocation failures (names the block had no room for), for the caller to report
     */
    record Built(Map<String, Set<Endpoint>> services, Map<String, MarathonVip> vips, Map<String, VipConfig> declared,
                 Map<String, List<String>> notes, List<String> problems) {
        Built(Map<String, Set<Endpoint>> services, Map<String, MarathonVip> vips, List<String> problems) {
            this(services, vips, Map.of(), Map.of(), problems);
        }
    }

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
        Map<String, VipConfig> declared = new TreeMap<>();
        Map<String, List<String>> notes = new TreeMap<>();
        /** listen (protocol + address) → the VIP name that holds it. */
        Map<String, String> listens = new HashMap<>();
        /** Marathon-LB listen → the deployment group (or app id) that owns it. */
        Map<String, String> lbOwners = new HashMap<>();
        for (MarathonApp app : sorted) {
            List<String> appNotes = new ArrayList<>();
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
                        if (!listens.containsKey(proto + " " + mv.listen())) {
                            String name = unique(declared, labelVipName(mv), mv.serviceName());
                            declared.put(name, vipConfig(name, mv.listen(), proto, PolicyKind.MAGLEV,
                                    mv.serviceName(), check(app, p.index(), appNotes)));
                            listens.put(proto + " " + mv.listen(), name);
                        }
                    }
                }
                keysByPort.add(keys);
            }
            MarathonLb.Plan plan = MarathonLb.plan(app, lb);
            appNotes.addAll(plan.notes());
            for (MarathonLb.Port port : plan.ports()) {
                int i = app.ports().indexOf(app.ports().stream().filter(p -> p.index() == port.index()).findFirst()
                        .orElseThrow());
                HostPort listen = HostPort.of(port.bindAddress(), port.listenPort());
                String owner = port.deploymentGroup().orElse(app.id());
                for (Protocol proto : port.protocols()) {
                    String key = proto + " " + listen;
                    String service = LB_SERVICE_PREFIX + proto.name().toLowerCase(Locale.ROOT) + ":" + listen;
                    String holder = listens.get(key);
                    if (holder != null && !owner.equals(lbOwners.get(key))) {
                        appNotes.add("port " + port.index() + ": " + proto.name().toLowerCase(Locale.ROOT) + " "
                                + listen + " is already served by " + describeOwner(holder, lbOwners.get(key))
                                + ": not served for this app");
                        continue;
                    }
                    if (holder == null) {
                        String name = unique(declared, lbVipName(owner, port.listenPort(), proto, listen), service);
                        declared.put(name, vipConfig(name, listen, proto, port.policy(), service,
                                check(app, port.index(), appNotes)));
                        listens.put(key, name);
                        lbOwners.put(key, owner);
                    }
                    keysByPort.get(i).add(service);
                }
            }
            for (List<String> keys : keysByPort) {
                for (String k : keys) {
                    services.computeIfAbsent(k, x -> new LinkedHashSet<>());
                }
            }
            if (!appNotes.isEmpty()) {
                notes.put(app.id(), List.copyOf(new LinkedHashSet<>(appNotes)));
            }
            Optional<Placement> placement = Optional.of(new Placement(app.id(), constraints(app.definition())));
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
                    Endpoint ep = new Endpoint(hp, 1, task.locality(), healthy, draining, origin, placement);
                    for (String k : keysByPort.get(i)) {
                        services.get(k).add(ep);
                    }
                }
            }
        }
        Map<String, Set<Endpoint>> frozen = new TreeMap<>();
        services.forEach((k, v) -> frozen.put(k, Set.copyOf(v)));
        return new Built(Collections.unmodifiableMap(frozen), Collections.unmodifiableMap(vips),
                Collections.unmodifiableMap(declared), Collections.unmodifiableMap(notes), List.copyOf(problems));
    }

    private static String describeOwner(String vipName, String lbOwner) {
        return lbOwner != null ? "app " + lbOwner + " (VIP " + vipName + ")" : "VIP " + vipName;
    }

    private Optional<HealthCheckSpec> check(MarathonApp app, int index, List<String> notes) {
        if (!settings.healthChecks()) {
            return Optional.empty();
        }
        MarathonChecks.ForPort f = MarathonChecks.forPort(app, index);
        f.note().ifPresent(n -> notes.add("port " + index + ": " + n));
        return f.spec();
    }

    private static VipConfig vipConfig(String name, HostPort listen, Protocol protocol, PolicyKind policy,
                                       String service, Optional<HealthCheckSpec> check) {
        return new VipConfig(name, listen, protocol, policy, List.of(), Limits.UNLIMITED, Timeouts.DEFAULTS, 3,
                ProxyProtocolVersion.NONE, RelayMode.AUTO, check, HealthPolicy.DEFAULTS, Optional.of(service));
    }

    /** {@code marathon-<name or address>-<port>-<proto>}: the names declared VIPs had before Marathon-LB. */
    static String labelVipName(MarathonVip v) {
        String label = v.name().map(n -> n.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]+", "-")
                        .replaceAll("^-+|-+$", ""))
                .filter(n -> !n.isEmpty()).orElse(v.address().replace(':', '-'));
        return bounded("marathon-" + label, "-" + v.port() + "-" + v.protocol().name().toLowerCase(Locale.ROOT),
                v.serviceName());
    }

    /** {@code marathon-lb-<app or deployment group>-<port>-<proto>}, at most 63 characters. */
    static String lbVipName(String owner, int port, Protocol proto, HostPort listen) {
        String label = owner.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.-]+", "-").replaceAll("^-+|-+$", "");
        return bounded("marathon-lb-" + label, "-" + port + "-" + proto.name().toLowerCase(Locale.ROOT),
                owner + " " + proto + " " + listen);
    }

    /** {@code name}, or when another VIP has it already, the name made unique by a hash of {@code identity}. */
    private static String unique(Map<String, VipConfig> declared, String name, String identity) {
        if (!declared.containsKey(name)) {
            return name;
        }
        int dash = name.lastIndexOf('-', name.lastIndexOf('-') - 1);
        return bounded(name.substring(0, dash) + "-" + sha256(identity).substring(0, 8), name.substring(dash),
                identity);
    }

    /** {@code head + tail}, the head cut and given a short hash of {@code identity} when too long. */
    private static String bounded(String head, String tail, String identity) {
        if (head.length() + tail.length() <= MAX_NAME) {
            return head + tail;
        }
        String hash = sha256(identity).substring(0, 8);
        int keep = MAX_NAME - tail.length() - hash.length() - 1;
        return head.substring(0, Math.max(1, keep)) + "-" + hash + tail;
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is mandatory in every JDK", e);
        }
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

    /**
     * The app's {@code constraints} ({@code [["hostname", "UNIQUE"], ["@zone", "GROUP_BY", "3"]]}) as
     * {@code field:OPERATOR[:value]}; an entry that is not a list of strings is left out (Marathon
     * itself rejects such an app).
     */
    static List<String> constraints(com.fasterxml.jackson.databind.JsonNode definition) {
        com.fasterxml.jackson.databind.JsonNode list = definition.path("constraints");
        if (!list.isArray()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (com.fasterxml.jackson.databind.JsonNode c : list) {
            if (!c.isArray() || c.size() < 2) {
                continue;
            }
            List<String> parts = new ArrayList<>();
            for (com.fasterxml.jackson.databind.JsonNode part : c) {
                if (part.isTextual()) {
                    parts.add(part.textValue());
                }
            }
            if (parts.size() == c.size()) {
                out.add(String.join(":", parts));
            }
        }
        return List.copyOf(out);
    }
}
