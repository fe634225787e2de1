package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tandem.config.HostPort;
import io.tandem.config.Protocol;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Turns Marathon REST/event JSON into {@link MarathonApp}/{@link MarathonTask}, tolerating
 * anything it can: a broken app, task, port or label is dropped (counted, warned) on its own and
 * the rest is kept. Only a response without an {@code apps} array fails as a whole.
 */
final class AppParser {

    private final Drops drops;

    AppParser(Drops drops) {
        this.drops = requireNonNull(drops, "drops");
    }

    /** {@code GET /v2/apps?embed=apps.tasks}: every parseable app by id. */
    Map<String, MarathonApp> parseApps(JsonNode root) {
        JsonNode arr = root == null ? null : root.get("apps");
        if (arr == null || !arr.isArray()) {
            throw new IllegalArgumentException("apps: " + (arr == null ? "missing" : arr.getNodeType())
                    + " (expected an array in the /v2/apps response)");
        }
        Map<String, MarathonApp> out = new LinkedHashMap<>();
        for (JsonNode n : arr) {
            parseAppEntry(n).ifPresent(a -> out.put(a.id(), a));
        }
        return out;
    }

    /** One app object, or empty (dropped) when it is unusable. */
    Optional<MarathonApp> parseAppEntry(JsonNode n) {
        try {
            return Optional.of(parseApp(n));
        } catch (IllegalArgumentException e) {
            drops.drop("app", n == null ? "?" : n.path("id").asText("?"), e.getMessage());
            return Optional.empty();
        }
    }

    MarathonApp parseApp(JsonNode n) {
        if (n == null || !n.isObject()) {
            throw new IllegalArgumentException("app: " + n + " (expected an object)");
        }
        String id = requiredText(n, "id");
        if (!id.startsWith("/")) {
            throw new IllegalArgumentException("id: \"" + id + "\" (expected an absolute app id such as /orders)");
        }
        NetworkMode mode = networkMode(n);
        List<AppPort> ports = ports(n, id, mode);
        Map<String, String> labels = labels(n.get("labels"), id);
        List<MarathonHealthCheck> checks = healthChecks(n.get("healthChecks"), id);
        Map<String, MarathonTask> tasks = new HashMap<>();
        JsonNode ts = n.get("tasks");
        if (ts != null && ts.isArray()) {
            for (JsonNode t : ts) {
                try {
                    MarathonTask task = parseTask(t, id, mode, ports);
                    if (task.state().kind() != TaskState.Kind.TERMINAL) {
                        tasks.put(task.id(), task);
                    }
                } catch (IllegalArgumentException e) {
                    drops.drop("task", id + " " + t.path("id").asText("?"), e.getMessage());
                }
            }
        }
        ObjectNode definition = ((ObjectNode) n).deepCopy();
        definition.remove("tasks");
        return new MarathonApp(id, mode, ports, tasks, labels, checks, definition);
    }

    /** App labels; a label whose value is not a string is dropped alone. */
    private Map<String, String> labels(JsonNode labels, String appId) {
        if (labels == null || labels.isNull()) {
            return Map.of();
        }
        if (!labels.isObject()) {
            drops.drop("label", appId, "labels: " + labels.getNodeType() + " (expected an object of strings)");
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : labels.properties()) {
            if (e.getValue().isTextual()) {
                out.put(e.getKey(), e.getValue().textValue());
            } else {
                drops.drop("label", appId + " " + e.getKey(), e.getKey() + ": " + e.getValue() + " (expected a string)");
            }
        }
        return out;
    }

