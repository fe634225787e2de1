package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Marathon-LB's layer-4 model read from an app's labels: which of its ports this node serves
 * (HAPROXY_GROUP / HAPROXY_n_GROUP against the node's groups, HAPROXY_n_ENABLED, strict mode), on
 * which address and port (the service port, HAPROXY_n_PORT, HAPROXY_n_BIND_ADDR) and with which
 * policy (HAPROXY_n_BALANCE). Every other HAPROXY_* label Marathon-LB knows is answered with a
 * note saying why it does not apply at L4 — never dropped silently. {@link #LABELS} is the table
 * docs/migrating-from-marathon-lb.md prints, label by label. Pure: no I/O, no clock.
 */
final class MarathonLb {

    /** How a label is handled. */
    enum Handling {
        /** Read and applied. */
        MAPPED,
        /** Meaningless for a layer-4 balancer (HTTP routing, TLS, HAProxy templates): noted per app. */
        NOT_APPLICABLE,
        /** Meaningful at L4 but not in Tandem yet: noted per app. */
        NOT_SUPPORTED
    }

    /** One row of the label table: the label's name (per port: without the {@code HAPROXY_n_} prefix). */
    record Label(String name, boolean perPort, Handling handling, String what) {
    }

    /** The node's side of the match (config {@code discovery.marathon}). */
    record Settings(Set<String> groups, String bindAddress, boolean strictMode) {
        Settings {
            groups = Set.copyOf(requireNonNull(groups, "groups"));
            requireNonNull(bindAddress, "bindAddress");
        }

        boolean enabled() {
            return !groups.isEmpty();
        }
    }

    /**
     * One app port this node serves.
     *
     * @param bindAddress     where to listen (the node's bind address or HAPROXY_n_BIND_ADDR)
     * @param listenPort      HAPROXY_n_PORT, else the service port
     * @param deploymentGroup HAPROXY_DEPLOYMENT_GROUP: apps of one group share the port
     */
    record Port(int index, String bindAddress, int listenPort, Set<Protocol> protocols, PolicyKind policy,
                Optional<String> deploymentGroup) {
        Port {
            requireNonNull(bindAddress, "bindAddress");
            protocols = Set.copyOf(requireNonNull(protocols, "protocols"));
            requireNonNull(policy, "policy");
            requireNonNull(deploymentGroup, "deploymentGroup");
        }
    }

    /** What the node serves of one app, and the notes about the labels it could not honour. */
    record Plan(List<Port> ports, List<String> notes) {
        static final Plan NONE = new Plan(List.of(), List.of());

        Plan {
            ports = List.copyOf(ports);
            notes = List.copyOf(notes);
        }
    }

    private static final String L7 = "not applicable at L4: ";
    private static final String TEMPLATE = L7 + "an HAProxy config template";

    /** Every label marathon-lb 1.x reads (config.py {@code labels}, templates included), in its order. */
    static final List<Label> LABELS = List.of(
            app("GROUP", Handling.MAPPED, "the node serves the app when one of its comma-separated groups is in "
                    + "discovery.marathon.groups (or the node has *)"),
            port("GROUP", Handling.MAPPED, "overrides HAPROXY_GROUP for this port"),
            port("ENABLED", Handling.MAPPED, "false leaves the port out; with strict_mode only true serves it"),
            port("PORT", Handling.MAPPED, "the listen port, instead of the service port"),
            port("BIND_ADDR", Handling.MAPPED, "the listen address (an IP literal; * = discovery.marathon.bind_address)"),
            port("MODE", Handling.MAPPED, "tcp as is; http is served as TCP (no HTTP parsing), with a note"),
            port("BALANCE", Handling.MAPPED, "roundrobin/static-rr → round-robin, leastconn → least-connections, "
                    + "source → maglev (client address), random → power-of-two; others → round-robin with a note"),
            port("BACKEND_HEALTHCHECK_PORT_INDEX", Handling.MAPPED, "the same index as the port: as written; another "
                    + "index (a per-task health port) has no L4 equivalent: no active check, with a note"),
            app("DEPLOYMENT_GROUP", Handling.MAPPED, "apps of one deployment group share their HAPROXY_n_PORT: both "
                    + "colours serve until one is gone (no gradual drain of the old one), with a note"),
            app("DEPLOYMENT_ALT_PORT", Handling.NOT_APPLICABLE, "bluegreen_deploy.py bookkeeping; the app is served on "
                    + "its own service port"),
            app("DEPLOYMENT_COLOUR", Handling.NOT_APPLICABLE, "bluegreen_deploy.py bookkeeping"),
            app("DEPLOYMENT_STARTED_AT", Handling.NOT_APPLICABLE, "bluegreen_deploy.py bookkeeping"),
            app("DEPLOYMENT_TARGET_INSTANCES", Handling.NOT_APPLICABLE, "bluegreen_deploy.py bookkeeping"),
            app("DEPLOYMENT_NEW_INSTANCES", Handling.NOT_APPLICABLE, "bluegreen_deploy.py bookkeeping"),
            port("VHOST", Handling.NOT_APPLICABLE, L7 + "HTTP virtual hosts on 80/443; the service port is served"),
            port("PATH", Handling.NOT_APPLICABLE, L7 + "HTTP path routing"),
            port("AUTH", Handling.NOT_APPLICABLE, L7 + "HTTP basic auth"),
            port("STICKY", Handling.NOT_APPLICABLE, L7 + "cookie stickiness; HAPROXY_n_BALANCE=source keeps a "
                    + "client on one backend at L4"),
            port("REDIRECT_TO_HTTPS", Handling.NOT_APPLICABLE, L7 + "an HTTP redirect"),
            port("USE_HSTS", Handling.NOT_APPLICABLE, L7 + "an HTTP header"),
            port("SSL_CERT", Handling.NOT_APPLICABLE, L7 + "TLS termination; TLS passes through untouched"),
            port("BIND_OPTIONS", Handling.NOT_APPLICABLE, L7 + "HAProxy bind options (TLS ciphers...)"),
            port("HTTP_BACKEND_PROXYPASS_PATH", Handling.NOT_APPLICABLE, L7 + "HTTP path rewriting"),
            port("HTTP_BACKEND_REVPROXY_PATH", Handling.NOT_APPLICABLE, L7 + "HTTP header rewriting"),
            port("HTTP_BACKEND_REDIR", Handling.NOT_APPLICABLE, L7 + "an HTTP redirect"),
            port("BACKEND_WEIGHT", Handling.NOT_APPLICABLE, L7 + "the order of HTTP ACLs"),
            port("BACKEND_NETWORK_ALLOWED_ACL", Handling.NOT_SUPPORTED, "not supported yet: Tandem has no source "
                    + "ACLs, every client is served"),
            template("FRONTEND_HEAD"), template("USERLIST_HEAD"), template("BACKEND_REDIRECT_HTTP_TO_HTTPS"),
            template("BACKEND_REDIRECT_HTTP_TO_HTTPS_WITH_PATH"), template("BACKEND_HEAD"),
            template("HTTP_FRONTEND_ACL"), template("MAP_HTTP_FRONTEND_ACL"), template("HTTP_FRONTEND_ACL_ONLY"),
            template("MAP_HTTP_FRONTEND_ACL_ONLY"), template("HTTP_FRONTEND_ROUTING_ONLY"),
            template("HTTP_FRONTEND_ROUTING_ONLY_WITH_AUTH"), template("HTTP_FRONTEND_ACL_WITH_AUTH"),
            template("HTTP_FRONTEND_ACL_WITH_PATH"), template("HTTP_FRONTEND_ACL_WITH_AUTH_AND_PATH"),
            template("HTTP_FRONTEND_ACL_ONLY_WITH_PATH"), template("HTTP_FRONTEND_ACL_ONLY_WITH_PATH_AND_AUTH"),
            template("HTTPS_FRONTEND_ACL_ONLY_WITH_PATH"), template("HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH"),
            template("HTTP_FRONTEND_ROUTING_ONLY_WITH_PATH_AND_AUTH"), template("HTTP_FRONTEND_APPID_ACL"),
            template("MAP_HTTP_FRONTEND_APPID_ACL"), template("HTTPS_FRONTEND_ACL"), template("MAP_HTTPS_FRONTEND_ACL"),
            template("HTTPS_FRONTEND_ACL_WITH_AUTH"), template("HTTPS_FRONTEND_ACL_WITH_PATH"),
            template("HTTPS_FRONTEND_ACL_WITH_AUTH_AND_PATH"), template("BACKEND_HTTP_OPTIONS"),
            template("HTTP_BACKEND_PROXYPASS_GLUE"), template("HTTP_BACKEND_REVPROXY_GLUE"),
            template("BACKEND_HSTS_OPTIONS"), template("BACKEND_HTTP_HEALTHCHECK_OPTIONS"),
            template("BACKEND_TCP_HEALTHCHECK_OPTIONS"), template("BACKEND_STICKY_OPTIONS"),
            template("BACKEND_SERVER_OPTIONS"), template("BACKEND_SERVER_TCP_HEALTHCHECK_OPTIONS"),
            template("BACKEND_SERVER_HTTP_HEALTHCHECK_OPTIONS"), template("FRONTEND_BACKEND_GLUE"),
            template("HTTP_BACKEND_NETWORK_ALLOWED_ACL"), template("TCP_BACKEND_NETWORK_ALLOWED_ACL"));

    private static final Map<String, Label> APP_LABELS = new LinkedHashMap<>();
    private static final Map<String, Label> PORT_LABELS = new LinkedHashMap<>();

    static {
        for (Label l : LABELS) {
            (l.perPort() ? PORT_LABELS : APP_LABELS).put(l.name(), l);
        }
    }

    private static final Pattern PER_PORT = Pattern.compile("HAPROXY_(\\d{1,4})_(.+)");
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private MarathonLb() {
    }

    private static Label app(String name, Handling h, String what) {
        return new Label(name, false, h, what);
    }

    private static Label port(String name, Handling h, String what) {
        return new Label(name, true, h, what);
    }

    private static Label template(String name) {
        return new Label(name, true, Handling.NOT_APPLICABLE, TEMPLATE);
    }

    /** Marathon-LB's {@code has_group}: {@code *} on the node matches every app, else any shared group. */
    static boolean hasGroup(Set<String> nodeGroups, List<String> appGroups) {
        if (nodeGroups.contains("*")) {
            return true;
        }
        for (String g : appGroups) {
            if (nodeGroups.contains(g)) {
                return true;
            }
        }
        return false;
    }

    /** marathon-lb's {@code string_to_bool}: anything else is false. */
    static boolean truthy(String v) {
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true", "t", "yes", "y" -> true;
            default -> false;
        };
    }

    /** What this node serves of {@code app}; {@link Plan#NONE} when none of its ports is for this node. */
    static Plan plan(MarathonApp app, Settings s) {
        if (!s.enabled()) {
            return Plan.NONE;
        }
        Map<String, String> labels = app.labels();
        List<String> appGroups = groups(labels.get("HAPROXY_GROUP"));
        Optional<String> deploymentGroup = Optional.ofNullable(labels.get("HAPROXY_DEPLOYMENT_GROUP"))
                .map(String::trim).filter(g -> !g.isEmpty()).map(g -> g.startsWith("/") ? g : "/" + g);
        List<String> notes = new ArrayList<>();
        List<Port> ports = new ArrayList<>();
        Set<Integer> served = new java.util.HashSet<>();
        for (AppPort p : app.ports()) {
            int n = p.index();
            String portGroup = labels.get("HAPROXY_" + n + "_GROUP");
            List<String> groups = portGroup != null ? groups(portGroup) : appGroups;
            if (!hasGroup(s.groups(), groups)) {
                continue;
            }
            String enabled = labels.get("HAPROXY_" + n + "_ENABLED");
            if (enabled != null ? !truthy(enabled) : s.strictMode()) {
                continue; // Marathon-LB leaves it out just the same: nothing to report
            }
            served.add(n);
            int listenPort = p.servicePort();
            String portLabel = labels.get("HAPROXY_" + n + "_PORT");
            if (portLabel != null) {
                try {
                    int v = Integer.parseInt(portLabel.trim());
                    if (v < 1 || v > 65535) {
                        throw new NumberFormatException();
                    }
                    listenPort = v;
                } catch (NumberFormatException e) {
                    notes.add("HAPROXY_" + n + "_PORT: \"" + portLabel + "\" is not a port 1..65535; "
                            + (listenPort > 0 ? "the service port " + listenPort + " is used" : "the port is not served"));
                }
            }
            if (listenPort <= 0) {
                notes.add("port " + n + ": no service port (IP-per-task app?) and no HAPROXY_" + n
                        + "_PORT: not served (Marathon-LB's generated ports change as apps come and go)");
                continue;
            }
            String bind = s.bindAddress();
            String bindLabel = labels.get("HAPROXY_" + n + "_BIND_ADDR");
            if (bindLabel != null && !bindLabel.trim().equals("*")) {
                String b = bindLabel.trim();
                if (isIpLiteral(b)) {
                    bind = b;
                } else {
                    notes.add("HAPROXY_" + n + "_BIND_ADDR: \"" + bindLabel + "\" is not an IP address; served on "
                            + s.bindAddress());
                }
            }
            String mode = labels.getOrDefault("HAPROXY_" + n + "_MODE", "tcp").trim().toLowerCase(Locale.ROOT);
            if (mode.equals("http") || (!labels.containsKey("HAPROXY_" + n + "_MODE")
                    && (labels.containsKey("HAPROXY_" + n + "_VHOST") || httpCheck(app, n)))) {
                notes.add("HAPROXY_" + n + "_MODE: http is served as TCP at L4 (bytes pass through; no HTTP "
                        + "routing, headers or HTTP checks by Marathon-LB's rules)");
            } else if (!mode.equals("tcp")) {
                notes.add("HAPROXY_" + n + "_MODE: \"" + mode + "\" (expected tcp or http): served as TCP");
            }
            PolicyKind policy = PolicyKind.ROUND_ROBIN;
            String balance = labels.get("HAPROXY_" + n + "_BALANCE");
            if (balance != null) {
                Optional<PolicyKind> k = policy(balance);
                if (k.isPresent()) {
                    policy = k.get();
                } else {
                    notes.add("HAPROXY_" + n + "_BALANCE: \"" + balance + "\" has no L4 equivalent (it needs the "
                            + "request): round-robin");
                }
            }
            String hcIndex = labels.get("HAPROXY_" + n + "_BACKEND_HEALTHCHECK_PORT_INDEX");
            if (hcIndex != null && !hcIndex.trim().equals(Integer.toString(n))) {
                notes.add("HAPROXY_" + n + "_BACKEND_HEALTHCHECK_PORT_INDEX: " + hcIndex.trim() + " probes another "
                        + "port of each task, which a Tandem check cannot express: "
                        + (MarathonChecks.forPort(app, n).spec().isPresent() ? "the check of port " + n + " is used"
                        : "no active check for this port; passive detection and Marathon's verdict still apply"));
            }
            ports.add(new Port(n, bind, listenPort, p.protocols(), policy, deploymentGroup));
            if (p.protocols().contains(Protocol.UDP)) {
                notes.add("port " + n + ": protocol " + protocolText(p.protocols()) + " is served as such (Marathon-LB "
                        + "bound TCP only)");
            }
        }
        if (ports.isEmpty()) {
            return new Plan(List.of(), notes);
        }
        notes.addAll(labelNotes(labels, app.ports().size(), served, deploymentGroup.isPresent()));
        return new Plan(ports, notes);
    }

    /** One note per HAPROXY_* label that is not applied as written (sorted by label). */
    private static List<String> labelNotes(Map<String, String> labels, int portCount, Set<Integer> served,
                                           boolean deploymentGroup) {
        Map<String, String> out = new TreeMap<>();
        for (String key : labels.keySet()) {
            if (!key.startsWith("HAPROXY_")) {
                continue;
            }
            Matcher m = PER_PORT.matcher(key);
            if (m.matches()) {
                int n = Integer.parseInt(m.group(1));
                Label l = PORT_LABELS.get(m.group(2));
                if (n >= portCount) {
                    out.put(key, key + ": the app has no port " + n + " (ignored)");
                } else if (l == null) {
                    out.put(key, key + ": not a Marathon-LB label (ignored)");
                } else if (served.contains(n) && l.handling() != Handling.MAPPED) {
                    out.put(key, key + ": " + l.what());
                }
                continue;
            }
            Label l = APP_LABELS.get(key.substring("HAPROXY_".length()));
            if (l == null) {
                out.put(key, key + ": not a Marathon-LB label (ignored)");
            } else if (l.handling() != Handling.MAPPED) {
                out.put(key, key + ": " + l.what());
            } else if (l.name().equals("DEPLOYMENT_GROUP") && deploymentGroup) {
                out.put(key, key + ": apps of the group share their ports; the old colour is not drained gradually");
            }
        }
        return new ArrayList<>(out.values());
    }

    private static boolean httpCheck(MarathonApp app, int n) {
        for (MarathonHealthCheck hc : app.healthChecks()) {
            if (hc.probes(n)) {
                return hc.http();
            }
        }
        return false;
    }

    /** HAProxy {@code balance} algorithm → policy; empty when it needs the HTTP request. */
    static Optional<PolicyKind> policy(String balance) {
        String b = balance.trim().toLowerCase(Locale.ROOT);
        int paren = b.indexOf('(');
        String algo = paren > 0 ? b.substring(0, paren) : b.split("\\s+")[0];
        return switch (algo) {
            case "roundrobin", "static-rr" -> Optional.of(PolicyKind.ROUND_ROBIN);
            case "leastconn" -> Optional.of(PolicyKind.LEAST_CONNECTIONS);
            case "source" -> Optional.of(PolicyKind.MAGLEV);
            case "random" -> Optional.of(PolicyKind.POWER_OF_TWO);
            default -> Optional.empty();
        };
    }

    private static List<String> groups(String label) {
        if (label == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String g : label.split(",")) {
            if (!g.isEmpty()) {
                out.add(g);
            }
        }
        return out;
    }

    private static boolean isIpLiteral(String s) {
        if (s.indexOf(':') < 0 && !IPV4.matcher(s).matches()) {
            return false;
        }
        try {
            java.net.InetAddress.ofLiteral(s.startsWith("[") && s.endsWith("]") ? s.substring(1, s.length() - 1) : s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String protocolText(Set<Protocol> protocols) {
        return protocols.stream().map(p -> p.name().toLowerCase(Locale.ROOT)).sorted().reduce((a, b) -> a + "," + b)
                .orElse("");
    }
}
