package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Marathon label selector query ({@code GET /v2/apps?label=...}), parsed with Marathon's own
 * grammar (its {@code LabelSelectorParsers}) so the node filters apps exactly as Marathon would:
 * comma-separated selectors, all of which must hold —
 * {@code key} (exists), {@code key==value}, {@code key!=value} (the label exists with another
 * value), {@code key in (a, b)}, {@code key notin (a, b)} (exists, value not in the set). A term
 * is {@code [-A-Za-z0-9_.]} or any character escaped with a backslash. Whitespace around terms is
 * ignored, as Marathon's parser skips it.
 *
 * @param query     the query as written (sent to Marathon as is)
 * @param selectors the parsed selectors, all of which must match
 */
public record LabelSelector(String query, List<Selector> selectors) {

    public LabelSelector {
        requireNonNull(query, "query");
        selectors = List.copyOf(requireNonNull(selectors, "selectors"));
    }

    /** One selector: an existence test, or a comparison of the label's value. */
    public record Selector(String key, Op op, Set<String> values) {
        public Selector {
            requireNonNull(key, "key");
            requireNonNull(op, "op");
            values = Set.copyOf(requireNonNull(values, "values"));
        }

        boolean matches(Map<String, String> labels) {
            String v = labels.get(key);
            if (v == null) {
                return false; // every kind needs the label to exist, as in Marathon
            }
            return switch (op) {
                case EXISTS -> true;
                case EQUALS, IN -> values.contains(v);
                case NOT_EQUALS, NOT_IN -> !values.contains(v);
            };
        }
    }

    /** How a selector compares. */
    public enum Op { EXISTS, EQUALS, NOT_EQUALS, IN, NOT_IN }

    /** Whether an app with these labels matches every selector. */
    public boolean matches(Map<String, String> labels) {
        requireNonNull(labels, "labels");
        for (Selector s : selectors) {
            if (!s.matches(labels)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Parses {@code query}.
     *
     * @throws IllegalArgumentException {@code "tier !=" (expected ... at position 6)}
     */
    public static LabelSelector parse(String query) {
        requireNonNull(query, "query");
        Parser p = new Parser(query);
        List<Selector> out = new ArrayList<>();
        p.skipSpace();
        if (p.atEnd()) {
            throw p.error("at least one selector");
        }
        while (true) {
            out.add(p.selector());
            p.skipSpace();
            if (p.atEnd()) {
                break;
            }
            p.expect(',');
        }
        return new LabelSelector(query, out);
    }

    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) {
            this.s = s;
        }

        boolean atEnd() {
            return i >= s.length();
        }

        void skipSpace() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        void expect(char c) {
            skipSpace();
            if (atEnd() || s.charAt(i) != c) {
                throw error("'" + c + "'");
            }
            i++;
        }

        Selector selector() {
            String key = term();
            skipSpace();
            if (s.startsWith("==", i) || s.startsWith("!=", i)) {
                boolean eq = s.charAt(i) == '=';
                i += 2;
                String value = term();
                return new Selector(key, eq ? Op.EQUALS : Op.NOT_EQUALS, Set.of(value));
            }
            // "in" / "notin" are words: they need a separator before them (the term ate the rest)
            for (String word : List.of("notin", "in")) {
                if (s.startsWith(word, i)) {
                    int after = i + word.length();
                    int j = after;
                    while (j < s.length() && Character.isWhitespace(s.charAt(j))) {
                        j++;
                    }
                    if (j < s.length() && s.charAt(j) == '(') {
                        i = j + 1;
                        List<String> values = new ArrayList<>();
                        skipSpace();
                        if (!atEnd() && s.charAt(i) == ')') {
                            i++;
                        } else {
                            while (true) {
                                values.add(term());
                                skipSpace();
                                if (!atEnd() && s.charAt(i) == ')') {
                                    i++;
                                    break;
                                }
                                if (atEnd() || s.charAt(i) != ',') {
                                    throw error("',' or ')'");
                                }
                                i++;
                            }
                        }
                        return new Selector(key, word.equals("in") ? Op.IN : Op.NOT_IN, Set.copyOf(values));
                    }
                }
            }
            return new Selector(key, Op.EXISTS, Set.of());
        }

        String term() {
            skipSpace();
            StringBuilder b = new StringBuilder();
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '\\' && i + 1 < s.length()) {
                    b.append(s.charAt(i + 1));
                    i += 2;
                } else if (Character.isLetterOrDigit(c) && c < 128 || c == '-' || c == '_' || c == '.') {
                    b.append(c);
                    i++;
                } else {
                    break;
                }
            }
            if (b.isEmpty()) {
                throw error("a label name or value ([-A-Za-z0-9_.], other characters escaped with \\)");
            }
            return b.toString();
        }

        IllegalArgumentException error(String expected) {
            return new IllegalArgumentException(Render.quote(s) + " (expected " + expected + " at position " + i
                    + "; selectors such as key, key==value, key!=value, key in (a, b), key notin (a, b))");
        }
    }
}