    /** Marathon {@code healthChecks}, defaults filled in; a malformed entry is dropped alone. */
    private List<MarathonHealthCheck> healthChecks(JsonNode arr, String appId) {
        if (arr == null || !arr.isArray()) {
            return List.of();
        }
        List<MarathonHealthCheck> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            try {
                out.add(healthCheck(arr.get(i)));
            } catch (IllegalArgumentException e) {
                drops.drop("health-check", appId + " healthChecks[" + i + "]", e.getMessage());
            }
        }
        return out;
    }

    static MarathonHealthCheck healthCheck(JsonNode c) {
        if (c == null || !c.isObject()) {
            throw new IllegalArgumentException("healthCheck: " + c + " (expected an object)");
        }
        String protocolText = c.path("protocol").asText("HTTP").toUpperCase(Locale.ROOT);
        String protocol = MarathonHealthCheck.validProtocol(protocolText).orElseThrow(() -> new IllegalArgumentException(
                "protocol: \"" + protocolText + "\" (expected HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS or "
                        + "MESOS_TCP)"));
        int portIndex = nonNegative(c, "portIndex", 0, 1024);
        OptionalInt port = OptionalInt.empty();
        if (c.hasNonNull("port") && c.get("port").asInt(0) != 0) {
            int p = c.get("port").asInt(-1);
            if (!c.get("port").canConvertToInt() || p < 1 || p > 65535) {
                throw new IllegalArgumentException("port: " + c.get("port") + " (expected 1..65535)");
            }
            port = OptionalInt.of(p);
        }
        String path = c.path("path").isTextual() ? c.get("path").textValue() : "/";
        if (!path.startsWith("/") || path.chars().anyMatch(ch -> ch <= ' ' || ch >= 0x7f)) {
            throw new IllegalArgumentException("path: \"" + path + "\" (expected a request path starting with /, "
                    + "visible ASCII without spaces)");
        }
        return new MarathonHealthCheck(protocol, portIndex, port, path,
                Duration.ofSeconds(nonNegative(c, "intervalSeconds", 60, 86_400)),
                Duration.ofSeconds(nonNegative(c, "timeoutSeconds", 20, 86_400)),
                Duration.ofSeconds(nonNegative(c, "gracePeriodSeconds", 300, 86_400 * 7)),
                nonNegative(c, "maxConsecutiveFailures", 3, 1_000_000));
    }

    private static int nonNegative(JsonNode c, String field, int defaultValue, int max) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0 || v.asInt() > max) {
            throw new IllegalArgumentException(field + ": " + v + " (expected an integer 0.." + max + ")");
        }
        return v.asInt();
    }

    static NetworkMode networkMode(JsonNode app) {
        JsonNode networks = app.get("networks");
        if (networks != null && networks.isArray() && !networks.isEmpty()) {
            String mode = networks.get(0).path("mode").asText("");
            return switch (mode) {
                case "host" -> NetworkMode.HOST;
                case "container/bridge" -> NetworkMode.BRIDGE;
                case "container" -> NetworkMode.CONTAINER;
                default -> throw new IllegalArgumentException("networks[0].mode: \"" + mode
                        + "\" (expected host, container/bridge or container)");
            };
        }
        String docker = app.path("container").path("docker").path("network").asText("");
        switch (docker.toUpperCase(Locale.ROOT)) {
            case "BRIDGE":
                return NetworkMode.BRIDGE;
            case "USER":
                return NetworkMode.CONTAINER;
            default:
                break;
        }
        JsonNode ipAddress = app.get("ipAddress");
        if (ipAddress != null && ipAddress.isObject()) {
            return NetworkMode.CONTAINER; // deprecated IP-per-task
        }
        return NetworkMode.HOST;
    }

    private List<AppPort> ports(JsonNode app, String appId, NetworkMode mode) {
        JsonNode arr;
        String portField = "containerPort";
        String serviceField = "servicePort";
        if (mode == NetworkMode.HOST) {
            arr = app.get("portDefinitions");
            serviceField = "port";
            if (arr == null || !arr.isArray()) {
                return legacyPorts(app.get("ports"));
            }
        } else {
            arr = app.path("container").get("portMappings");
            if (arr == null || !arr.isArray() || arr.isEmpty()) {
                arr = app.path("container").path("docker").get("portMappings");
            }
            if ((arr == null || !arr.isArray() || arr.isEmpty()) && mode == NetworkMode.CONTAINER) {
                arr = app.path("ipAddress").path("discovery").get("ports");
                portField = "number";
                serviceField = null; // IP-per-task: no service port
            }
        }
        if (arr == null || !arr.isArray()) {
            return List.of();
        }
        List<AppPort> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode p = arr.get(i);
            try {
                Set<Protocol> protocols = protocols(p.path("protocol").asText("tcp"));
                int containerPort = p.path(portField).asInt(0);
                int servicePort = serviceField == null ? 0 : p.path(serviceField).asInt(0);
                if (servicePort < 0 || servicePort > 65535) {
                    throw new IllegalArgumentException(serviceField + ": " + servicePort + " (expected 0..65535)");
                }
                out.add(new AppPort(i, protocols, containerPort, servicePort, vipLabels(p.get("labels"), appId, i)));
            } catch (IllegalArgumentException e) {
                drops.drop("port", appId + "#" + i, e.getMessage());
            }
        }
        return out;
    }

    private static List<AppPort> legacyPorts(JsonNode ports) {
        if (ports == null || !ports.isArray()) {
            return List.of();
        }
        List<AppPort> out = new ArrayList<>();
        for (int i = 0; i < ports.size(); i++) {
            int servicePort = ports.get(i).asInt(0);
            out.add(new AppPort(i, Set.of(Protocol.TCP), 0, servicePort >= 0 && servicePort <= 65535 ? servicePort : 0,
                    List.of()));
        }
        return out;
    }

    static Set<Protocol> protocols(String text) {
        Set<Protocol> out = EnumSet.noneOf(Protocol.class);
        for (String part : text.split(",")) {
            switch (part.trim().toLowerCase(Locale.ROOT)) {
                case "tcp" -> out.add(Protocol.TCP);
                case "udp" -> out.add(Protocol.UDP);
                default -> throw new IllegalArgumentException("protocol: \"" + text + "\" (expected tcp, udp or udp,tcp)");
            }
        }
        return out;
    }

    private List<VipLabel> vipLabels(JsonNode labels, String appId, int index) {
        if (labels == null || !labels.isObject()) {
            return List.of();
        }
        List<VipLabel> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = labels.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!VipLabel.isVipKey(e.getKey())) {
                continue;
            }
            try {
                if (!e.getValue().isTextual()) {
                    throw new IllegalArgumentException(e.getKey() + ": " + e.getValue() + " (expected a string)");
                }
                out.add(VipLabel.parse(e.getKey(), e.getValue().asText()));
            } catch (IllegalArgumentException ex) {
                drops.drop("vip-label", appId + "#" + index, ex.getMessage());
            }
        }
        return out;
    }

    MarathonTask parseTask(JsonNode t, String appId, NetworkMode mode, List<AppPort> ports) {
        if (t == null || !t.isObject()) {
            throw new IllegalArgumentException("task: " + t + " (expected an object)");
        }
        String id = requiredText(t, "id");
        String stateText = t.path("state").asText(null);
        TaskState state = TaskState.parse(stateText).orElseThrow(() -> new IllegalArgumentException(
                "state: " + stateText + " (expected a Mesos TaskState such as TASK_RUNNING)"));
        Optional<Boolean> healthy = Optional.empty();
        String instanceId = MarathonTask.instanceIdOf(id);
        JsonNode hcr = t.get("healthCheckResults");
        if (hcr != null && hcr.isArray() && !hcr.isEmpty()) {
            boolean allAlive = true;
            boolean anyDead = false;
            for (JsonNode r : hcr) {
                JsonNode alive = r.get("alive");
                if (alive != null && alive.isBoolean() && !alive.booleanValue()) {
                    anyDead = true;
                } else if (alive == null || !alive.isBoolean()) {
                    allAlive = false;
                }
                if (r.path("instanceId").isTextual()) {
                    instanceId = r.get("instanceId").asText();
                }
            }
            healthy = anyDead ? Optional.of(false) : allAlive ? Optional.of(true) : Optional.empty();
        }
        // Mesos fault domain of the agent (Marathon >= 1.6, TaskConversion: agentInfo.region/zone).
        io.tandem.config.Locality locality = io.tandem.config.Locality.of(t.path("region").textValue(),
                t.path("zone").textValue());
        return build(appId, id, instanceId, state, healthy, locality, t.path("host").asText(""),
                intList(t.get("ports"), "ports"), ipList(t.get("ipAddresses")), mode, ports);
    }

    /** A task patched from a {@code status_update_event}; fields the event lacks come from {@code prev}. */
    MarathonTask fromStatusEvent(JsonNode ev, MarathonApp app, TaskState state, Optional<MarathonTask> prev) {
        String id = requiredText(ev, "taskId");
        String host = ev.path("host").isTextual() ? ev.get("host").asText() : prev.map(MarathonTask::host).orElse("");
        List<Integer> ports = ev.has("ports") ? intList(ev.get("ports"), "ports")
                : prev.map(MarathonTask::ports).orElse(List.of());
        List<String> ips = ev.has("ipAddresses") ? ipList(ev.get("ipAddresses"))
                : prev.map(MarathonTask::ipAddresses).orElse(List.of());
        return build(app.id(), id, prev.map(MarathonTask::instanceId).orElse(MarathonTask.instanceIdOf(id)), state,
                prev.flatMap(MarathonTask::healthy),
                prev.map(MarathonTask::locality).orElse(io.tandem.config.Locality.UNKNOWN), host, ports, ips,
                app.mode(), app.ports());
    }

    private MarathonTask build(String appId, String id, String instanceId, TaskState state,
                               Optional<Boolean> healthy, io.tandem.config.Locality locality, String host,
                               List<Integer> taskPorts, List<String> ips, NetworkMode mode, List<AppPort> ports) {
        Map<Integer, HostPort> backends = new HashMap<>();
        TaskState.Kind kind = state.kind();
        if (kind != TaskState.Kind.PENDING && kind != TaskState.Kind.TERMINAL) {
            for (AppPort p : ports) {
                int i = p.index();
                String problem = null;
                HostPort hp = null;
                if (mode == NetworkMode.CONTAINER) {
                    if (ips.isEmpty()) {
                        problem = "ipAddresses: [] (expected the task IP in container network mode)";
                    } else if (p.containerPort() <= 0 || p.containerPort() > 65535) {
                        problem = "containerPort: " + p.containerPort() + " (expected 1..65535 at port index " + i + ")";
                    } else {
                        hp = HostPort.of(ips.get(0), p.containerPort());
                    }
                } else if (host.isBlank() || host.equals("unknown")) {
                    problem = "host: \"" + host + "\" (expected the agent host)";
                } else if (i >= taskPorts.size() || taskPorts.get(i) <= 0 || taskPorts.get(i) > 65535) {
                    problem = "ports: " + taskPorts + " (expected a host port at index " + i + ")";
                } else {
                    hp = HostPort.of(host, taskPorts.get(i));
                }
                if (problem != null) {
                    drops.drop("task-port", appId + " " + id + " #" + i, problem);
                } else {
                    backends.put(i, hp);
                }
            }
        }
        return new MarathonTask(id, instanceId, state, healthy, locality, backends, host, taskPorts, ips);
    }

    static String requiredText(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) {
            throw new IllegalArgumentException(field + ": " + v + " (expected a non-empty string)");
        }
        return v.asText();
    }

    private static List<Integer> intList(JsonNode arr, String field) {
        if (arr == null || arr.isNull()) {
            return List.of();
        }
        if (!arr.isArray()) {
            throw new IllegalArgumentException(field + ": " + arr + " (expected an array of ports)");
        }
        List<Integer> out = new ArrayList<>(arr.size());
        for (JsonNode p : arr) {
            if (!p.canConvertToInt()) {
                throw new IllegalArgumentException(field + ": " + arr + " (expected an array of ports)");
            }
            out.add(p.asInt());
        }
        return out;
    }

    private static List<String> ipList(JsonNode arr) {
        if (arr == null || !arr.isArray()) {
            return List.of();
        }
        List<String> out = new ArrayList<>(arr.size());
        for (JsonNode a : arr) {
            if (a.path("ipAddress").isTextual() && !a.get("ipAddress").asText().isBlank()) {
                out.add(a.get("ipAddress").asText());
            }
        }
        return out;
    }
}
