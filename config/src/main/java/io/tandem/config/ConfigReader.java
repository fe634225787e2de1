package io.tandem.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Walks a parsed YAML tree into a {@link TandemConfig}, collecting every error. Records are
 * built only from sections without errors, and the whole config only when there are none.
 */
final class ConfigReader {
    static final List<String> ROOT_KEYS = List.of("runtime", "admin", "logging", "discovery", "ha", "node", "locality",
            "vips");
    static final List<String> NODE_KEYS = List.of("region", "zone", "rack");
    static final List<String> LOCALITY_KEYS = List.of("cidrs", "node_zones");
    static final List<String> CIDR_KEYS = List.of("cidr", "region", "zone", "rack");
    static final List<String> VIP_LOCALITY_KEYS = List.of("zone_aware", "min_cluster_size", "overprovisioning_factor");
    /** The environment variables that override {@code node.region}, {@code node.zone}, {@code node.rack}. */
    static final List<String> NODE_ENV = List.of("TANDEM_NODE_REGION", "TANDEM_NODE_ZONE", "TANDEM_NODE_RACK");
    static final List<String> LOGGING_KEYS = List.of("format");
    static final List<String> HA_KEYS = List.of("node_id", "cluster", "listen", "peers", "zookeeper", "interface",
            "heartbeat", "probe_timeout", "isolation_grace", "claim_delay", "preempt", "garp", "address_lifetime",
            "addresses", "self_fence", "announce");
    static final List<String> HA_ZK_KEYS = List.of("connect", "session_timeout", "connection_timeout");
    static final List<String> HA_HEARTBEAT_KEYS = List.of("interval", "timeout");
    static final List<String> HA_PREEMPT_KEYS = List.of("enabled", "delay");
    static final List<String> HA_GARP_KEYS = List.of("count", "spacing", "repeat_after");
    static final List<String> DISCOVERY_KEYS = List.of("zookeeper", "marathon", "state_dir", "dns");
    static final List<String> NAMED_VIP_DNS_KEYS = List.of("listen", "suffix", "ttl");
    static final List<String> ZOOKEEPER_KEYS = List.of("connect", "session_timeout", "connection_timeout",
            "namespace", "auth", "base_path", "layout", "removal_debounce", "tls");
    static final List<String> ZK_TLS_KEYS = List.of("trust_store", "trust_store_password", "key_store",
            "key_store_password");
    static final List<String> MARATHON_KEYS = List.of("urls", "basic_auth", "token", "silence_timeout",
            "resync_interval", "named_vip_block", "unreachable", "groups", "label_selector", "bind_address",
            "strict_mode", "health_checks");
    static final List<String> OUTLIER_KEYS = List.of("consecutive_failures", "base_ejection_time",
            "max_ejection_time", "max_ejection_percent", "response_timeout", "response_timeout_mode",
            "closed_before_response", "latency");
    static final List<String> LATENCY_KEYS = List.of("enabled", "factor", "min_latency", "min_samples",
            "min_backends", "interval");
    static final List<String> RUNTIME_KEYS = List.of("event_loops", "transport", "drain_timeout", "dns");
    static final List<String> DNS_KEYS = List.of("servers", "min_ttl", "max_ttl", "timeout");
    static final List<String> ADMIN_KEYS = List.of("enabled", "listen", "token", "allowed_hosts");
    static final List<String> VIP_KEYS = List.of("name", "listen", "protocol", "policy", "retries",
            "proxy_protocol", "relay", "service", "backends", "limits", "timeouts", "health_check",
            "outlier_detection", "panic_threshold", "slow_start", "close_on_backend_down", "udp", "locality", "acl", "hash_balance_factor",
            "proxy_protocol_in", "agent_check", "sni", "source");
    /** {@code vips[].source}: where backend connections leave from (BackendSource). */
    static final List<String> SOURCE_KEYS = List.of("address", "ports");
    private static final java.util.regex.Pattern PORT_RANGE = java.util.regex.Pattern.compile("(\\d{1,5})-(\\d{1,5})");
    /** HAProxy's agent-port, agent-addr, agent-inter, agent-send (and a timeout of its own). */
    static final List<String> AGENT_CHECK_KEYS = List.of("port", "address", "interval", "timeout", "send");
    static final List<String> SNI_KEYS = List.of("routes", "on_malformed", "timeout", "max_length");
    static final List<String> SNI_ROUTE_KEYS = List.of("name", "server_names", "backends", "service");
    private static final Map<String, SniRouting.OnMalformed> SNI_ON_MALFORMED = orderedMap(
            "default", SniRouting.OnMalformed.DEFAULT, "reject", SniRouting.OnMalformed.REJECT);
    static final List<String> PROXY_IN_KEYS = List.of("enabled", "from", "timeout", "max_length");
    static final List<String> ACL_KEYS = List.of("allow", "deny");
    static final List<String> UDP_KEYS = List.of("max_datagram_size", "session_idle", "max_sessions",
            "responses_per_request");
    static final List<String> BACKEND_KEYS = List.of("address", "weight", "region", "zone", "rack", "priority");
    static final List<String> LIMITS_KEYS = List.of("max_connections", "max_connections_per_backend", "per_client");
    static final List<String> PER_CLIENT_KEYS = List.of("max_connections", "max_rate", "ipv4_prefix", "ipv6_prefix",
            "max_clients");
    static final List<String> TIMEOUTS_KEYS = List.of("connect", "idle", "user_timeout");
    static final List<String> CHECK_COMMON_KEYS = List.of("type", "port", "interval", "timeout", "rise",
            "fall", "jitter", "fast_interval", "down_interval", "initial_state", "watch");
    static final Map<String, List<String>> CHECK_TYPE_KEYS = orderedMap(
            "tcp", List.of(),
            "http", List.of("tls", "method", "path", "host", "expect_status", "body_contains"),
            "send-expect", List.of("send", "expect", "regex"),
            "udp", List.of("send", "expect"));

