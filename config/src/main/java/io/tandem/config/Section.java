package io.tandem.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * One YAML mapping of the config being walked: typed reads of its keys that report a
 * {@link ConfigError} (and fall back to the default so the walk can go on) instead of throwing.
 */
final class Section {
    private static final Pattern PLAIN_KEY = Pattern.compile("[A-Za-z0-9_-]+");
    private static final Pattern INTEGER_TEXT = Pattern.compile("-?\\d+");

    private final JsonNode node;
    private final String path;
    private final int[] position;
    private final Problems problems;
    /** Key → its index in the mapping, in document order (a map: a file may hold many keys). */
    private final Map<String, Integer> keys = new LinkedHashMap<>();

    private Section(JsonNode node, String path, int[] position, Problems problems) {
        this.node = node;
        this.path = path;
        this.position = position;
        this.problems = problems;
        node.fieldNames().forEachRemaining(k -> keys.put(k, keys.size()));
    }

    /** The root mapping; the caller has checked that it is one. */
    static Section root(JsonNode node, Problems problems) {
        return new Section(node, "", new int[0], problems);
    }

    /** A mapping found at {@code path}, or empty (and an error) when the node is not a mapping. */
    static Optional<Section> of(JsonNode node, String path, int[] position, Problems problems, String expected) {
        if (node.isObject()) {
            return Optional.of(new Section(node, path, position, problems));
        }
        problems.add(position, path, Render.node(node), expected);
        return Optional.empty();
    }

    String path() {
        return path;
    }

    int[] position() {
        return position;
    }

    Problems problems() {
        return problems;
    }

    /** Reports every key not in {@code allowed}, with a did-you-mean. */
    void allowKeys(List<String> allowed) {
        allowKeys(allowed, key -> null);
    }

    /**
     * Reports every key not in {@code allowed}. {@code elsewhere} explains a key that is valid in
     * another variant of this mapping ("path is for http checks" on a tcp check); null when it is not.
     */
    void allowKeys(List<String> allowed, Function<String, String> elsewhere) {
        String list = String.join(", ", allowed);
        int unknown = 0;
        for (String key : keys.keySet()) {
            if (allowed.contains(key)) {
                continue;
            }
            if (++unknown > Problems.MAX_REPORTED) {
                problems.addUnshown(); // after MAX_REPORTED errors of this very mapping: never shown
                continue;
            }
            String other = elsewhere.apply(key);
            if (other != null) {
                error(key, "unknown key", "one of " + list + "; " + other);
            } else {
                error(key, "unknown key", "one of " + list + Suggestions.hint(key, allowed));
            }
        }
    }

    boolean has(String key) {
        return node.has(key);
    }

    JsonNode get(String key) {
        return node.get(key);
    }

    String pathOf(String key) {
        String k = PLAIN_KEY.matcher(key).matches() ? key : "[" + Render.quote(key) + "]";
        if (path.isEmpty()) {
            return k.startsWith("[") ? k : key;
        }
        return k.startsWith("[") ? path + k : path + "." + k;
    }

    int[] positionOf(String key) {
        Integer i = keys.get(key);
        return Problems.child(position, i == null ? Problems.ABSENT : i);
    }

    void error(String key, String value, String expected) {
        problems.add(positionOf(key), pathOf(key), value, expected);
    }

    void errorAt(String key, JsonNode value, String expected) {
        error(key, Render.node(value), expected);
    }

    void missing(String key, String expected) {
        error(key, "missing", expected);
    }

    /** A nested optional mapping; empty when absent, explicitly empty ({@code key:}) or wrong. */
    Optional<Section> child(String key) {
        JsonNode n = node.get(key);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        return of(n, pathOf(key), positionOf(key), problems, "a mapping of settings");
    }

    int integer(String key, int min, int max, int defaultValue) {
        return integer(key, min, max, "", defaultValue);
    }

    /** An integer in [min, max]; {@code note} is appended to the expectation (", 0 = unlimited"). */
    int integer(String key, int min, int max, String note, int defaultValue) {
        JsonNode n = node.get(key);
        if (n == null) {
            return defaultValue;
        }
        OptionalInt v = integerValue(key, n, min, max, note);
        return v.orElse(defaultValue);
    }

    OptionalInt optionalInteger(String key, int min, int max) {
        JsonNode n = node.get(key);
        return n == null ? OptionalInt.empty() : integerValue(key, n, min, max, "");
    }

