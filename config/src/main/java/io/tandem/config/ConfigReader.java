package io.tandem.config;

import com.fasterxml.jackson.databind.JsonNode;
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
    static final List<String> ROOT_KEYS = List.of("runtime", "admin", "vips");
    static final List<String> RUNTIME_KEYS = List.of("event_loops", "transport", "drain_timeout");
    static final List<String> ADMIN_KEYS = List.of("enabled", "listen", "token");
    static final List<String> VIP_KEYS = List.of("name", "listen", "protocol", "policy", "retries",
            "proxy_protocol", "relay", "backends", "limits", "timeouts", "health_check");
    static final List<String> BACKEND_KEYS = List.of("address", "weight");
    static final List<String> LIMITS_KEYS = List.of("max_connections", "max_connections_per_backend");
    static final List<String> TIMEOUTS_KEYS = List.of("connect", "idle", "user_timeout");
    static final List<String> CHECK_COMMON_KEYS = List.of("type", "port", "interval", "timeout", "rise",
            "fall", "jitter", "fast_interval", "down_interval");
    static final Map<String, List<String>> CHECK_TYPE_KEYS = orderedMap(
            "tcp", List.of(),
            "http", List.of("tls", "method", "path", "host", "expect_status", "body_contains"),
            "send-expect", List.of("send", "expect", "regex"),
            "udp", List.of("send", "expect"));

    static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final Pattern STATUS = Pattern.compile("(\\d{3})(?:-(\\d{3}))?");
    static final int MAX_BACKEND_WEIGHT = 1000;

    private static final Map<String, TransportKind> TRANSPORTS = orderedMap(
            "auto", TransportKind.AUTO, "epoll", TransportKind.EPOLL, "nio", TransportKind.NIO);
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

    private ConfigReader() {
    }

    static ConfigResult read(JsonNode root, String sourceName) {
        return new ConfigReader().readRoot(root, sourceName);
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
        RuntimeSettings runtime = s.child("runtime").map(this::runtime).orElse(RuntimeSettings.DEFAULTS);
        AdminSettings admin = s.child("admin").map(this::admin).orElse(AdminSettings.DEFAULTS);
        List<VipConfig> vips = vips(s);
        if (problems.count() > 0) {
            return result(null);
        }
        return result(new TandemConfig(runtime, admin, vips));
    }

    private ConfigResult result(TandemConfig config) {
        return problems.count() == 0 ? new ConfigResult.Valid(config) : new ConfigResult.Invalid(problems.sorted());
    }

    private RuntimeSettings runtime(Section s) {
        s.allowKeys(RUNTIME_KEYS);
        RuntimeSettings d = RuntimeSettings.DEFAULTS;
        int loops = s.integer("event_loops", 0, 256, ", 0 = one per core", d.eventLoops());
        TransportKind transport = s.choice("transport", TRANSPORTS, d.transport());
        Duration drain = s.duration("drain_timeout", Duration.ZERO, Duration.ofHours(1), "", d.drainTimeout());
        return new RuntimeSettings(loops, transport, drain);
    }

    private AdminSettings admin(Section s) {
        s.allowKeys(ADMIN_KEYS);
        AdminSettings d = AdminSettings.DEFAULTS;
        boolean enabled = s.bool("enabled", d.enabled());
        HostPort listen = address(s, "listen", Addresses.HostRule.IP_OR_NAME).orElse(d.listen());
        Optional<String> token = s.nonEmptyText("token", "a non-empty bearer token");
        if (enabled && token.isEmpty() && !s.has("token") && !Addresses.isLoopback(listen.host())) {
            s.missing("token", "a bearer token because admin.listen " + listen + " is not a loopback address");
        }
        return new AdminSettings(enabled, listen, token);
    }

    private List<VipConfig> vips(Section root) {
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
                vip(vip.get(), names, listens).ifPresent(vips::add);
            }
        }
        return vips;
    }

    private Optional<VipConfig> vip(Section s, Map<String, String> names, Map<String, String> listens) {
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
        List<BackendConfig> backends = backends(s);
        Limits limits = s.child("limits").map(this::limits).orElse(Limits.UNLIMITED);
        Timeouts timeouts = s.child("timeouts").map(this::timeouts).orElse(Timeouts.DEFAULTS);
        Optional<HealthCheckSpec> check = s.child("health_check").flatMap(this::healthCheck);
        if (problems.count() != before) {
            return Optional.empty();
        }
        return Optional.of(new VipConfig(name.orElseThrow(), listen.orElseThrow(), protocol, policy, backends,
                limits, timeouts, retries, proxyProtocol, relay, check));
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
                backend = address.map(a -> new BackendConfig(a, weight));
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
        return new Limits(max, perBackend);
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

    private Optional<HealthCheckSpec> healthCheck(Section s) {
        int before = problems.count();
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
                s.duration("down_interval", min, hour, "", d.downInterval()));
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
        if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ')) {
            s.errorAt("path", s.get("path"), pathExpected);
        }
        String hostExpected = "a Host header value without spaces";
        Optional<String> host = s.nonEmptyText("host", hostExpected);
        if (host.isPresent() && host.get().chars().anyMatch(c -> c <= ' ')) {
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
        }
        return new HealthCheckSpec.SendExpect(timing, port, send, expect, regex);
    }

    private HealthCheckSpec.Udp udp(Section s, CheckTiming timing, OptionalInt port) {
        Optional<String> send = payload(s, "send");
        if (!s.has("send")) {
            s.missing("send", "the datagram to send, " + CheckPayloads.ESCAPES);
        }
        // An empty expect means the same as none: any reply passes.
        Optional<String> expect = payload(s, "expect").filter(e -> !e.isEmpty());
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
