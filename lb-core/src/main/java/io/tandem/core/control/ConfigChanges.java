package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.config.AdminSettings;
import io.tandem.config.DiscoverySettings;
import io.tandem.config.Durations;
import io.tandem.config.HaConfig;
import io.tandem.config.RuntimeSettings;
import io.tandem.config.TandemConfig;
import io.tandem.config.UdpOptions;
import io.tandem.config.VipConfig;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Sorts every difference between the running config and a new one into what a reload applies
 * live and what needs a restart, so a reload can never answer "applied" while ignoring part of
 * the file. Pure: two configs in, lists of lines and the config to run out.
 *
 * <p>{@link #KEYS} classifies every component of every settings record (a unit test fails when a
 * component is added without a decision). VIPs are applied by the control loop itself — all of
 * a VIP is live except its {@code udp} options, which only a new listener picks up
 * ({@link #udpNeedsRestart}).
 *
 * <p>What needs a restart keeps its running value in the {@linkplain Report#effective effective
 * config}, so the node's config says what it runs, and the same lines are reported again on
 * every later reload until the node restarts.
 */
final class ConfigChanges {

    /** How a change to one key reaches the running node. */
    enum Apply {
        /** Applied by the reload; the line shows old → new. */
        LIVE,
        /** Applied by the reload; a secret, so the line shows no value. */
        LIVE_SECRET,
        /** Needs a restart; reported, and the running value is kept. */
        RESTART,
        /** A nested settings record: its own components decide. */
        NESTED,
        /** Applied by the control loop's own diff (VIPs, discovery sources). */
        LOOP
    }

    /** A key's YAML path and how it applies. */
    record Key(String path, Apply apply) {
    }

    /** Every component of every record a reload compares, by {@code Record.component}. */
    static final Map<String, Key> KEYS = keys(
            "TandemConfig.runtime", "runtime", Apply.NESTED,
            "TandemConfig.admin", "admin", Apply.NESTED,
            "TandemConfig.discovery", "discovery", Apply.LOOP,
            "TandemConfig.vips", "vips", Apply.LOOP,
            "TandemConfig.ha", "ha", Apply.NESTED,
            "TandemConfig.locality", "locality", Apply.NESTED,
            "LocalitySettings.node", "node", Apply.LIVE,
            "LocalitySettings.cidrs", "locality.cidrs", Apply.LIVE,
            "LocalitySettings.nodeZones", "locality.node_zones", Apply.LIVE,
            "RuntimeSettings.eventLoops", "runtime.event_loops", Apply.RESTART,
            "RuntimeSettings.transport", "runtime.transport", Apply.RESTART,
            // Read from the config in force by operator drains and by shutdown.
            "RuntimeSettings.drainTimeout", "runtime.drain_timeout", Apply.LIVE,
            "RuntimeSettings.dns", "runtime.dns", Apply.NESTED,
            // The top-level logging section: the node's encoder switches format on apply.
            "RuntimeSettings.logging", "logging", Apply.NESTED,
            "LoggingSettings.format", "logging.format", Apply.LIVE,
            // Every name is looked up again with the new settings before the config is applied.
            "Dns.servers", "runtime.dns.servers", Apply.LIVE,
            "Dns.minTtl", "runtime.dns.min_ttl", Apply.LIVE,
            "Dns.maxTtl", "runtime.dns.max_ttl", Apply.LIVE,
            "Dns.timeout", "runtime.dns.timeout", Apply.LIVE,
            "AdminSettings.enabled", "admin.enabled", Apply.RESTART,
            "AdminSettings.listen", "admin.listen", Apply.RESTART,
            // The admin server takes the new token from an apply listener.
            "AdminSettings.token", "admin.token", Apply.LIVE_SECRET,
            "AdminSettings.allowedHosts", "admin.allowed_hosts", Apply.LIVE,
            "HaConfig.nodeId", "ha.node_id", Apply.RESTART,
            "HaConfig.cluster", "ha.cluster", Apply.RESTART,
            "HaConfig.listen", "ha.listen", Apply.RESTART,
            "HaConfig.peers", "ha.peers", Apply.RESTART,
            "HaConfig.zkConnect", "ha.zookeeper.connect", Apply.RESTART,
            "HaConfig.zkSessionTimeout", "ha.zookeeper.session_timeout", Apply.RESTART,
            "HaConfig.zkConnectionTimeout", "ha.zookeeper.connection_timeout", Apply.RESTART,
            "HaConfig.interfaceName", "ha.interface", Apply.RESTART,
            "HaConfig.heartbeatInterval", "ha.heartbeat.interval", Apply.RESTART,
            "HaConfig.heartbeatTimeout", "ha.heartbeat.timeout", Apply.RESTART,
            "HaConfig.probeTimeout", "ha.probe_timeout", Apply.RESTART,
            "HaConfig.isolationGrace", "ha.isolation_grace", Apply.RESTART,
            "HaConfig.claimDelay", "ha.claim_delay", Apply.RESTART,
            "HaConfig.preempt", "ha.preempt.enabled", Apply.RESTART,
            "HaConfig.preemptDelay", "ha.preempt.delay", Apply.RESTART,
            "HaConfig.garpCount", "ha.garp.count", Apply.RESTART,
            "HaConfig.garpSpacing", "ha.garp.spacing", Apply.RESTART,
            "HaConfig.garpRepeatAfter", "ha.garp.repeat_after", Apply.RESTART,
            "HaConfig.addressLifetime", "ha.address_lifetime", Apply.RESTART,
            "HaConfig.addresses", "ha.addresses", Apply.RESTART,
            "HaConfig.selfFence", "ha.self_fence", Apply.RESTART,
            // The group's zone spread is computed when the HA node starts (node.zone, as HA reads it).
            "HaConfig.zone", "node.zone (ha zone spread)", Apply.RESTART,
            // BIRD's config is written and the anycast/lease split made when the HA node starts.
            "HaConfig.announce", "ha.announce", Apply.RESTART,
            // Discovery: any change restarts the sources (their last snapshots are kept meanwhile).
            "DiscoverySettings.zookeeper", "discovery.zookeeper", Apply.LOOP,
            "DiscoverySettings.marathon", "discovery.marathon", Apply.LOOP,
            "DiscoverySettings.stateDir", "discovery.state_dir", Apply.LIVE,
            "DiscoverySettings.dns", "discovery.dns", Apply.RESTART,
            // A VIP: connections read these from the pool snapshot they were accepted with, the
            // control loop rebinds on a new listen/protocol and re-syncs backends and checks.
            "VipConfig.name", "name", Apply.LOOP,
            "VipConfig.listen", "listen", Apply.LOOP,
            "VipConfig.protocol", "protocol", Apply.LOOP,
            "VipConfig.policy", "policy", Apply.LOOP,
            "VipConfig.backends", "backends", Apply.LOOP,
            "VipConfig.limits", "limits", Apply.LOOP,
            "VipConfig.timeouts", "timeouts", Apply.LOOP,
            "VipConfig.retries", "retries", Apply.LOOP,
            "VipConfig.proxyProtocol", "proxy_protocol", Apply.LOOP,
            "VipConfig.relay", "relay", Apply.LOOP,
            "VipConfig.healthCheck", "health_check", Apply.LOOP,
            "VipConfig.health", "health policy", Apply.LOOP,
            "VipConfig.service", "service", Apply.LOOP,
            "VipConfig.locality", "locality", Apply.LOOP,
            "VipConfig.acl", "acl", Apply.LOOP,
            "VipConfig.hashBalanceFactor", "hash_balance_factor", Apply.LOOP,
            "VipConfig.proxyProtocolIn", "proxy_protocol_in", Apply.LOOP,
            "VipConfig.sni", "sni", Apply.LOOP,
            "VipConfig.source", "source", Apply.LOOP,
            // UDP listeners size their buffers and session tables when they bind.
            "VipConfig.udp", "udp", Apply.NESTED,
            "UdpOptions.maxDatagramSize", "udp.max_datagram_size", Apply.RESTART,
            "UdpOptions.sessionIdle", "udp.session_idle", Apply.RESTART,
            "UdpOptions.maxSessions", "udp.max_sessions", Apply.RESTART,
            "UdpOptions.responsesPerRequest", "udp.responses_per_request", Apply.RESTART);

    /**
     * What a reload does outside the VIPs.
     *
     * @param live         lines for {@code changes}: applied by this reload
     * @param needsRestart lines for {@code needsRestart}, ending "(needs a restart)"
     * @param effective    the config the node runs after the reload: {@code next}, with the
     *                     running value of every key that needs a restart
     */
    record Report(List<String> live, List<String> needsRestart, TandemConfig effective) {
    }

    private ConfigChanges() {
    }

    static Report between(TandemConfig running, TandemConfig next) {
        requireNonNull(running, "running");
        requireNonNull(next, "next");
        List<String> live = new ArrayList<>();
        List<String> restart = new ArrayList<>();
        compare(running.runtime(), next.runtime(), live, restart);
        Optional<String> token = next.admin().token();
        if (running.admin().enabled() || next.admin().enabled()) {
            // (a disabled API's keys change nothing, now or after a restart)
            AdminSettings wanted = next.admin();
            if (running.admin().enabled() && running.admin().token().isPresent() && token.isEmpty()
                    && !loopback(running.admin().listen().host())) {
                // The new file may drop the token because it also moves the API to loopback, but the
                // listener only moves on a restart: until then the API stays on the network, and an
                // open API there is exactly what validation forbids. Keep the token in force.
                token = running.admin().token();
                wanted = new AdminSettings(wanted.enabled(), wanted.listen(), token, wanted.allowedHosts());
                restart.add("admin.token: removed while the API listens on " + running.admin().listen()
                        + ": kept until the listener moves (needs a restart)");
            }
            compare(running.admin(), wanted, live, restart);
        }
        discovery(running.discovery(), next.discovery(), live);
        compare(running.discovery(), next.discovery(), live, restart); // state_dir, dns (the sources: above)
        compare(running.locality(), next.locality(), live, restart); // node, locality: re-split every VIP
        if (running.ha().isPresent() != next.ha().isPresent()) {
            restart.add("ha: " + (running.ha().isPresent() ? "configured" : "none") + " → "
                    + (next.ha().isPresent() ? "configured" : "none") + " (needs a restart)");
        } else if (running.ha().isPresent()) {
            compare(running.ha().get(), next.ha().get(), live, restart);
        }
        RuntimeSettings rt = new RuntimeSettings(running.runtime().eventLoops(), running.runtime().transport(),
                next.runtime().drainTimeout(), next.runtime().dns(), next.runtime().logging());
        AdminSettings admin = new AdminSettings(running.admin().enabled(), running.admin().listen(), token,
                next.admin().allowedHosts());
        TandemConfig effective = new TandemConfig(rt, admin, new DiscoverySettings(next.discovery().zookeeper(),
                next.discovery().marathon(), next.discovery().stateDir(), running.discovery().dns()), next.vips(), running.ha(),
                next.locality());
        return new Report(List.copyOf(live), List.copyOf(restart), effective);
    }

    /** The lines for a VIP's {@code udp} options that a listener kept from its bind would ignore. */
    static List<String> udpNeedsRestart(String vip, UdpOptions running, UdpOptions next) {
        List<String> restart = new ArrayList<>();
        compareAt("vips[" + vip + "].", running, next, new ArrayList<>(), restart);
        return restart;
    }

    /** The same VIP with the running {@code udp} options (they need a restart to change). */
    static VipConfig withUdp(VipConfig v, UdpOptions udp) {
        return new VipConfig(v.name(), v.listen(), v.protocol(), v.policy(), v.backends(), v.limits(), v.timeouts(),
                v.retries(), v.proxyProtocol(), v.relay(), v.healthCheck(), v.health(), v.service(), udp, v.locality(),
                v.acl(), v.hashBalanceFactor(), v.proxyProtocolIn(), v.sni(), v.source());
    }

    /** The YAML keys that differ between two versions of a VIP, e.g. {@code [policy, timeouts]}. */
    static List<String> vipFields(VipConfig a, VipConfig b) {
        List<String> out = new ArrayList<>();
        for (RecordComponent c : VipConfig.class.getRecordComponents()) {
            if (!java.util.Objects.equals(value(c, a), value(c, b))) {
                out.add(key(VipConfig.class, c).path());
            }
        }
        return out;
    }

    private static void discovery(DiscoverySettings a, DiscoverySettings b, List<String> live) {
        source("zookeeper", a.zookeeper(), b.zookeeper(), live);
        source("marathon", a.marathon(), b.marathon(), live);
    }

    /** Values not shown: a source's settings may hold credentials. */
    private static void source(String name, Optional<?> a, Optional<?> b, List<String> live) {
        if (a.equals(b)) {
            return;
        }
        live.add(a.isEmpty() ? "discovery." + name + " added: source started"
                : b.isEmpty() ? "discovery." + name + " removed: source stopped"
                : "discovery." + name + " changed: source restarted with the new settings");
    }

    private static void compare(Record a, Record b, List<String> live, List<String> restart) {
        compareAt("", a, b, live, restart);
    }

    private static void compareAt(String prefix, Record a, Record b, List<String> live, List<String> restart) {
        for (RecordComponent c : a.getClass().getRecordComponents()) {
            Object was = value(c, a);
            Object now = value(c, b);
            if (java.util.Objects.equals(was, now)) {
                continue;
            }
            Key k = key(a.getClass(), c);
            String path = prefix + k.path();
            switch (k.apply()) {
                case LIVE -> live.add(path + ": " + render(was) + " → " + render(now));
                case LIVE_SECRET -> live.add(secretLine(path, was, now));
                case RESTART -> restart.add(path + ": " + render(was) + " → " + render(now) + " (needs a restart)");
                case NESTED -> compareAt(prefix, (Record) unwrap(was), (Record) unwrap(now), live, restart);
                case LOOP -> {
                    // applied by the control loop's own diff
                }
            }
        }
    }

    /** "admin token rotated" — never the value, nor its length. */
    private static String secretLine(String path, Object was, Object now) {
        String what = path.equals("admin.token") ? "admin token" : path;
        boolean had = !(was instanceof Optional<?> o && o.isEmpty());
        boolean has = !(now instanceof Optional<?> o && o.isEmpty());
        return what + (had && has ? " rotated" : has ? " set" : " removed");
    }

    private static Key key(Class<?> type, RecordComponent c) {
        Key k = KEYS.get(type.getSimpleName() + "." + c.getName());
        if (k == null) {
            // A new config key without a decision: say so loudly rather than ignore it silently.
            throw new IllegalStateException("config key " + type.getSimpleName() + "." + c.getName()
                    + " is not classified live or restart in ConfigChanges.KEYS");
        }
        return k;
    }

    private static Object value(RecordComponent c, Object record) {
        try {
            return c.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Object unwrap(Object o) {
        return o instanceof Optional<?> opt ? opt.orElseThrow() : o;
    }

    static String render(Object o) {
        return switch (o) {
            case null -> "none";
            case Optional<?> opt -> opt.map(ConfigChanges::render).orElse("none");
            case Duration d -> Durations.format(d);
            case Enum<?> e -> e.name().toLowerCase(Locale.ROOT).replace('_', '-');
            case HaConfig.Peer p -> p.id() + "@" + p.address();
            case HaConfig.Address a -> a.address() + a.preferredOwner().map(w -> "@" + w).orElse("");
            case io.tandem.config.LocalitySettings.Cidr c -> c.cidr() + "=" + c.locality();
            case Collection<?> c -> c.isEmpty() ? "[]" : c.stream().map(ConfigChanges::render).toList().toString();
            default -> o.toString();
        };
    }

    private static Map<String, Key> keys(Object... triples) {
        Map<String, Key> m = new LinkedHashMap<>();
        for (int i = 0; i < triples.length; i += 3) {
            m.put((String) triples[i], new Key((String) triples[i + 1], (Apply) triples[i + 2]));
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    /** Whether the API's bound host is loopback (an IP literal or {@code localhost}; a name resolving elsewhere is not). */
    private static boolean loopback(String host) {
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        try {
            return io.netty.util.NetUtil.isValidIpV4Address(host) || io.netty.util.NetUtil.isValidIpV6Address(host)
                    ? java.net.InetAddress.getByName(host).isLoopbackAddress() : false;
        } catch (java.net.UnknownHostException e) {
            return false; // an IP literal never fails to parse; be safe if it does
        }
    }

}