    static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    /** An absolute znode path: {@code /} or {@code /a/b}, no empty segment, no trailing slash. */
    private static final Pattern ZNODE_PATH = Pattern.compile("/|(/[^/\\x00]+)+");
    /** One server of a ZooKeeper connect string, as the discovery source checks it. */
    private static final Pattern ZK_SERVER = Pattern.compile("(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]/,]+)(?::(\\d{1,5}))?");
    private static final Pattern VISIBLE_ASCII = Pattern.compile("[\\x21-\\x7e]+");
    /** One HAPROXY_GROUP name as marathon-lb splits the label (on commas); {@code *} is every group. */
    private static final Pattern GROUP = Pattern.compile("[\\x21-\\x2b\\x2d-\\x7e]+");
    /** A DNS zone: LDH labels of 1..63 characters separated by dots, lower case. */
    private static final Pattern DNS_ZONE = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
            + "(\\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*");
    private static final Pattern TRAILING_SLASHES = Pattern.compile("/+$");
    private static final Pattern IPV4_BLOCK = Pattern.compile("([0-9.]{7,15})/(\\d{1,2})");
    /**
     * The largest UDP payload (65535 - 20 byte IPv4 header - 8 byte UDP header): a larger check
     * datagram fails with EMSGSIZE ("Message too long") on every backend.
     */
    static final int MAX_UDP_PAYLOAD = UdpOptions.MAX_IPV4_PAYLOAD;
    /**
     * A UDP check reads a reply into Netty's default 2048-byte datagram buffer, so a longer
     * {@code expect} could never match.
     */
    static final int MAX_UDP_EXPECT = 2048;
    /** A send-expect check reads at most 16 KiB of the reply ({@code SendExpectProbe.MAX_READ}). */
    static final int MAX_TCP_EXPECT = 16 * 1024;
    /** Maglev's lookup table has this many slots ({@code MaglevPolicy.DEFAULT_TABLE_SIZE}): one backend each at most. */
    static final int MAGLEV_TABLE_SIZE = 65_537;
    /** Linux IFNAMSIZ is 16 bytes with the terminating NUL. */
    static final int MAX_INTERFACE_NAME_BYTES = 15;
    /** The kernel's {@code garp} burst and the ha module allow at most this many (HaSettings). */
    static final int MAX_GARP_COUNT = 50;
    private static final Pattern STATUS = Pattern.compile("(\\d{3})(?:-(\\d{3}))?");
    static final int MAX_BACKEND_WEIGHT = 1000;

    private static final Map<String, TransportKind> TRANSPORTS = orderedMap(
            "auto", TransportKind.AUTO, "epoll", TransportKind.EPOLL, "nio", TransportKind.NIO);
    private static final Map<String, LogFormat> LOG_FORMATS = orderedMap(
            "logfmt", LogFormat.LOGFMT, "json", LogFormat.JSON);
    private static final Map<String, Protocol> PROTOCOLS = orderedMap("tcp", Protocol.TCP, "udp", Protocol.UDP);
    private static final Map<String, ProxyProtocolVersion> PROXY_PROTOCOLS = orderedMap(
            "none", ProxyProtocolVersion.NONE, "v1", ProxyProtocolVersion.V1, "v2", ProxyProtocolVersion.V2);
    private static final Map<String, RelayMode> RELAYS = orderedMap(
            "copy", RelayMode.COPY, "splice", RelayMode.SPLICE, "auto", RelayMode.AUTO);
    private static final Map<String, String> METHODS = orderedMap(
            "GET", "GET", "HEAD", "HEAD", "POST", "POST", "OPTIONS", "OPTIONS");
    private static final Map<String, String> CHECK_TYPES = orderedMap(
            "tcp", "tcp", "http", "http", "send-expect", "send-expect", "udp", "udp");
    private static final Map<String, PolicyKind> POLICIES = policies();

    private final Problems problems = new Problems();
    private final String sourceName;
    /** The process environment (the node's locality may come from it). */
    private final Map<String, String> env;
    /** The valid VIPs with their sections, for checks across VIPs. */
    private final List<SelfLoops.ReadVip> readVips = new ArrayList<>();

    private ConfigReader(String sourceName, Map<String, String> env) {
        this.sourceName = sourceName;
        this.env = env;
    }

    static ConfigResult read(JsonNode root, String sourceName) {
        return read(root, sourceName, System.getenv());
    }

    /** Reads with {@code env} as the environment ({@code TANDEM_NODE_*}); tests pass their own. */
    static ConfigResult read(JsonNode root, String sourceName, Map<String, String> env) {
        return new ConfigReader(sourceName, Map.copyOf(env)).readRoot(root, sourceName);
    }

    private ConfigResult readRoot(JsonNode root, String sourceName) {
        if (root == null || root.isMissingNode() || root.isNull()) {
            problems.add(new int[0], sourceName, "an empty document", "a mapping with a vips list");
            return result(null);
        }
        Optional<Section> maybe = Section.of(root, sourceName, new int[0], problems,
                "a mapping with keys " + String.join(", ", ROOT_KEYS));
        if (maybe.isEmpty()) {
            return result(null);
        }
        Section s = Section.root(root, problems);
        s.allowKeys(ROOT_KEYS);
        RuntimeSettings runtime = s.child("runtime").map(this::runtime).orElse(RuntimeSettings.DEFAULTS)
                .withLogging(s.child("logging").map(this::logging).orElse(LoggingSettings.DEFAULTS));
        int beforeAdmin = problems.count();
        AdminSettings admin = s.child("admin").map(this::admin).orElse(AdminSettings.DEFAULTS);
        boolean adminValid = problems.count() == beforeAdmin;
        DiscoverySettings discovery = s.child("discovery").map(this::discovery).orElse(DiscoverySettings.NONE);
        List<VipConfig> vips = vips(s, discovery);
        Optional<HaConfig> ha = s.child("ha").flatMap(this::ha);
        LocalitySettings locality = localitySettings(s);
        ha = ha.map(h -> h.withZone(locality.node().zone()));
        vips = sourcePortsForNode(vips, ha);
        if (runtime.transport() == TransportKind.NIO) {
            for (SelfLoops.ReadVip r : readVips) {
                if (r.config().source().hasPorts()) {
                    r.section().child("source").ifPresent(c -> c.error("ports", Render.quote(c.get("ports").textValue()),
                            "no source ports with runtime.transport: nio (only epoll sets a socket's port range)"));
                }
            }
        }
        SelfLoops.check(readVips, adminValid ? Optional.of(admin) : Optional.empty(), ha, problems);
        AnnounceReader.checkAnycastPolicies(readVips, ha);
        if (problems.count() > 0) {
            return result(null);
        }
        return result(new TandemConfig(runtime, admin, discovery, vips, ha, locality));
    }

    private ConfigResult result(TandemConfig config) {
        return problems.count() == 0 ? new ConfigResult.Valid(config)
                : new ConfigResult.Invalid(problems.report(sourceName));
    }

    /**
     * {@code node} (this node's region, zone, rack; each overridden by a non-empty
     * {@code TANDEM_NODE_*} variable) and {@code locality} (the CIDR map and the node spread).
     */
    private LocalitySettings localitySettings(Section root) {
        Locality file = root.child("node").map(n -> {
            n.allowKeys(NODE_KEYS);
            return locality(n);
        }).orElse(Locality.UNKNOWN);
        String[] parts = {file.region().orElse(null), file.zone().orElse(null), file.rack().orElse(null)};
        for (int i = 0; i < NODE_ENV.size(); i++) {
            String value = env.get(NODE_ENV.get(i));
            if (value == null || value.isEmpty()) {
                continue;
            }
            if (Locality.NAME.matcher(value).matches()) {
                parts[i] = value;
            } else {
                problems.add(new int[] {-1, i}, "env " + NODE_ENV.get(i), Render.quote(value), nameExpected());
            }
        }
        Locality node = Locality.of(parts[0], parts[1], parts[2]);
        List<LocalitySettings.Cidr> cidrs = new ArrayList<>();
        Map<String, Integer> nodeZones = new LinkedHashMap<>();
        root.child("locality").ifPresent(l -> {
            l.allowKeys(LOCALITY_KEYS);
            cidrs.addAll(cidrs(l));
            nodeZones.putAll(nodeZones(l));
        });
        return new LocalitySettings(node, cidrs, nodeZones);
    }

    private static String nameExpected() {
        return "a name matching " + Locality.NAME.pattern() + ", e.g. eu-west-1 or eu-west-1a";
    }

    /** {@code region}, {@code zone} and {@code rack} of a mapping (node, backend, CIDR entry). */
    private static Locality locality(Section s) {
        String expected = nameExpected();
        String[] parts = new String[3];
        String[] keys = {"region", "zone", "rack"};
        for (int i = 0; i < keys.length; i++) {
            Optional<String> v = s.nonEmptyText(keys[i], expected);
            if (v.isPresent() && !Locality.NAME.matcher(v.get()).matches()) {
                s.error(keys[i], Render.quote(v.get()), expected);
            } else {
                parts[i] = v.orElse(null);
            }
        }
        return Locality.of(parts[0], parts[1], parts[2]);
    }

    /** {@code locality.cidrs}: a list of {cidr, region, zone, rack}; blocks unique. */
    private List<LocalitySettings.Cidr> cidrs(Section s) {
        String expected = "a list of {cidr: 10.1.0.0/16, region: R, zone: Z} mappings";
        List<LocalitySettings.Cidr> out = new ArrayList<>();
        JsonNode list = s.get("cidrs");
        if (list == null || list.isNull()) {
            return out;
        }
        if (!list.isArray()) {
            s.errorAt("cidrs", list, expected);
            return out;
        }
        Map<String, String> seen = new HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            String path = s.pathOf("cidrs") + "[" + i + "]";
            Optional<Section> item = Section.of(list.get(i), path, Problems.child(s.positionOf("cidrs"), i), problems,
                    expected);
            if (item.isEmpty()) {
                continue;
            }
            Section c = item.get();
            c.allowKeys(CIDR_KEYS);
            String cidrExpected = "an address block address/prefix with zero host bits, e.g. 10.1.0.0/16 or fd00::/8";
            Optional<String> cidr = c.nonEmptyText("cidr", cidrExpected);
            if (!c.has("cidr")) {
                c.missing("cidr", cidrExpected);
            }
            Locality loc = locality(c);
            if (loc.isUnknown() && cidr.isPresent()) {
                c.missing("zone", "a region, zone or rack for " + cidr.get());
            }
            if (cidr.isPresent() && LocalitySettings.parse(cidr.get()) == null) {
                c.errorAt("cidr", c.get("cidr"), cidrExpected);
            } else if (cidr.isPresent()) {
                String canonical = java.net.InetAddress.ofLiteral(cidr.get().substring(0, cidr.get().indexOf('/')))
                        .getHostAddress() + cidr.get().substring(cidr.get().indexOf('/'));
                String first = seen.putIfAbsent(canonical, path);
                if (first != null) {
                    c.errorAt("cidr", c.get("cidr"), "a unique block; " + first + " has the same");
                } else if (!loc.isUnknown()) {
                    out.add(new LocalitySettings.Cidr(cidr.get(), loc));
                }
            }
        }
        return out;
    }

    /** {@code locality.node_zones}: zone → number of load-balancer nodes serving from it. */
    private static Map<String, Integer> nodeZones(Section s) {
        Map<String, Integer> out = new LinkedHashMap<>();
        JsonNode n = s.get("node_zones");
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isObject()) {
            s.errorAt("node_zones", n, "a mapping of zone name to node count, e.g. {eu-west-1a: 2, eu-west-1b: 2}");
            return out;
        }
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            String path = s.pathOf("node_zones") + "." + e.getKey();
            JsonNode v = e.getValue();
            if (!Locality.NAME.matcher(e.getKey()).matches()) {
                s.problems().add(s.positionOf("node_zones"), path, Render.quote(e.getKey()), "a zone " + nameExpected());
            } else if (!v.isIntegralNumber() || v.intValue() < 0 || v.intValue() > 1000) {
                s.problems().add(s.positionOf("node_zones"), path, Render.node(v), "a node count 0..1000");
            } else {
                out.put(e.getKey(), v.intValue());
            }
        }
        return out;
    }

    /** {@code vips[].locality}: zone-aware routing and the priority overprovisioning factor. */
    private VipLocality vipLocality(Section s) {
        s.allowKeys(VIP_LOCALITY_KEYS);
        VipLocality d = VipLocality.DEFAULTS;
        boolean zoneAware = s.bool("zone_aware", d.zoneAware());
        int min = s.integer("min_cluster_size", 1, 1_000_000, d.minClusterSize());
        double factor = s.number("overprovisioning_factor", 1.0, 10.0, d.overprovisioningFactor());
        return new VipLocality(zoneAware, min, factor);
    }

    private RuntimeSettings runtime(Section s) {
        s.allowKeys(RUNTIME_KEYS);
        RuntimeSettings d = RuntimeSettings.DEFAULTS;
        int loops = s.integer("event_loops", 0, 256, ", 0 = one per core", d.eventLoops());
        TransportKind transport = s.choice("transport", TRANSPORTS, d.transport());
        Duration drain = s.duration("drain_timeout", Duration.ZERO, Duration.ofHours(1), "", d.drainTimeout());
        RuntimeSettings.Dns dns = s.child("dns").map(this::dns).orElse(d.dns());
        return new RuntimeSettings(loops, transport, drain, dns);
    }

    /** {@code logging}: the log line format. */
    private LoggingSettings logging(Section s) {
        s.allowKeys(LOGGING_KEYS);
        return new LoggingSettings(s.choice("format", LOG_FORMATS, LoggingSettings.DEFAULTS.format()));
    }

    /** {@code runtime.dns}: name servers and the TTL bounds of backend host names. */
    private RuntimeSettings.Dns dns(Section s) {
        s.allowKeys(DNS_KEYS);
        RuntimeSettings.Dns d = RuntimeSettings.Dns.DEFAULTS;
        String expected = "a list of name server addresses ip:port, e.g. [127.0.0.53:53]";
        List<HostPort> servers = new ArrayList<>();
        JsonNode list = s.get("servers");
        if (list != null && !list.isArray()) {
            s.errorAt("servers", list, expected);
        } else if (list != null) {
            for (int i = 0; i < list.size(); i++) {
                JsonNode n = list.get(i);
                // A resolver's own address must never need a resolver: IP literals only.
                Addresses.Parsed p = n.isTextual() ? Addresses.parse(n.textValue(), Addresses.HostRule.IP_LITERAL)
                        : Addresses.Parsed.bad("ip:port, e.g. 127.0.0.53:53");
                if (p.address().isPresent()) {
                    servers.add(p.address().get());
                } else {
                    String why = p.expected().contains("listen on")
                            ? "an IP address and port, e.g. 127.0.0.53:53 (a name server cannot be a name)" : p.expected();
                    problems.add(Problems.child(s.positionOf("servers"), i), s.pathOf("servers") + "[" + i + "]",
                            Render.node(n), why);
                }
            }
        }
        Duration minTtl = s.duration("min_ttl", Duration.ofMillis(100), Duration.ofHours(1), "", d.minTtl());
        // Without max_ttl, a min_ttl above the default ceiling raises the ceiling with it.
        Duration maxTtl = s.duration("max_ttl", Duration.ofSeconds(1), Duration.ofDays(1), "",
                minTtl.compareTo(d.maxTtl()) > 0 ? minTtl : d.maxTtl());
        if (maxTtl.compareTo(minTtl) < 0) {
            s.errorAt("max_ttl", s.get("max_ttl"), "a duration >= min_ttl (" + Durations.format(minTtl) + ")");
            maxTtl = minTtl;
        }
        Duration timeout = s.duration("timeout", Duration.ofMillis(100), Duration.ofSeconds(30), "", d.timeout());
        return new RuntimeSettings.Dns(servers, minTtl, maxTtl, timeout);
    }

    private AdminSettings admin(Section s) {
        s.allowKeys(ADMIN_KEYS);
        AdminSettings d = AdminSettings.DEFAULTS;
        boolean enabled = s.bool("enabled", d.enabled());
        HostPort listen = address(s, "listen", Addresses.HostRule.IP_OR_NAME).orElse(d.listen());
        Optional<String> token = adminToken(s);
        if (enabled && token.isEmpty() && !s.has("token") && !Addresses.isLoopback(listen.host())) {
            s.missing("token", "a bearer token because admin.listen " + listen + " is not a loopback address");
        }
        return new AdminSettings(enabled, listen, token, allowedHosts(s));
    }

    /**
     * admin.token is a secret: whatever is wrong with it, the error shows {@code "***"}, never the
     * value (a YAML number such as {@code 0123} included, which would otherwise print as 83).
     */
    private static Optional<String> adminToken(Section s) {
        JsonNode n = s.get("token");
        if (n == null) {
            return Optional.empty();
        }
        String expected = "a bearer token of " + AdminSettings.MIN_TOKEN_LENGTH + ".." + AdminSettings.MAX_TOKEN_LENGTH
                + " visible ASCII characters";
        if (!n.isTextual()) {
            s.error("token", Render.MASKED, expected + " as a string" + (n.isValueNode() && !n.isNull() ? "; put it in quotes" : ""));
            return Optional.empty();
        }
        Optional<String> problem = AdminSettings.tokenProblem(n.textValue());
        if (problem.isPresent()) {
            s.error("token", n.textValue().isEmpty() ? "\"\"" : Render.MASKED, expected + ": " + problem.get());
            return Optional.empty();
        }
        return Optional.of(n.textValue());
    }

    /** Host names a request's Host header may carry besides IP literals and localhost. */
    private static List<String> allowedHosts(Section s) {
        JsonNode n = s.get("allowed_hosts");
        if (n == null || n.isNull()) {
            return List.of();
        }
        String expected = "a list of host names, e.g. [lb1.example.com] (IP literals and localhost are always allowed)";
        if (!n.isArray()) {
            s.errorAt("allowed_hosts", n, expected);
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode item = n.get(i);
            String path = s.pathOf("allowed_hosts") + "[" + i + "]";
            int[] position = Problems.child(s.positionOf("allowed_hosts"), i);
            if (!item.isTextual() || item.textValue().indexOf(':') >= 0
                    || Addresses.parse(item.textValue() + ":1", Addresses.HostRule.IP_OR_NAME).address().isEmpty()) {
                s.problems().add(position, path, Render.node(item),
                        "a host name without port (letters, digits, '-', '.')");
                continue;
            }
            out.add(item.textValue());
        }
        return out;
    }

    private DiscoverySettings discovery(Section s) {
        s.allowKeys(DISCOVERY_KEYS);
        Optional<DiscoverySettings.ZooKeeper> zk = s.child("zookeeper").map(this::zookeeper);
        Optional<DiscoverySettings.Marathon> marathon = s.child("marathon").map(this::marathon);
        Optional<java.nio.file.Path> stateDir = filePath(s, "state_dir", "a directory path for the sources' last "
                + "known membership, e.g. /var/lib/tandem").map(java.nio.file.Path::of);
        stateDir.filter(d -> java.nio.file.Files.exists(d) && !java.nio.file.Files.isDirectory(d)).ifPresent(d ->
                s.errorAt("state_dir", s.get("state_dir"), "a directory (this path is a file)"));
        Optional<DiscoverySettings.NamedVipDns> dns = s.child("dns").map(this::namedVipDns);
        if (s.has("dns") && marathon.isEmpty() && !s.has("marathon")) {
            s.errorAt("dns", s.get("dns"), "discovery.marathon as well: the responder answers Marathon named VIPs");
        }
        return new DiscoverySettings(zk, marathon, stateDir, dns);
    }

    private DiscoverySettings.NamedVipDns namedVipDns(Section s) {
        s.allowKeys(NAMED_VIP_DNS_KEYS);
        Optional<HostPort> listen = address(s, "listen", Addresses.HostRule.IP_LITERAL);
        if (!s.has("listen")) {
            s.missing("listen", "the responder's address, e.g. 127.0.0.1:8053");
        }
        String suffixExpected = "a DNS zone such as marathon.l4lb.thisdcos.directory (labels of letters, digits "
                + "and '-', at most 63 characters each, 253 in all)";
        String suffix = s.nonEmptyText("suffix", suffixExpected).map(t -> Section.lower(t).replaceAll("\\.$", ""))
                .orElse(DiscoverySettings.NamedVipDns.DEFAULT_SUFFIX);
        if (!DNS_ZONE.matcher(suffix).matches() || suffix.length() > 253) {
            s.errorAt("suffix", s.get("suffix"), suffixExpected);
        }
        Duration ttl = s.duration("ttl", Duration.ZERO, Duration.ofHours(1), "",
                DiscoverySettings.NamedVipDns.DEFAULT_TTL);
        return new DiscoverySettings.NamedVipDns(listen.orElse(HostPort.of("127.0.0.1", 53)), suffix, ttl);
    }

    private DiscoverySettings.ZooKeeper zookeeper(Section s) {
        s.allowKeys(ZOOKEEPER_KEYS);
        Optional<String> connect = zkConnect(s);
        Duration session = s.duration("session_timeout", Duration.ofSeconds(1), Duration.ofMinutes(10), "",
                Duration.ofSeconds(30));
        Duration connection = s.duration("connection_timeout", Duration.ofMillis(100), Duration.ofMinutes(5), "",
                Duration.ofSeconds(10));
        String namespaceExpected = "a chroot without leading or trailing slash, e.g. prod or tandem/prod";
        Optional<String> namespace = s.nonEmptyText("namespace", namespaceExpected);
        namespace.filter(n -> n.startsWith("/") || n.endsWith("/") || !ZNODE_PATH.matcher("/" + n).matches())
                .ifPresent(n -> s.error("namespace", Render.quote(n), namespaceExpected));
        Optional<String> auth = s.nonEmptyText("auth", "digest credentials user:password");
        auth.filter(a -> a.indexOf(':') <= 0 || a.endsWith(":")).ifPresent(a ->
                s.errorAt("auth", s.get("auth"), "digest credentials user:password"));
        String basePath = s.nonEmptyText("base_path", "an absolute znode path, e.g. /services").orElse("/services");
        if (!ZNODE_PATH.matcher(basePath).matches()) {
            s.error("base_path", Render.quote(basePath), "an absolute znode path, e.g. /services");
        }
        DiscoverySettings.Layout layout = s.choice("layout", orderedMap("curator", DiscoverySettings.Layout.CURATOR,
                "plain", DiscoverySettings.Layout.PLAIN), DiscoverySettings.Layout.CURATOR);
        Duration debounce = s.duration("removal_debounce", Duration.ZERO, Duration.ofMinutes(5), ", 0 = off",
                Duration.ofMillis(1500));
        Optional<DiscoverySettings.Tls> tls = s.child("tls").flatMap(this::zkTls);
        return new DiscoverySettings.ZooKeeper(connect.orElse("?"), session, connection, namespace, auth, basePath,
                layout, debounce, tls);
    }

    private Optional<DiscoverySettings.Tls> zkTls(Section s) {
        s.allowKeys(ZK_TLS_KEYS);
        Optional<String> trust = filePath(s, "trust_store", "a trust store file path");
        if (!s.has("trust_store")) {
            s.missing("trust_store", "a trust store file path");
        }
        String trustPassword = s.nonEmptyText("trust_store_password", "the trust store password").orElse("");
        Optional<String> key = filePath(s, "key_store", "a key store file path (for mutual TLS)");
        Optional<String> keyPassword = s.nonEmptyText("key_store_password", "the key store password");
        return trust.map(t -> new DiscoverySettings.Tls(java.nio.file.Path.of(t), trustPassword,
                key.map(java.nio.file.Path::of), keyPassword));
    }

    private DiscoverySettings.Marathon marathon(Section s) {
        s.allowKeys(MARATHON_KEYS);
        String expected = "a list of Marathon base URLs, e.g. [http://marathon1:8080]";
        List<String> urls = new ArrayList<>();
        JsonNode list = s.get("urls");
        if (list == null) {
            s.missing("urls", expected);
        } else if (!list.isArray() || list.isEmpty()) {
            s.errorAt("urls", list, expected);
        } else {
            for (int i = 0; i < list.size(); i++) {
                JsonNode u = list.get(i);
                String path = s.pathOf("urls") + "[" + i + "]";
                if (u.isTextual() && isBaseUrl(u.textValue())) {
                    urls.add(TRAILING_SLASHES.matcher(u.textValue()).replaceAll(""));
                } else {
                    problems.add(Problems.child(s.positionOf("urls"), i), path, Render.node(u),
                            "an http:// or https:// base URL without query or fragment");
                }
            }
        }
        Optional<String> basic = s.nonEmptyText("basic_auth", "user:password");
        basic.filter(a -> a.indexOf(':') <= 0).ifPresent(a -> s.errorAt("basic_auth", s.get("basic_auth"),
                "user:password"));
        String tokenExpected = "a bearer token of visible ASCII characters (an HTTP header value)";
        Optional<String> token = s.nonEmptyText("token", tokenExpected);
        token.filter(t -> !VISIBLE_ASCII.matcher(t).matches()).ifPresent(t ->
                s.errorAt("token", s.get("token"), tokenExpected));
        if (basic.isPresent() && token.isPresent()) {
            s.errorAt("token", s.get("token"), "either basic_auth or token, not both");
        }
        Duration silence = s.duration("silence_timeout", Duration.ofSeconds(1), Duration.ofMinutes(10), "",
                Duration.ofSeconds(30));
        Duration resync = s.duration("resync_interval", Duration.ofSeconds(1), Duration.ofHours(24), "",
                Duration.ofMinutes(5));
        String block = s.nonEmptyText("named_vip_block", "an IPv4 CIDR block, e.g. 198.18.128.0/17")
                .orElse("198.18.128.0/17");
        if (!isIpv4Block(block)) {
            s.error("named_vip_block", Render.quote(block), "an IPv4 CIDR block /8../30 with zero host bits, "
                    + "e.g. 198.18.128.0/17");
        }
        boolean keep = s.choice("unreachable", orderedMap("keep", true, "remove", false), true);
        List<String> groups = groups(s);
        String selectorExpected = "a Marathon label selector such as HAPROXY_GROUP==external or tier in (a, b)";
        Optional<LabelSelector> selector = Optional.empty();
        Optional<String> query = s.nonEmptyText("label_selector", selectorExpected);
        if (query.isPresent()) {
            try {
                selector = Optional.of(LabelSelector.parse(query.get()));
            } catch (IllegalArgumentException e) {
                s.errorAt("label_selector", s.get("label_selector"), selectorExpected + ": " + e.getMessage());
            }
        }
        String bindExpected = "an IP address service ports listen on, e.g. 0.0.0.0 or 10.0.0.5";
        String bind = s.nonEmptyText("bind_address", bindExpected).orElse(DiscoverySettings.Marathon.DEFAULT_BIND_ADDRESS);
        if (!Addresses.isIpLiteral(bind)) {
            s.errorAt("bind_address", s.get("bind_address"), bindExpected);
        }
        boolean strict = s.bool("strict_mode", false);
        boolean checks = s.choice("health_checks", orderedMap("marathon", true, "off", false), true);
        return new DiscoverySettings.Marathon(urls, basic, token, silence, resync, block, keep, groups, selector,
                bind, strict, checks);
    }

    /** Marathon-LB's {@code --group} values: names without commas or spaces, or {@code *}. */
    private List<String> groups(Section s) {
        String expected = "a list of HAPROXY_GROUP names (no commas or spaces), or [\"*\"] for every app";
        List<String> out = new ArrayList<>();
        JsonNode list = s.get("groups");
        if (list == null) {
            return out;
        }
        if (!list.isArray()) {
            s.errorAt("groups", list, expected);
            return out;
        }
        for (int i = 0; i < list.size(); i++) {
            JsonNode g = list.get(i);
            if (!g.isTextual() || g.textValue().isEmpty() || !GROUP.matcher(g.textValue()).matches()) {
                problems.add(Problems.child(s.positionOf("groups"), i), s.pathOf("groups") + "[" + i + "]",
                        Render.node(g), expected);
                continue;
            }
            out.add(g.textValue());
        }
        return out;
    }

    private UdpOptions udp(Section s) {
        s.allowKeys(UDP_KEYS);
        UdpOptions d = UdpOptions.DEFAULTS;
        return new UdpOptions(
                s.integer("max_datagram_size", 1, MAX_UDP_PAYLOAD, d.maxDatagramSize()),
                s.duration("session_idle", Duration.ofMillis(10), Duration.ofHours(24), "", d.sessionIdle()),
                s.integer("max_sessions", 1, 1_000_000, d.maxSessions()),
                s.integer("responses_per_request", 0, 1000, ", 0 = sessions end by idling", d.responsesPerRequest()));
    }

    private Optional<HaConfig> ha(Section s) {
        int before = problems.count();
        s.allowKeys(HA_KEYS);
        String idExpected = "a node id matching " + NAME.pattern();
        Optional<String> nodeId = s.nonEmptyText("node_id", idExpected);
        if (!s.has("node_id")) {
            s.missing("node_id", idExpected);
        }
        nodeId.filter(n -> !NAME.matcher(n).matches()).ifPresent(n -> s.error("node_id", Render.quote(n), idExpected));
        String cluster = s.nonEmptyText("cluster", "a cluster name matching " + NAME.pattern()).orElse("default");
        if (!NAME.matcher(cluster).matches()) {
            s.error("cluster", Render.quote(cluster), "a cluster name matching " + NAME.pattern());
        }
        Optional<HostPort> listen = address(s, "listen", Addresses.HostRule.IP_LITERAL);
        if (!s.has("listen")) {
            s.missing("listen", "this node's peer-link address, e.g. 198.18.0.1:7946");
        }
        List<HaConfig.Peer> peers = new ArrayList<>();
        Map<String, String> peerIds = new HashMap<>();
        JsonNode list = s.get("peers");
        String peerExpected = "a list of peers, each {id: NODE, address: host:port, zone: ZONE (optional)}";
        if (list == null) {
            s.missing("peers", peerExpected);
        } else if (!list.isArray() || list.isEmpty()) {
            s.errorAt("peers", list, peerExpected);
        } else {
            for (int i = 0; i < list.size(); i++) {
                String path = s.pathOf("peers") + "[" + i + "]";
                Optional<Section> p = Section.of(list.get(i), path, Problems.child(s.positionOf("peers"), i), problems,
                        peerExpected);
                if (p.isEmpty()) {
                    continue;
                }
                Section ps = p.get();
                ps.allowKeys(List.of("id", "address", "zone"));
                Optional<String> id = ps.nonEmptyText("id", idExpected);
                if (!ps.has("id")) {
                    ps.missing("id", idExpected);
                }
                id.filter(x -> nodeId.isPresent() && x.equals(nodeId.get()))
                        .ifPresent(x -> ps.error("id", Render.quote(x), "another node's id, not this node's node_id"));
                String firstWithId = id.map(x -> peerIds.putIfAbsent(x, path)).orElse(null);
                if (firstWithId != null) {
                    ps.error("id", Render.quote(id.get()), "a unique peer id; " + firstWithId + " has the same");
                }
                Optional<HostPort> addr = address(ps, "address", Addresses.HostRule.IP_OR_NAME);
                if (!ps.has("address")) {
                    ps.missing("address", "the peer's peer-link address host:port");
                }
                Optional<String> zone = ps.nonEmptyText("zone", nameExpected());
                zone.filter(z -> !Locality.NAME.matcher(z).matches())
                        .ifPresent(z -> ps.error("zone", Render.quote(z), nameExpected()));
                if (id.isPresent() && addr.isPresent()) {
                    peers.add(new HaConfig.Peer(id.get(), addr.get(), zone));
                }
            }
        }
        Section zk = s.child("zookeeper").orElse(null);
        String zkConnect = "?";
        Duration zkSession = Duration.ofSeconds(10);
        Duration zkConnection = Duration.ofSeconds(3);
        if (zk == null) {
            s.missing("zookeeper", "a mapping with connect: the ZooKeeper that arbitrates VIP ownership");
        } else {
            zk.allowKeys(HA_ZK_KEYS);
            zkConnect = zkConnect(zk).orElse("?");
            zkSession = zk.duration("session_timeout", Duration.ofSeconds(1), Duration.ofMinutes(10), "", zkSession);
            zkConnection = zk.duration("connection_timeout", Duration.ofMillis(100), Duration.ofMinutes(5), "",
                    zkConnection);
        }
        String ifaceExpected = "a network interface name of 1.." + MAX_INTERFACE_NAME_BYTES
                + " bytes without '/', ':' or whitespace, e.g. eth0";
        String iface = s.nonEmptyText("interface", ifaceExpected).orElse("lo");
        if (!isInterfaceName(iface)) {
            s.errorAt("interface", s.get("interface"), ifaceExpected);
        }
        // Config defaults are wider than the ha module's measuring defaults (20/60 ms): on a loaded
        // host a 60 ms timeout made cold starts flap (tests/…/HaPairSystemIT). A process crash does
        // not wait for the timeout (EOF + refused link port, tens of ms); a silent host is taken
        // over at timeout + 150 ms + one ZooKeeper write, ~350 ms with 150 ms (250 ms missed the
        // 500 ms goal under load: perf/takeover).
        Duration hbInterval = Duration.ofMillis(25);
        Duration hbTimeout = Duration.ofMillis(150);
        Optional<Section> hb = s.child("heartbeat");
        if (hb.isPresent()) {
            hb.get().allowKeys(HA_HEARTBEAT_KEYS);
            hbInterval = hb.get().duration("interval", Duration.ofMillis(5), Duration.ofSeconds(10), "", hbInterval);
            hbTimeout = hb.get().duration("timeout", Duration.ofMillis(10), Duration.ofSeconds(60), "", hbTimeout);
            if (hbTimeout.compareTo(hbInterval.multipliedBy(2)) < 0) {
                hb.get().error("timeout", Durations.format(hbTimeout), "at least 2 x heartbeat.interval ("
                        + Durations.format(hbInterval.multipliedBy(2)) + ")");
            }
        }
        Duration probe = s.duration("probe_timeout", Duration.ofMillis(5), Duration.ofSeconds(30), "",
                Duration.ofMillis(100));
        // The ha module needs these above zero (HaSettings); 1ms is as good as "at once".
        Duration grace = s.duration("isolation_grace", Duration.ofMillis(1), Duration.ofSeconds(60), "",
                Duration.ofMillis(100));
        Duration claim = s.duration("claim_delay", Duration.ofMillis(1), Duration.ofMinutes(10), "",
                Duration.ofSeconds(3));
        // On by default, as in keepalived: after a failover the recovered node gets its preferred
        // addresses back and the pair is active-active again. The 10 s hold-down (keepalived's
        // preempt_delay, off there by default) keeps a node that crash-loops or whose link flaps
        // from pulling addresses back and forth: each hand-back costs a short gap and resets the
        // connections on the address, so the node must stay up (peer link and ZooKeeper) that long.
        boolean preempt = true;
        Duration preemptDelay = Duration.ofSeconds(10);
        Optional<Section> pre = s.child("preempt");
        if (pre.isPresent()) {
            pre.get().allowKeys(HA_PREEMPT_KEYS);
            preempt = pre.get().bool("enabled", true);
            preemptDelay = pre.get().duration("delay", Duration.ofMillis(1), Duration.ofHours(1), "", preemptDelay);
        }
        int garpCount = 5;
        Duration garpSpacing = Duration.ofMillis(100);
        Duration garpRepeat = Duration.ofSeconds(5);
        Optional<Section> garp = s.child("garp");
        if (garp.isPresent()) {
            garp.get().allowKeys(HA_GARP_KEYS);
            garpCount = garp.get().integer("count", 0, MAX_GARP_COUNT, garpCount);
            garpSpacing = garp.get().duration("spacing", Duration.ofMillis(1), Duration.ofSeconds(10), "", garpSpacing);
            garpRepeat = garp.get().duration("repeat_after", Duration.ZERO, Duration.ofMinutes(10), ", 0 = no repeat",
                    garpRepeat);
        }
        Duration lifetime = s.duration("address_lifetime", Duration.ZERO, Duration.ofHours(1),
                ", 0 = addresses never expire", Duration.ZERO);
        if (!lifetime.isZero() && (lifetime.toMillis() % 1000 != 0 || lifetime.compareTo(Duration.ofSeconds(2)) < 0)) {
            s.errorAt("address_lifetime", s.get("address_lifetime"),
                    "0 or whole seconds of at least 2s (the kernel counts address lifetimes in seconds)");
        }
        HaConfig.SelfFence selfFence = s.choice("self_fence", orderedMap("auto", HaConfig.SelfFence.AUTO,
                "nftables", HaConfig.SelfFence.NFTABLES, "off", HaConfig.SelfFence.OFF), HaConfig.SelfFence.AUTO);
        List<HaConfig.Address> addresses = new ArrayList<>();
        JsonNode al = s.get("addresses");
        String addrExpected = "a list of VIP addresses, each an IP literal or {address: IP, preferred_owner: NODE}";
        if (al == null) {
            s.missing("addresses", addrExpected);
        } else if (!al.isArray()) {
            s.errorAt("addresses", al, addrExpected);
        } else {
            Map<String, String> seenAddresses = new HashMap<>();
            java.util.Set<String> ids = new java.util.HashSet<>();
            nodeId.ifPresent(ids::add);
            peers.forEach(p -> ids.add(p.id()));
            for (int i = 0; i < al.size(); i++) {
                JsonNode item = al.get(i);
                String path = s.pathOf("addresses") + "[" + i + "]";
                int[] pos = Problems.child(s.positionOf("addresses"), i);
                if (item.isTextual()) {
                    if (!Addresses.isIpLiteral(item.textValue())) {
                        problems.add(pos, path, Render.node(item), "an IP literal");
                    } else if (uniqueAddress(item.textValue(), path, seenAddresses, pos, item)) {
                        addresses.add(new HaConfig.Address(item.textValue(), Optional.empty()));
                    }
                    continue;
                }
                Optional<Section> as = Section.of(item, path, pos, problems, addrExpected);
                if (as.isEmpty()) {
                    continue;
                }
                as.get().allowKeys(List.of("address", "preferred_owner"));
                Optional<String> a = as.get().nonEmptyText("address", "an IP literal");
                if (!as.get().has("address")) {
                    as.get().missing("address", "an IP literal");
                }
                a.filter(x -> !Addresses.isIpLiteral(x)).ifPresent(x -> as.get().error("address", Render.quote(x),
                        "an IP literal"));
                Optional<String> owner = as.get().nonEmptyText("preferred_owner", "a node id of this group");
                owner.filter(o -> !ids.contains(o)).ifPresent(o -> as.get().error("preferred_owner", Render.quote(o),
                        "one of " + String.join(", ", new java.util.TreeSet<>(ids))));
                a.filter(Addresses::isIpLiteral)
                        .filter(x -> uniqueAddress(x, as.get().pathOf("address"), seenAddresses,
                                as.get().positionOf("address"), as.get().get("address")))
                        .ifPresent(x -> addresses.add(new HaConfig.Address(x, owner)));
            }
        }
        AnnounceSettings announce = s.child("announce").map(AnnounceReader::read).orElse(AnnounceSettings.ARP);
        if (problems.count() != before || nodeId.isEmpty() || listen.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new HaConfig(nodeId.get(), cluster, listen.get(), peers, zkConnect, zkSession,
                zkConnection, iface, hbInterval, hbTimeout, probe, grace, claim, preempt, preemptDelay, garpCount,
                garpSpacing, garpRepeat, lifetime, addresses).withAnnounce(announce).withSelfFence(selfFence));
    }

    private OutlierDetection outlier(Section s) {
        s.allowKeys(OUTLIER_KEYS);
        OutlierDetection d = OutlierDetection.DEFAULTS;
        int failures = s.integer("consecutive_failures", 0, 1000, ", 0 = off", d.consecutiveFailures());
        Duration base = s.duration("base_ejection_time", Duration.ofMillis(10), Duration.ofHours(1), "",
                d.baseEjectionTime());
        Duration max = s.duration("max_ejection_time", Duration.ofMillis(10), Duration.ofHours(24), "",
                d.maxEjectionTime());
        if (max.compareTo(base) < 0 && s.has("max_ejection_time")) {
            s.error("max_ejection_time", Durations.format(max), "a duration >= base_ejection_time ("
                    + Durations.format(base) + ")");
        }
        int percent = s.integer("max_ejection_percent", 0, 100, d.maxEjectionPercent());
        Duration response = s.duration("response_timeout", Duration.ZERO, Duration.ofHours(1), ", 0 = off",
                d.responseTimeout());
        ResponseTimeoutMode mode = s.choice("response_timeout_mode", orderedMap("first-response",
                ResponseTimeoutMode.FIRST_RESPONSE, "every-request", ResponseTimeoutMode.EVERY_REQUEST),
                d.responseTimeoutMode());
        JsonNode closedNode = s.get("closed_before_response");
        ClosedBeforeResponse closed = closedNode != null && closedNode.isBoolean() && !closedNode.booleanValue()
                ? ClosedBeforeResponse.OFF // YAML 1.1 reads a bare off as false
                : s.choice("closed_before_response", orderedMap("off", ClosedBeforeResponse.OFF,
                "reset", ClosedBeforeResponse.RESET, "reset-or-close", ClosedBeforeResponse.RESET_OR_CLOSE),
                d.closedBeforeResponse());
        LatencyEjection latency = s.child("latency").map(this::latency).orElse(d.latency());
        return new OutlierDetection(failures, base, max, percent, response, mode, closed, latency);
    }

    private LatencyEjection latency(Section s) {
        s.allowKeys(LATENCY_KEYS);
        LatencyEjection d = LatencyEjection.DEFAULTS;
        boolean enabled = s.bool("enabled", true); // a latency section means it is wanted unless it says otherwise
        double factor = s.number("factor", 1.1, 1000, d.factor());
        Duration minLatency = s.duration("min_latency", Duration.ZERO, Duration.ofHours(1), "", d.minLatency());
        int minSamples = s.integer("min_samples", 1, 1_000_000, d.minSamples());
        int minBackends = s.integer("min_backends", 2, 10_000, d.minBackends());
        Duration interval = s.duration("interval", Duration.ofMillis(100), Duration.ofHours(1), "", d.interval());
        return new LatencyEjection(enabled, factor, minLatency, minSamples, minBackends, interval);
    }

    private List<VipConfig> vips(Section root, DiscoverySettings discovery) {
        JsonNode list = root.get("vips");
        if (list == null) {
            root.missing("vips", "a list of VIPs; use [] for none");
            return List.of();
        }
        if (!list.isArray()) {
            root.errorAt("vips", list, "a list of VIPs; use [] for none");
            return List.of();
        }
        List<VipConfig> vips = new ArrayList<>();
        Map<String, String> names = new HashMap<>();
        Map<String, String> listens = new HashMap<>();
        int[] position = root.positionOf("vips");
        for (int i = 0; i < list.size(); i++) {
            String path = "vips[" + i + "]";
            Optional<Section> vip = Section.of(list.get(i), path, Problems.child(position, i), problems,
                    "a VIP: a mapping with name, listen, backends");
            if (vip.isPresent()) {
                Section section = vip.get();
                vip(section, names, listens, discovery).ifPresent(v -> {
                    vips.add(v);
                    readVips.add(new SelfLoops.ReadVip(section, v));
                });
            }
        }
        return vips;
    }

    private Optional<VipConfig> vip(Section s, Map<String, String> names, Map<String, String> listens,
                                    DiscoverySettings discovery) {
        int before = problems.count();
        s.allowKeys(VIP_KEYS);
        Optional<String> name = s.text("name", "a VIP name matching " + NAME.pattern());
        if (name.isEmpty() && !s.has("name")) {
            s.missing("name", "a VIP name matching " + NAME.pattern());
        } else if (name.isPresent() && !NAME.matcher(name.get()).matches()) {
            s.error("name", Render.quote(name.get()), "a VIP name matching " + NAME.pattern());
        } else if (name.isPresent()) {
            String first = names.putIfAbsent(name.get(), s.path());
            if (first != null) {
                s.error("name", Render.quote(name.get()), "a unique VIP name; " + first + " has the same");
            }
        }
        Optional<HostPort> listen = address(s, "listen", Addresses.HostRule.IP_LITERAL);
        if (!s.has("listen")) {
            s.missing("listen", "an address to listen on, e.g. 127.0.0.1:8080");
        }
        Protocol protocol = s.choice("protocol", PROTOCOLS, Protocol.TCP);
        if (listen.isPresent()) {
            String proto = Section.lower(protocol.name());
            String first = listens.putIfAbsent(proto + " " + Addresses.canonical(listen.get()),
                    s.path() + " also listens on " + proto + " " + listen.get());
            if (first != null) {
                s.error("listen", Render.quote(s.get("listen").textValue()),
                        "a unique listen address and protocol; " + first);
            }
        }
        PolicyKind policy = s.choice("policy", POLICIES, PolicyKind.ROUND_ROBIN);
        int retries = s.integer("retries", 0, 10, 3);
        ProxyProtocolVersion proxyProtocol = s.choice("proxy_protocol", PROXY_PROTOCOLS, ProxyProtocolVersion.NONE);
        if (protocol == Protocol.UDP && proxyProtocol != ProxyProtocolVersion.NONE) {
            s.errorAt("proxy_protocol", s.get("proxy_protocol"), "none on a udp VIP; PROXY protocol is TCP only");
        }
        RelayMode relay = s.choice("relay", RELAYS, RelayMode.AUTO);
        if (protocol == Protocol.UDP && relay == RelayMode.SPLICE) {
            s.errorAt("relay", s.get("relay"), "auto or copy on a udp VIP; splice is TCP only");
        }
        Optional<String> service = s.nonEmptyText("service", "the name of a discovered service, e.g. /orders#0");
        if (service.isPresent() && !discovery.any()) {
            s.error("service", Render.quote(service.get()), "a service of a discovery source; configure "
                    + "discovery.zookeeper or discovery.marathon first");
        }
        // With sni, the VIP's own backends are only the default set: a VIP may route by name alone.
        boolean noDefaultSet = s.has("sni") && protocol == Protocol.TCP && !s.has("backends");
        List<BackendConfig> backends = noDefaultSet
                || service.isPresent() && (!s.has("backends") || emptyList(s.get("backends")))
                ? List.of() : backends(s);
        SniRouting sni = SniRouting.OFF;
        if (s.has("sni") && protocol == Protocol.UDP) {
            s.error("sni", "a mapping", "no sni on a udp VIP (the TLS ClientHello is read from TCP streams)");
        } else if (s.has("sni") && (s.get("sni").isNull() || !s.get("sni").isObject())) {
            s.errorAt("sni", s.get("sni"), "a mapping with routes: [{name, server_names, backends}]");
        } else if (s.has("sni")) {
            List<List<BackendConfig>> routeBackends = new ArrayList<>();
            sni = s.child("sni").map(c -> sni(c, routeBackends, discovery)).orElse(SniRouting.OFF);
            backends = withRouteBackends(s, backends, routeBackends);
        }
        if (policy == PolicyKind.MAGLEV && backends.size() > MAGLEV_TABLE_SIZE) {
            s.error("backends", backends.size() + " backends", "at most " + MAGLEV_TABLE_SIZE
                    + " with policy maglev, one per slot of its lookup table");
        }
        Limits limits = s.child("limits").map(this::limits).orElse(Limits.UNLIMITED);
        Timeouts timeouts = s.child("timeouts").map(this::timeouts).orElse(Timeouts.DEFAULTS);
        boolean[] trusted = {false};
        Optional<HealthCheckSpec> check = s.child("health_check").flatMap(c -> healthCheck(c, trusted));
        OutlierDetection outlier = s.child("outlier_detection").map(this::outlier).orElse(OutlierDetection.DEFAULTS);
        int panic = s.integer("panic_threshold", 0, 100, " (percent), 0 = only when none is eligible", 0);
        Duration slowStart = s.duration("slow_start", Duration.ZERO, Duration.ofHours(1), ", 0 = off", Duration.ZERO);
        boolean closeOnDown = s.bool("close_on_backend_down", false);
        UdpOptions udp = UdpOptions.DEFAULTS;
        if (s.has("udp") && protocol != Protocol.UDP) {
            s.error("udp", "a mapping", "no udp section on a tcp VIP");
        } else {
            udp = s.child("udp").map(this::udp).orElse(UdpOptions.DEFAULTS);
        }
        VipLocality locality = s.child("locality").map(this::vipLocality).orElse(VipLocality.DEFAULTS);
        AccessControl acl = s.child("acl").map(this::acl).orElse(AccessControl.OPEN);
        ProxyProtocolIn proxyIn = s.child("proxy_protocol_in").map(this::proxyProtocolIn).orElse(ProxyProtocolIn.OFF);
        if (proxyIn.enabled() && protocol == Protocol.UDP) {
            s.error("proxy_protocol_in", "enabled", "no proxy_protocol_in on a udp VIP (the PROXY protocol is read from TCP streams)");
        }
        Optional<AgentCheck> agent = s.child("agent_check").flatMap(this::agentCheck);
        int balance = s.integer("hash_balance_factor", VipConfig.MIN_HASH_BALANCE_FACTOR,
                VipConfig.MAX_HASH_BALANCE_FACTOR, " (percent of the average load)", 0);
        if (s.has("hash_balance_factor") && policy != PolicyKind.MAGLEV) {
            s.error("hash_balance_factor", String.valueOf(balance), "no hash_balance_factor unless policy is maglev "
                    + "(it bounds the load of a hashing policy)");
        }
        BackendSource source = BackendSource.NONE;
        if (s.has("source") && protocol == Protocol.UDP) {
            s.error("source", "a mapping", "no source on a udp VIP (it sets where backend TCP connections leave from)");
        } else {
            List<BackendConfig> all = backends;
            source = s.child("source").map(c -> source(c, listen, all)).orElse(BackendSource.NONE);
        }
        if (problems.count() != before) {
            return Optional.empty();
        }
        HealthPolicy health = new HealthPolicy(trusted[0], outlier, panic, slowStart, closeOnDown, agent);
        return Optional.of(new VipConfig(name.orElseThrow(), listen.orElseThrow(), protocol, policy, backends,
                limits, timeouts, retries, proxyProtocol, relay, check, health, service, udp, locality, acl, balance,
                proxyIn, sni, source));
    }

    /**
     * {@code source: {address: <ip> | vip, ports: "40000-49999"}}. The address family must be the
     * backends' (checked against every backend given as an IP literal; a name resolved later to
     * the other family fails its connects as a local error), {@code vip} needs a VIP listening on
     * one address (not a wildcard), and the range must be 1..65535, low first.
     */
    private BackendSource source(Section s, Optional<HostPort> listen, List<BackendConfig> backends) {
        s.allowKeys(SOURCE_KEYS);
        String expectedAddress = "an IP address, e.g. 198.18.0.10, or vip (the VIP's listen address)";
        Optional<String> text = s.nonEmptyText("address", expectedAddress);
        if (!s.has("address")) {
            s.missing("address", expectedAddress);
            return BackendSource.NONE;
        }
        if (text.isEmpty()) {
            return BackendSource.NONE;
        }
        InetAddress address = null;
        if (text.get().equals("vip")) {
            if (listen.isPresent() && InetAddress.ofLiteral(listen.get().host()).isAnyLocalAddress()) {
                s.error("address", "vip", "an IP address: vip needs a VIP listening on one address, and listen is "
                        + listen.get() + " (every address)");
                return BackendSource.NONE;
            }
        } else if (!Addresses.isIpLiteral(text.get())) {
            s.error("address", Render.quote(text.get()), expectedAddress);
            return BackendSource.NONE;
        } else {
            address = InetAddress.ofLiteral(text.get());
            if (address.isAnyLocalAddress() || address.isMulticastAddress()) {
                s.error("address", Render.quote(text.get()), "a unicast address of one host (not a wildcard or multicast)");
                return BackendSource.NONE;
            }
        }
        InetAddress family = address != null ? address
                : listen.map(l -> InetAddress.ofLiteral(l.host())).orElse(null);
        if (family != null) {
            for (BackendConfig b : backends) {
                String host = b.address().host();
                if (Addresses.isIpLiteral(host)
                        && (InetAddress.ofLiteral(host) instanceof java.net.Inet4Address) != (family instanceof java.net.Inet4Address)) {
                    s.error("address", Render.quote(text.get()), "an address of the backends' family: backend "
                            + b.address() + " is " + (family instanceof java.net.Inet4Address ? "IPv6" : "IPv4")
                            + ", the source " + (family instanceof java.net.Inet4Address ? "IPv4" : "IPv6"));
                    return BackendSource.NONE;
                }
            }
        }
        int low = 0;
        int high = 0;
        if (s.has("ports")) {
            String expectedPorts = "a port range low-high within 1-65535, e.g. \"40000-49999\"";
            Optional<String> ports = s.text("ports", expectedPorts);
            if (ports.isEmpty()) {
                return BackendSource.NONE;
            }
            java.util.regex.Matcher m = PORT_RANGE.matcher(ports.get().strip());
            if (!m.matches() || Integer.parseInt(m.group(1)) < 1 || Integer.parseInt(m.group(2)) > 65_535
                    || Integer.parseInt(m.group(1)) > Integer.parseInt(m.group(2))) {
                s.error("ports", Render.quote(ports.get()), expectedPorts);
                return BackendSource.NONE;
            }
            low = Integer.parseInt(m.group(1));
            high = Integer.parseInt(m.group(2));
        }
        return BackendSource.of(address, low, high);
    }

    /**
     * Each VIP's source port range cut to this node's slice in an HA group
     * ({@link BackendSource#forNode}); a range with fewer ports than nodes is an error.
     */
    private List<VipConfig> sourcePortsForNode(List<VipConfig> vips, Optional<HaConfig> ha) {
        if (ha.isEmpty()) {
            return vips;
        }
        List<String> peers = ha.get().peers().stream().map(HaConfig.Peer::id).toList();
        List<VipConfig> out = new ArrayList<>();
        for (VipConfig v : vips) {
            Optional<BackendSource> mine = v.source().forNode(ha.get().nodeId(), peers);
            if (mine.isEmpty()) {
                Section at = readVips.stream().filter(r -> r.config() == v).findFirst().orElseThrow().section();
                at.child("source").ifPresent(c -> c.error("ports", Render.quote(c.get("ports").textValue()),
                        "at least " + (peers.size() + 1) + " ports: one slice per node of the HA group"));
                out.add(v);
            } else {
                out.add(v.withSource(mine.get()));
            }
        }
        return out;
    }

    /**
     * {@code sni: {routes: [{name, server_names: [...], backends: [...]}], on_malformed, timeout,
     * max_length}}; each route's backends go to {@code routeBackends} (one list per route, in order).
     */
    private SniRouting sni(Section s, List<List<BackendConfig>> routeBackends, DiscoverySettings discovery) {
        s.allowKeys(SNI_KEYS);
        SniRouting d = SniRouting.OFF;
        SniRouting.OnMalformed onMalformed = s.choice("on_malformed", SNI_ON_MALFORMED, d.onMalformed());
        Duration timeout = s.duration("timeout", Duration.ofMillis(10), Duration.ofMinutes(1), "", d.timeout());
        int max = s.integer("max_length", 64, 65_536, " (bytes of ClientHello, record headers included)",
                d.maxLength());
        String expected = "a list of routes, each {name, server_names: [...], backends: [...]}";
        JsonNode list = s.get("routes");
        if (list == null || list.isNull()) {
            s.missing("routes", expected);
            return SniRouting.OFF;
        }
        if (!list.isArray() || list.isEmpty() || list.size() > SniRouting.MAX_ROUTES) {
            s.errorAt("routes", list, list.isArray() ? "1.." + SniRouting.MAX_ROUTES + " routes" : expected);
            return SniRouting.OFF;
        }
        List<SniRouting.Route> routes = new ArrayList<>();
        Map<String, String> namesSeen = new HashMap<>();
        Map<String, String> routeNames = new HashMap<>();
        int[] position = s.positionOf("routes");
        for (int i = 0; i < list.size(); i++) {
            String path = s.pathOf("routes") + "[" + i + "]";
            Optional<Section> r = Section.of(list.get(i), path, Problems.child(position, i), problems, expected);
            if (r.isEmpty()) {
                routeBackends.add(List.of());
                continue;
            }
            Section route = r.get();
            route.allowKeys(SNI_ROUTE_KEYS);
            List<String> serverNames = serverNames(route, namesSeen);
            Optional<String> name = route.text("name", "a route name matching " + NAME.pattern());
            if (name.isPresent() && (!NAME.matcher(name.get()).matches()
                    || name.get().equals(SniRouting.DEFAULT_ROUTE))) {
                route.error("name", Render.quote(name.get()), "a route name matching " + NAME.pattern()
                        + ", not \"" + SniRouting.DEFAULT_ROUTE + "\" (the VIP's own backends)");
                name = Optional.empty();
            }
            String routeName = name.orElse(serverNames.isEmpty() ? "route" + i : serverNames.getFirst());
            String first = routeNames.putIfAbsent(routeName, path);
            if (first != null) {
                route.error("name", Render.quote(routeName), "a unique route name (metrics label); " + first
                        + " has the same" + (name.isEmpty() ? "; set name" : ""));
            }
            Optional<String> service = route.nonEmptyText("service", "the name of a discovered service, e.g. /api#0");
            if (service.isPresent() && !discovery.any()) {
                route.error("service", Render.quote(service.get()), "a service of a discovery source; configure "
                        + "discovery.zookeeper or discovery.marathon first");
            }
            routeBackends.add(service.isPresent() && (!route.has("backends") || emptyList(route.get("backends")))
                    ? List.of() : backends(route));
            routes.add(new SniRouting.Route(routeName, serverNames, service));
        }
        return new SniRouting(routes, onMalformed, timeout, max);
    }

    private List<String> serverNames(Section route, Map<String, String> seen) {
        String expected = "a list of server names, e.g. [api.example.com, \"*.example.org\"]";
        JsonNode list = route.get("server_names");
        if (list == null || list.isNull()) {
            route.missing("server_names", expected);
            return List.of();
        }
        if (!list.isArray() || list.isEmpty()) {
            route.errorAt("server_names", list, list.isArray() ? "at least one server name" : expected);
            return List.of();
        }
        List<String> out = new ArrayList<>();
        int[] position = route.positionOf("server_names");
        for (int i = 0; i < list.size(); i++) {
            JsonNode item = list.get(i);
            String path = route.pathOf("server_names") + "[" + i + "]";
            int[] at = Problems.child(position, i);
            StringBuilder why = new StringBuilder();
            Optional<String> n = item.isTextual() ? SniNames.normalize(item.textValue(), why) : Optional.empty();
            if (n.isEmpty()) {
                problems.add(at, path, Render.node(item), why.isEmpty() ? expected : why.toString());
                continue;
            }
            String first = seen.putIfAbsent(n.get(), path);
            if (first != null) {
                problems.add(at, path, Render.node(item), "each server name in one route only; " + first
                        + " has the same");
                continue;
            }
            out.add(n.get());
        }
        return out;
    }

    /**
     * The VIP's members: its own backends (set 0) and each route's (set {@code i + 1}). A backend
     * in several sets is one member (one check, one set of counters) serving all of them; its
     * settings must then agree.
     */
    private List<BackendConfig> withRouteBackends(Section vip, List<BackendConfig> own,
                                                  List<List<BackendConfig>> routeBackends) {
        Map<String, BackendConfig> merged = new java.util.LinkedHashMap<>();
        Map<String, String> where = new HashMap<>();
        for (int i = 0; i < own.size(); i++) {
            merged.put(Addresses.canonical(own.get(i).address()), own.get(i));
            where.put(Addresses.canonical(own.get(i).address()), vip.pathOf("backends") + "[" + i + "]");
        }
        for (int r = 0; r < routeBackends.size(); r++) {
            List<BackendConfig> list = routeBackends.get(r);
            for (int i = 0; i < list.size(); i++) {
                BackendConfig b = list.get(i);
                String key = Addresses.canonical(b.address());
                BackendConfig was = merged.get(key);
                long bit = SniRouting.bit(r + 1);
                if (was == null) {
                    merged.put(key, new BackendConfig(b.address(), b.weight(), b.locality(), b.priority(), bit));
                    where.put(key, vip.pathOf("sni") + ".routes[" + r + "].backends[" + i + "]");
                } else if (was.weight() != b.weight() || was.priority() != b.priority()
                        || !was.locality().equals(b.locality())) {
                    problems.add(vip.positionOf("sni"), vip.pathOf("sni") + ".routes[" + r + "].backends[" + i + "]",
                            b.address().toString(), "the weight, priority and locality of " + where.get(key)
                                    + ", the same backend in another set (one backend, one setting)");
                } else {
                    merged.put(key, new BackendConfig(b.address(), b.weight(), b.locality(), b.priority(),
                            was.sniSets() | bit));
                }
            }
        }
        return List.copyOf(merged.values());
    }

    /**
     * {@code agent_check: {port, address, interval, timeout, send}}: HAProxy's {@code agent-port},
     * {@code agent-addr} (an IP literal here), {@code agent-inter} (default 2 s, also the default
     * timeout, as in HAProxy) and {@code agent-send}.
     */
    private Optional<AgentCheck> agentCheck(Section s) {
        int before = problems.count();
        s.allowKeys(AGENT_CHECK_KEYS);
        OptionalInt port = s.optionalInteger("port", 1, 65535);
        if (!s.has("port")) {
            s.missing("port", "the agent's TCP port, 1..65535 (HAProxy agent-port)");
        }
        String addressExpected = "an IP address of the agent, e.g. 10.0.0.5 (HAProxy agent-addr; default: the backend's)";
        Optional<String> address = s.nonEmptyText("address", addressExpected);
        if (address.isPresent()) {
            try {
                java.net.InetAddress.ofLiteral(address.get());
            } catch (IllegalArgumentException e) {
                s.errorAt("address", s.get("address"), addressExpected);
            }
        }
        Duration interval = s.duration("interval", Duration.ofMillis(10), Duration.ofHours(1), "",
                AgentCheck.DEFAULT_INTERVAL);
        Duration timeout = s.duration("timeout", Duration.ofMillis(1), Duration.ofMinutes(1), "", interval);
        Optional<String> send = payload(s, "send");
        if (problems.count() != before || port.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new AgentCheck(port.getAsInt(), address, interval, timeout, send));
    }

    /** {@code proxy_protocol_in: {enabled, from: [prefix...], timeout, max_length}}. */
    private ProxyProtocolIn proxyProtocolIn(Section s) {
        s.allowKeys(PROXY_IN_KEYS);
        ProxyProtocolIn d = ProxyProtocolIn.OFF;
        boolean enabled = s.bool("enabled", true);
        List<Cidr> from = prefixes(s, "from", new HashMap<>());
        Duration timeout = s.duration("timeout", Duration.ofMillis(10), Duration.ofMinutes(1), "", d.timeout());
        int max = s.integer("max_length", 232, 65_551, " (bytes of a v2 header, TLVs included)", d.maxLength());
        return new ProxyProtocolIn(enabled, new AccessControl(from, List.of()), timeout, max);
    }

    /** {@code acl: {allow: [prefix...], deny: [prefix...]}}; a prefix in both lists is an error. */
    private AccessControl acl(Section s) {
        s.allowKeys(ACL_KEYS);
        Map<Cidr, String> seen = new HashMap<>();
        List<Cidr> allow = prefixes(s, "allow", seen);
        List<Cidr> deny = prefixes(s, "deny", seen);
        return new AccessControl(allow, deny);
    }

    private List<Cidr> prefixes(Section s, String key, Map<Cidr, String> seen) {
        String expected = "a list of IPv4 or IPv6 prefixes, e.g. [10.0.0.0/8, 192.0.2.7, 2001:db8::/32]";
        JsonNode list = s.get(key);
        if (list == null) {
            return List.of();
        }
        if (!list.isArray()) {
            s.errorAt(key, list, expected);
            return List.of();
        }
        List<Cidr> out = new ArrayList<>(list.size());
        int[] position = s.positionOf(key);
        for (int i = 0; i < list.size(); i++) {
            JsonNode item = list.get(i);
            String path = s.pathOf(key) + "[" + i + "]";
            int[] at = Problems.child(position, i);
            if (!item.isTextual()) {
                problems.add(at, path, Render.node(item), "a prefix such as 10.0.0.0/8 or 2001:db8::/32");
                continue;
            }
            Cidr.Parsed p = Cidr.parse(item.textValue());
            if (p.cidr().isEmpty()) {
                problems.add(at, path, Render.node(item), p.error());
                continue;
            }
            String first = seen.putIfAbsent(p.cidr().get(), path);
            if (first != null) {
                problems.add(at, path, Render.node(item), "each prefix once across allow and deny; "
                        + first + " has the same");
                continue;
            }
            out.add(p.cidr().get());
        }
        return out;
    }

    private List<BackendConfig> backends(Section vip) {
        String expected = "a list of backends, each host:port or a mapping with address and weight";
        JsonNode list = vip.get("backends");
        if (list == null) {
            vip.missing("backends", expected);
            return List.of();
        }
        if (!list.isArray() || list.isEmpty()) {
            vip.errorAt("backends", list, list.isArray() ? "at least one backend" : expected);
            return List.of();
        }
        List<BackendConfig> backends = new ArrayList<>();
        Map<String, String> seen = new HashMap<>();
        int[] position = vip.positionOf("backends");
        for (int i = 0; i < list.size(); i++) {
            JsonNode item = list.get(i);
            String path = vip.pathOf("backends") + "[" + i + "]";
            int[] itemPosition = Problems.child(position, i);
            Optional<BackendConfig> backend = Optional.empty();
            String addressPath = path;
            JsonNode addressNode = item;
            if (item.isTextual()) {
                Addresses.Parsed p = Addresses.parse(item.textValue(), Addresses.HostRule.IP_OR_NAME);
                if (p.address().isEmpty()) {
                    problems.add(itemPosition, path, Render.node(item), p.expected());
                }
                backend = p.address().map(a -> new BackendConfig(a, 1));
            } else if (item.isObject()) {
                Section b = Section.of(item, path, itemPosition, problems, expected).orElseThrow();
                b.allowKeys(BACKEND_KEYS);
                Optional<HostPort> address = address(b, "address", Addresses.HostRule.IP_OR_NAME);
                if (!b.has("address")) {
                    b.missing("address", "host:port, e.g. 10.0.0.5:8080");
                }
                int weight = b.integer("weight", 1, MAX_BACKEND_WEIGHT, 1);
                Locality locality = locality(b);
                int priority = b.integer("priority", 0, BackendConfig.MAX_PRIORITY, ", 0 = primary", 0);
                backend = address.map(a -> new BackendConfig(a, weight, locality, priority));
                addressPath = b.pathOf("address");
                itemPosition = b.positionOf("address");
                addressNode = item.get("address");
            } else {
                problems.add(itemPosition, path, Render.node(item), "host:port or a mapping with address and weight");
            }
            if (backend.isPresent()) {
                String key = Addresses.canonical(backend.get().address());
                String first = seen.putIfAbsent(key, path);
                if (first != null) {
                    problems.add(itemPosition, addressPath, Render.node(addressNode),
                            "a unique backend address; " + first + " has the same");
                }
                backends.add(backend.get());
            }
        }
        return backends;
    }

    private Limits limits(Section s) {
        s.allowKeys(LIMITS_KEYS);
        int max = s.integer("max_connections", 0, 10_000_000, ", 0 = unlimited", 0);
        int perBackend = s.integer("max_connections_per_backend", 0, 10_000_000, ", 0 = unlimited", 0);
        Limits.PerClient perClient = s.child("per_client").map(this::perClient).orElse(Limits.PerClient.NONE);
        return new Limits(max, perBackend, perClient);
    }

    private Limits.PerClient perClient(Section s) {
        s.allowKeys(PER_CLIENT_KEYS);
        Limits.PerClient d = Limits.PerClient.NONE;
        int max = s.integer("max_connections", 0, 10_000_000, ", 0 = unlimited", 0);
        int rate = s.integer("max_rate", 0, 10_000_000, " (new connections per second), 0 = unlimited", 0);
        int v4 = s.integer("ipv4_prefix", 8, 32, "", d.ipv4Prefix());
        int v6 = s.integer("ipv6_prefix", 16, 128, "", d.ipv6Prefix());
        int clients = s.integer("max_clients", 100, 10_000_000, "", d.maxClients());
        if (!s.has("max_connections") && !s.has("max_rate")) {
            s.missing("max_connections", "max_connections or max_rate: per_client without either limits nothing");
        }
        return new Limits.PerClient(max, rate, v4, v6, clients);
    }

    private Timeouts timeouts(Section s) {
        s.allowKeys(TIMEOUTS_KEYS);
        Timeouts d = Timeouts.DEFAULTS;
        Duration connect = s.duration("connect", Duration.ofMillis(1), Duration.ofSeconds(60), "", d.connect());
        Duration idle = s.duration("idle", Duration.ZERO, Duration.ofDays(7), ", 0 = off", d.idle());
        Duration user = s.duration("user_timeout", Duration.ZERO, Duration.ofHours(1), ", 0 = kernel default",
                d.userTimeout());
        return new Timeouts(connect, idle, user);
    }

    private static boolean emptyList(JsonNode n) {
        return n == null || n.isNull() || (n.isArray() && n.isEmpty());
    }

    /** Reads a health check; {@code trusted[0]} receives its {@code initial_state}. */
    private Optional<HealthCheckSpec> healthCheck(Section s, boolean[] trusted) {
        int before = problems.count();
        trusted[0] = s.choice("initial_state", orderedMap("pending", false, "trusted", true), false);
        Optional<String> type = s.requiredChoice("type", CHECK_TYPES);
        List<String> allowed = new ArrayList<>(CHECK_COMMON_KEYS);
        if (type.isPresent()) {
            allowed.addAll(CHECK_TYPE_KEYS.get(type.get()));
            s.allowKeys(allowed, key -> otherTypes(type.get(), key));
        } else {
            CHECK_TYPE_KEYS.values().forEach(keys -> keys.stream().filter(k -> !allowed.contains(k)).forEach(allowed::add));
            s.allowKeys(allowed);
        }
        OptionalInt port = s.optionalInteger("port", 1, 65535);
        CheckTiming d = CheckTiming.DEFAULTS;
        Duration min = Duration.ofMillis(10);
        Duration hour = Duration.ofHours(1);
        CheckTiming timing = new CheckTiming(
                s.duration("interval", min, hour, "", d.interval()),
                s.duration("timeout", Duration.ofMillis(1), Duration.ofMinutes(1), "", d.timeout()),
                s.integer("rise", 1, 100, d.rise()),
                s.integer("fall", 1, 100, d.fall()),
                s.number("jitter", 0, 0.5, d.jitter()),
                s.duration("fast_interval", min, hour, "", d.fastInterval()),
                s.duration("down_interval", min, hour, "", d.downInterval()),
                watch(s, type.orElse("")));
        if (type.isEmpty()) {
            return Optional.empty();
        }
        HealthCheckSpec spec = switch (type.get()) {
            case "tcp" -> new HealthCheckSpec.Tcp(timing, port);
            case "http" -> http(s, timing, port);
            case "send-expect" -> sendExpect(s, timing, port);
            case "udp" -> udp(s, timing, port);
            default -> throw new IllegalStateException("type: " + type.get());
        };
        return problems.count() == before ? Optional.of(spec) : Optional.empty();
    }

    /** {@code watch: true | false | auto} (auto: on for tcp checks). */
    private static CheckTiming.Watch watch(Section s, String type) {
        JsonNode n = s.get("watch");
        if (n == null) {
            return CheckTiming.Watch.AUTO;
        }
        CheckTiming.Watch w;
        if (n.isBoolean()) {
            w = n.booleanValue() ? CheckTiming.Watch.ON : CheckTiming.Watch.OFF;
        } else if (n.isTextual() && n.textValue().equals("auto")) {
            w = CheckTiming.Watch.AUTO;
        } else {
            s.errorAt("watch", n, "true, false or auto");
            return CheckTiming.Watch.AUTO;
        }
        if (w == CheckTiming.Watch.ON && type.equals("udp")) {
            s.errorAt("watch", n, "false or auto for a udp check (it has no connection to hold open)");
        }
        return w;
    }

    private static String otherTypes(String type, String key) {
        List<String> owners = new ArrayList<>();
        CHECK_TYPE_KEYS.forEach((t, keys) -> {
            if (!t.equals(type) && keys.contains(key)) {
                owners.add(t);
            }
        });
        return owners.isEmpty() ? null : key + " is for " + String.join(" and ", owners) + " checks";
    }

    private HealthCheckSpec.Http http(Section s, CheckTiming timing, OptionalInt port) {
        boolean tls = s.bool("tls", false);
        String method = s.choice("method", METHODS, "GET");
        String pathExpected = "a request path starting with / and without spaces";
        String path = s.text("path", pathExpected).orElse("/");
        if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
            s.errorAt("path", s.get("path"), pathExpected);
        }
        // Netty writes header values as ASCII: anything else would be sent as '?'.
        String hostExpected = "a Host header value of visible ASCII characters, without spaces";
        Optional<String> host = s.nonEmptyText("host", hostExpected);
        if (host.isPresent() && !VISIBLE_ASCII.matcher(host.get()).matches()) {
            s.errorAt("host", s.get("host"), hostExpected);
        }
        int[] status = expectStatus(s);
        Optional<String> body = s.nonEmptyText("body_contains", "non-empty text to find in the response body");
        return new HealthCheckSpec.Http(timing, port, tls, method, path, host, status[0], status[1], body);
    }

    private static int[] expectStatus(Section s) {
        JsonNode n = s.get("expect_status");
        if (n == null) {
            return new int[] {200, 399};
        }
        String text = n.isIntegralNumber() ? n.asText() : n.isTextual() ? n.textValue() : "";
        var m = STATUS.matcher(text);
        if (m.matches()) {
            int lo = Integer.parseInt(m.group(1));
            int hi = m.group(2) == null ? lo : Integer.parseInt(m.group(2));
            if (lo >= 100 && hi <= 599 && lo <= hi) {
                return new int[] {lo, hi};
            }
        }
        s.errorAt("expect_status", n, "a status such as 200 or a range such as 200-399, within 100..599");
        return new int[] {200, 399};
    }

    private HealthCheckSpec.SendExpect sendExpect(Section s, CheckTiming timing, OptionalInt port) {
        Optional<String> send = payload(s, "send");
        boolean regex = s.bool("regex", false);
        String expected = regex ? "a non-empty regular expression" : "non-empty " + CheckPayloads.ESCAPES;
        String expect = "";
        if (!s.has("expect")) {
            s.missing("expect", expected);
        } else if (regex) {
            Optional<String> text = s.nonEmptyText("expect", expected);
            if (text.isPresent()) {
                expect = CheckPayloads.raw(text.get());
                try {
                    Pattern.compile(expect);
                } catch (PatternSyntaxException e) {
                    s.errorAt("expect", s.get("expect"), "a valid regular expression; " + e.getDescription()
                            + " at index " + e.getIndex());
                }
            }
        } else {
            expect = payload(s, "expect").orElse("");
            if (expect.isEmpty() && s.get("expect").isTextual() && s.get("expect").textValue().isEmpty()) {
                s.errorAt("expect", s.get("expect"), expected);
            }
            if (expect.length() > MAX_TCP_EXPECT) {
                s.error("expect", expect.length() + " bytes", "at most " + MAX_TCP_EXPECT
                        + " bytes; the check reads no more of the reply");
            }
        }
        return new HealthCheckSpec.SendExpect(timing, port, send, expect, regex);
    }

    private HealthCheckSpec.Udp udp(Section s, CheckTiming timing, OptionalInt port) {
        Optional<String> send = payload(s, "send");
        if (!s.has("send")) {
            s.missing("send", "the datagram to send, " + CheckPayloads.ESCAPES);
        }
        if (send.isPresent() && send.get().length() > MAX_UDP_PAYLOAD) {
            s.error("send", send.get().length() + " bytes", "at most " + MAX_UDP_PAYLOAD
                    + " bytes, the largest UDP datagram");
        }
        // An empty expect means the same as none: any reply passes.
        Optional<String> expect = payload(s, "expect").filter(e -> !e.isEmpty());
        if (expect.isPresent() && expect.get().length() > MAX_UDP_EXPECT) {
            s.error("expect", expect.get().length() + " bytes", "at most " + MAX_UDP_EXPECT
                    + " bytes; the check reads no more of a reply");
        }
        return new HealthCheckSpec.Udp(timing, port, send.orElse(""), expect);
    }

    private static Optional<String> payload(Section s, String key) {
        Optional<String> text = s.text(key, CheckPayloads.ESCAPES);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        String decoded = CheckPayloads.decode(text.get());
        if (decoded == null) {
            s.errorAt(key, s.get(key), CheckPayloads.ESCAPES);
            return Optional.empty();
        }
        return Optional.of(decoded);
    }

    /** The required ZooKeeper connect string at {@code connect}; empty when absent or bad (bad is reported). */
    private static Optional<String> zkConnect(Section s) {
        String expected = "a ZooKeeper connect string host[:port][,host[:port]...][/chroot], e.g. zk1:2181,zk2:2181";
        Optional<String> connect = s.nonEmptyText("connect", expected);
        if (!s.has("connect")) {
            s.missing("connect", expected);
        }
        if (connect.isPresent() && !isZkConnect(connect.get())) {
            s.errorAt("connect", s.get("connect"), expected);
            return Optional.empty();
        }
        return connect;
    }

    /** What the discovery source and Curator accept: servers with optional ports 1..65535, then a chroot. */
    static boolean isZkConnect(String connect) {
        int slash = connect.indexOf('/');
        String servers = slash < 0 ? connect : connect.substring(0, slash);
        if (servers.isBlank() || (slash >= 0 && !ZNODE_PATH.matcher(connect.substring(slash)).matches())) {
            return false;
        }
        for (String server : servers.split(",", -1)) {
            var m = ZK_SERVER.matcher(server.strip());
            if (!m.matches() || (m.group(2) != null
                    && (Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65535))) {
                return false;
            }
        }
        return true;
    }

    /** What the Marathon source accepts: http(s), a host, no query or fragment. */
    private static boolean isBaseUrl(String text) {
        try {
            java.net.URI u = new java.net.URI(TRAILING_SLASHES.matcher(text).replaceAll(""));
            return ("http".equals(u.getScheme()) || "https".equals(u.getScheme())) && u.getHost() != null
                    && u.getRawQuery() == null && u.getRawFragment() == null;
        } catch (java.net.URISyntaxException e) {
            return false;
        }
    }

    /** An IPv4 block a.b.c.d/8../30 whose host bits are zero, as the named-VIP allocator requires. */
    private static boolean isIpv4Block(String block) {
        var m = IPV4_BLOCK.matcher(block);
        if (!m.matches() || !Addresses.isIpLiteral(m.group(1)) || m.group(1).indexOf(':') >= 0) {
            return false;
        }
        int prefix = Integer.parseInt(m.group(2));
        if (prefix < 8 || prefix > 30) {
            return false;
        }
        long address = 0;
        for (String octet : m.group(1).split("\\.")) {
            address = (address << 8) | Integer.parseInt(octet);
        }
        return (address & ((1L << (32 - prefix)) - 1)) == 0;
    }

    /**
     * A name Linux accepts for a network device ({@code dev_valid_name}): 1..15 bytes, not
     * {@code .} or {@code ..}, no '/', ':' or whitespace; control characters refused too. It
     * also becomes a path under {@code /sys/class/net}, so '/' and ".." matter twice.
     */
    static boolean isInterfaceName(String name) {
        int bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes < 1 || bytes > MAX_INTERFACE_NAME_BYTES || name.equals(".") || name.equals("..")) {
            return false;
        }
        return name.chars().noneMatch(c -> c == '/' || c == ':' || Character.isWhitespace(c)
                || Character.isISOControl(c) || Character.isSpaceChar(c));
    }

    /** A file path (no NUL byte, which no file name can hold); empty when absent or bad (bad is reported). */
    private static Optional<String> filePath(Section s, String key, String expected) {
        Optional<String> text = s.nonEmptyText(key, expected);
        if (text.isPresent() && text.get().indexOf('\0') >= 0) {
            s.errorAt(key, s.get(key), expected + " without NUL characters");
            return Optional.empty();
        }
        return text;
    }

    /** Records an HA address once; a second spelling of the same address is an error. */
    private boolean uniqueAddress(String address, String path, Map<String, String> seen, int[] position,
                                  JsonNode node) {
        String canonical = java.net.InetAddress.ofLiteral(address).getHostAddress();
        String first = seen.putIfAbsent(canonical, path);
        if (first != null) {
            problems.add(position, path, Render.node(node), "each address once; " + first + " has the same");
            return false;
        }
        return true;
    }

    /** A host:port string at {@code key}; empty when absent or bad (bad is reported). */
    private static Optional<HostPort> address(Section s, String key, Addresses.HostRule rule) {
        String example = rule == Addresses.HostRule.IP_LITERAL ? "127.0.0.1:8080" : "10.0.0.5:8080";
        Optional<String> text = s.text(key, "host:port, e.g. " + example);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        Addresses.Parsed p = Addresses.parse(text.get(), rule);
        if (p.address().isEmpty()) {
            s.errorAt(key, s.get(key), p.expected());
        }
        return p.address();
    }

    private static Map<String, PolicyKind> policies() {
        Map<String, PolicyKind> m = new LinkedHashMap<>();
        for (PolicyKind p : PolicyKind.values()) {
            m.put(p.configName(), p);
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    private static <V> Map<String, V> orderedMap(Object... keysAndValues) {
        Map<String, V> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], (V) keysAndValues[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

}
