package io.tandem.config;

import com.fasterxml.jackson.databind.JsonNode;

/** How a found value is shown in a {@link ConfigError}: strings quoted, numbers bare. */
final class Render {
    private static final int MAX_SHOWN = 60;

    private Render() {
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
        return node.asText();
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
