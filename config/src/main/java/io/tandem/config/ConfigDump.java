package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.lang.reflect.Method;
import java.lang.reflect.RecordComponent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The config in force as a plain tree (maps, lists, strings, numbers, booleans, nulls) for
 * {@code GET /api/config} — Envoy's {@code /config_dump}, {@code nginx -T}: every default filled
 * in, secrets shown as {@code "***"}.
 *
 * <p>Keys are the config records' fields in snake_case, which are the YAML keys nearly
 * everywhere (a few records group several YAML keys, e.g. a VIP's {@code health} holds its
 * {@code outlier_detection}, {@code panic_threshold} and {@code slow_start}); the {@code logging}
 * and {@code node} sections are shown at the top level, where they are written. Durations read as in the file
 * ({@code 500ms}), addresses as {@code host:port}, choices in their config spelling.
 *
 * <p>A value is masked when its path is one of the secret paths errors never print
 * ({@code admin.token}, the discovery credentials) or its name says it is one (token, password,
 * auth, secret): a secret added later without its path registered is still masked.
 */
public final class ConfigDump {
    public static final String MASK = "***";
    private static final Pattern SECRET_NAME = Pattern.compile("(?i).*(token|password|auth|secret).*");
    /** Record fields whose YAML key is another word. */
    private static final Map<String, String> YAML_KEYS = Map.of("ZooKeeper.digestAuth", "auth");

    private ConfigDump() {
    }

    /** The whole config, ordered as the records are. */
    public static Map<String, Object> of(TandemConfig config) {
        requireNonNull(config, "config");
        @SuppressWarnings("unchecked")
        Map<String, Object> tree = (Map<String, Object>) value("", config);
        Map<String, Object> out = new LinkedHashMap<>();
        @SuppressWarnings("unchecked")
        Map<String, Object> runtime = new LinkedHashMap<>((Map<String, Object>) tree.get("runtime"));
        Object logging = runtime.remove("logging");
        for (var e : tree.entrySet()) {
            if (e.getKey().equals("locality")) {
                // node.* is written at the top level of the file; the rest under locality.
                @SuppressWarnings("unchecked")
                Map<String, Object> locality = new LinkedHashMap<>((Map<String, Object>) e.getValue());
                out.put("node", locality.remove("node"));
                out.put("locality", locality);
                continue;
            }
            out.put(e.getKey(), e.getKey().equals("runtime") ? runtime : e.getValue());
            if (e.getKey().equals("admin")) {
                out.put("logging", logging);
            }
        }
        return out;
    }

    private static Object value(String path, Object v) {
        return switch (v) {
            case null -> null;
            case Optional<?> o -> o.map(x -> value(path, x)).orElse(null);
            case java.util.OptionalInt o -> o.isPresent() ? o.getAsInt() : null;
            case java.util.OptionalLong o -> o.isPresent() ? o.getAsLong() : null;
            case java.util.OptionalDouble o -> o.isPresent() ? o.getAsDouble() : null;
            case String s -> s;
            case Number n -> n;
            case Boolean b -> b;
            case Duration d -> Durations.format(d);
            case HostPort h -> h.toString();
            case Path p -> p.toString();
            case Enum<?> e -> spelling(e);
            case Cidr c -> c.toString();
            case BackendSource s -> {
                if (!s.enabled()) {
                    yield null;
                }
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("address", s.kind() == BackendSource.Kind.VIP ? "vip" : s.address().getHostAddress());
                if (s.hasPorts()) {
                    out.put("ports", s.portLow() + "-" + s.portHigh());
                    out.put("node_ports", s.nodeLow() + "-" + s.nodeHigh()); // this node's slice
                }
                yield out;
            }
            case AccessControl a -> {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("allow", value(path, a.allow()));
                out.put("deny", value(path, a.deny()));
                yield out;
            }
            case Record r -> record(path, r);
            case Map<?, ?> m -> {
                Map<String, Object> out = new LinkedHashMap<>();
                m.forEach((k, x) -> out.put(String.valueOf(k), value(path, x)));
                yield out;
            }
            case Collection<?> c -> {
                List<Object> out = new ArrayList<>(c.size());
                c.forEach(x -> out.add(value(path, x)));
                yield out;
            }
            case byte[] b -> new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
            default -> String.valueOf(v);
        };
    }

    private static Map<String, Object> record(String path, Record r) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (r instanceof HealthCheckSpec) {
            // A sealed family: which member it is, as health_check.type spells it.
            out.put("type", snake(r.getClass().getSimpleName()).replace('_', '-').replaceFirst("^-", ""));
        }
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            String key = YAML_KEYS.getOrDefault(r.getClass().getSimpleName() + "." + c.getName(), snake(c.getName()));
            String at = path.isEmpty() ? key : path + "." + key;
            Object raw;
            try {
                Method m = c.getAccessor();
                m.setAccessible(true);
                raw = m.invoke(r);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot read " + at, e);
            }
            boolean secret = Render.SECRET_PATHS.contains(at) || SECRET_NAME.matcher(key).matches();
            Object shown = value(at, raw);
            out.put(key, secret && shown != null ? MASK : shown);
        }
        return out;
    }

    /** The config's own spelling of a choice: {@code round-robin}, {@code v1}, {@code json}. */
    private static String spelling(Enum<?> e) {
        if (e instanceof PolicyKind p) {
            return p.configName();
        }
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    static String snake(String camel) {
        StringBuilder b = new StringBuilder(camel.length() + 4);
        for (int i = 0; i < camel.length(); i++) {
            char c = camel.charAt(i);
            if (Character.isUpperCase(c)) {
                b.append('_').append(Character.toLowerCase(c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