    private OptionalInt integerValue(String key, JsonNode n, int min, int max, String note) {
        if (n.isIntegralNumber() && n.canConvertToLong() && n.longValue() >= min && n.longValue() <= max) {
            return OptionalInt.of(n.intValue());
        }
        String quotes = n.isTextual() && INTEGER_TEXT.matcher(n.textValue()).matches() ? ", without quotes" : "";
        errorAt(key, n, "an integer " + min + ".." + max + note + quotes);
        return OptionalInt.empty();
    }

    double number(String key, double min, double max, double defaultValue) {
        JsonNode n = node.get(key);
        if (n == null) {
            return defaultValue;
        }
        if (n.isNumber() && n.doubleValue() >= min && n.doubleValue() <= max) {
            return n.doubleValue();
        }
        errorAt(key, n, "a number " + plain(min) + ".." + plain(max));
        return defaultValue;
    }

    private static String plain(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    boolean bool(String key, boolean defaultValue) {
        JsonNode n = node.get(key);
        if (n == null) {
            return defaultValue;
        }
        if (n.isBoolean()) {
            return n.booleanValue();
        }
        errorAt(key, n, "true or false");
        return defaultValue;
    }

    /** A duration in [min, max]; {@code note} is appended to the expectation (", 0 = off"). */
    Duration duration(String key, Duration min, Duration max, String note, Duration defaultValue) {
        JsonNode n = node.get(key);
        if (n == null) {
            return defaultValue;
        }
        Optional<Duration> d = Optional.empty();
        if (n.isTextual()) {
            d = Durations.tryParse(n.textValue());
        } else if (n.isIntegralNumber() && n.canConvertToLong() && n.longValue() == 0) {
            d = Optional.of(Duration.ZERO);
        }
        if (d.isEmpty()) {
            errorAt(key, n, Durations.EXPECTED);
            return defaultValue;
        }
        if (d.get().compareTo(min) < 0 || d.get().compareTo(max) > 0) {
            errorAt(key, n, "a duration " + Durations.format(min) + ".." + Durations.format(max) + note);
            return defaultValue;
        }
        return d.get();
    }

    /** One of a closed set of spellings, matched ignoring case. */
    <E> E choice(String key, Map<String, E> spellings, E defaultValue) {
        JsonNode n = node.get(key);
        if (n == null) {
            return defaultValue;
        }
        return choiceValue(key, n, spellings).orElse(defaultValue);
    }

    /** Like {@link #choice} for a required key. */
    <E> Optional<E> requiredChoice(String key, Map<String, E> spellings) {
        JsonNode n = node.get(key);
        if (n == null) {
            missing(key, "one of " + String.join(", ", spellings.keySet()));
            return Optional.empty();
        }
        return choiceValue(key, n, spellings);
    }

    private <E> Optional<E> choiceValue(String key, JsonNode n, Map<String, E> spellings) {
        // YAML 1.1 reads a bare off/on (no/yes) as a boolean: a set with an "off" ("on") spelling takes it.
        if (n.isBoolean() && spellings.containsKey(n.booleanValue() ? "on" : "off")) {
            return Optional.of(spellings.get(n.booleanValue() ? "on" : "off"));
        }
        if (n.isTextual()) {
            for (Map.Entry<String, E> e : spellings.entrySet()) {
                if (e.getKey().equalsIgnoreCase(n.textValue())) {
                    return Optional.of(e.getValue());
                }
            }
        }
        List<String> names = List.copyOf(spellings.keySet());
        String hint = n.isTextual() ? Suggestions.hint(n.textValue(), names) : "";
        errorAt(key, n, "one of " + String.join(", ", names) + hint);
        return Optional.empty();
    }

    /** A string, or empty when absent; numbers and booleans are errors so nothing is reinterpreted. */
    Optional<String> text(String key, String expected) {
        JsonNode n = node.get(key);
        if (n == null) {
            return Optional.empty();
        }
        if (n.isTextual()) {
            return Optional.of(n.textValue());
        }
        String quotes = n.isValueNode() && !n.isNull() ? "; put it in quotes" : "";
        errorAt(key, n, expected + quotes);
        return Optional.empty();
    }

    /** A non-empty string, or empty (and an error) when present but empty. */
    Optional<String> nonEmptyText(String key, String expected) {
        Optional<String> t = text(key, expected);
        if (t.isPresent() && t.get().isEmpty()) {
            error(key, "\"\"", expected);
            return Optional.empty();
        }
        return t;
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }
}
