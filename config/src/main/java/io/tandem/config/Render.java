package io.tandem.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;

/**
 * How a found value is shown in a {@link ConfigError}: strings quoted, numbers bare, secrets
 * never. Every error of the config walk passes {@link #shown} (through {@link Problems#add}), so
 * a secret is masked whatever the error and whoever reports it: {@code validate}, the reload
 * WARN, the admin API's 422 body.
 */
final class Render {
    private static final int MAX_SHOWN = 60;

    /** What a secret is shown as, however it was written ({@code token: 0123} is not shown as 83). */
    static final String MASKED = "\"***\"";

    /**
     * The paths whose values are secrets. A new secret key is added here, once; {@code
     * SecretsTest} fails for a key that looks like a secret (token, password, auth) and is not.
     */
    static final Set<String> SECRET_PATHS = Set.of(
            "admin.token",
            "discovery.zookeeper.auth",
            "discovery.zookeeper.tls.trust_store_password",
            "discovery.zookeeper.tls.key_store_password",
            "discovery.marathon.basic_auth",
            "discovery.marathon.token");

    /** Renderings that describe a value's shape, not its content: safe to show for a secret too. */
    private static final Set<String> SHAPES = Set.of("missing", "empty", "a mapping", "a list", "[]", "\"\"",
            "unknown key");

    private Render() {
    }

    /** {@code value} as it may be shown at {@code path}: masked when the path holds a secret. */
    static String shown(String path, String value) {
        return SECRET_PATHS.contains(path) && !SHAPES.contains(value) ? MASKED : value;
    }

    static String node(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "missing";
        }
        if (node.isNull()) {
            return "empty";
        }
        if (node.isTextual()) {
            return quote(node.textValue());
        }
        if (node.isObject()) {
            return "a mapping";
        }
        if (node.isArray()) {
            return node.isEmpty() ? "[]" : "a list";
        }
        String text = node.asText();
        return text.length() > MAX_SHOWN ? text.substring(0, MAX_SHOWN) + "..." : text;
    }

    /** A JSON-style quoted string, control characters escaped, long values cut short. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_SHOWN) + 8).append('"');
        int shown = 0;
        for (int i = 0; i < s.length(); i++) {
            if (shown++ == MAX_SHOWN) {
                b.append("...");
                break;
            }
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\x%02x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
