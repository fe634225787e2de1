package io.tandem.core.logging;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * One log event as fields: a message ({@code msg}) and the {@code key=value} pairs the code wrote
 * after it, each value exactly what the argument was — found by reading the SLF4J message
 * <em>pattern</em>, not the formatted text, so a value holding spaces, quotes, {@code =} or a line
 * break stays one value and is escaped once, by the renderer, instead of breaking the line
 * ({@code reason="{}"} with an argument {@code say "hi"} used to print {@code reason="say "hi""}).
 *
 * <p>The house style writes {@code words key={} key="{}" …} ({@code docs/STYLE}): the words are
 * the message, each {@code key=} after a space starts a field, a quoted value runs to the closing
 * quote of the pattern, a bare one to the next space of the pattern. Free text after the fields
 * joins the message. Messages of other libraries (ZooKeeper, Netty) are kept whole as {@code msg}.
 *
 * <p>Socket addresses are written {@code 127.0.0.1:80} / {@code [::1]:80}, never Java's
 * {@code /127.0.0.1:80}, whichever call site logged the object.
 */
record LogLine(Instant at, String level, String logger, String msg, List<Field> fields, String exception,
               String stack) {
    private static final JsonFactory JSON = JsonFactory.builder().build();
    private static final DateTimeFormatter TS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);
    private static final Set<String> RESERVED = Set.of("ts", "level", "logger", "msg", "exception", "stack");
    private static final java.util.regex.Pattern KEY_VALUE_RUN = java.util.regex.Pattern.compile(
            "[a-z_][a-z0-9_.]*=[^\\s\"=]+( +[a-z_][a-z0-9_.]*=[^\\s\"=]+)*");

    /**
     * One field. {@code typed} is the argument itself when the whole value is one number or
     * boolean argument (JSON writes it unquoted), else null.
     */
    record Field(String key, String value, Object typed) {
        Field {
            requireNonNull(key, "key");
            requireNonNull(value, "value");
        }
    }

    LogLine {
        fields = List.copyOf(fields);
    }

    /**
     * Reads {@code pattern} with {@code args} ({@code {}} placeholders, SLF4J's escapes).
     *
     * @param structured whether the pattern follows the house {@code key=value} style (Tandem's own
     *                   loggers); otherwise the formatted message is the {@code msg}, whole
     */
    static LogLine of(Instant at, String level, String logger, String pattern, Object[] args, boolean structured,
                      String exception, String stack) {
        List<Object> tokens = tokens(pattern == null ? "null" : pattern, args == null ? new Object[0] : args);
        if (!structured) {
            StringBuilder msg = new StringBuilder();
            tokens.forEach(t -> append(msg, t));
            return new LogLine(at, level, logger, msg.toString(), List.of(), exception, stack);
        }
        StringBuilder msg = new StringBuilder();
        StringBuilder trailing = new StringBuilder();
        List<Field> fields = new ArrayList<>();
        int i = 0;
        int n = tokens.size();
        while (i < n) {
            int keyEnd = (i == 0 || isLiteral(tokens.get(i - 1), ' ')) ? keyEnd(tokens, i) : -1;
            if (keyEnd < 0) {
                append(fields.isEmpty() ? msg : trailing, tokens.get(i));
                i++;
                continue;
            }
            String key = literal(tokens, i, keyEnd);
            int j = keyEnd + 1; // past '='
            StringBuilder value = new StringBuilder();
            Object typed = null;
            if (j < n && isLiteral(tokens.get(j), '"')) {
                j++;
                while (j < n && !isLiteral(tokens.get(j), '"')) {
                    append(value, tokens.get(j++));
                }
                j++; // the closing quote (or the end)
            } else {
                int start = j;
                while (j < n && !isLiteral(tokens.get(j), ' ')) {
                    append(value, tokens.get(j++));
                }
                if (j - start == 1 && tokens.get(start) instanceof Arg a
                        && (a.value instanceof Number || a.value instanceof Boolean)) {
                    typed = a.value;
                }
            }
            fields.add(new Field(RESERVED.contains(key) ? "_" + key : key, value.toString(), typed));
            if (trailing.length() > 0) {
                // Words between two fields: part of the message, not of either field.
                msg.append(' ').append(trailing.toString().strip());
                trailing.setLength(0);
            }
            i = j;
        }
        String text = msg.toString().strip();
        String rest = trailing.toString().strip();
        if (KEY_VALUE_RUN.matcher(rest).matches()) {
            // An argument that is itself "k=v k=v" (a stats summary): its pairs are fields.
            for (String pair : rest.split(" +")) {
                int eq = pair.indexOf('=');
                fields.add(new Field(pair.substring(0, eq), pair.substring(eq + 1), null));
            }
        } else if (!rest.isEmpty()) {
            text = text.isEmpty() ? rest : text + " " + rest;
        }
        return new LogLine(at, level, logger, text, fields, exception, stack);
    }

    /** {@code ts=… level=… logger=… msg=… key=value …}: one line, values quoted when they need it. */
    String logfmt() {
        StringBuilder b = new StringBuilder(128);
        b.append("ts=").append(TS.format(at)).append(" level=").append(level).append(" logger=");
        logfmtValue(b, logger);
        b.append(" msg=");
        logfmtValue(b, msg);
        for (Field f : fields) {
            b.append(' ').append(f.key()).append('=');
            logfmtValue(b, f.value());
        }
        if (exception != null) {
            b.append(" exception=");
            logfmtValue(b, exception);
        }
        if (stack != null) {
            b.append(" stack=");
            logfmtValue(b, stack);
        }
        return b.append('\n').toString();
    }

    /** One JSON object on one line: the same fields, numbers and booleans unquoted. */
    String json() {
        StringWriter w = new StringWriter(160);
        try (JsonGenerator g = JSON.createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("ts", TS.format(at));
            g.writeStringField("level", level);
            g.writeStringField("logger", logger);
            g.writeStringField("msg", msg);
            for (Field f : fields) {
                g.writeFieldName(f.key());
                switch (f.typed()) {
                    case Boolean v -> g.writeBoolean(v);
                    case Integer v -> g.writeNumber(v);
                    case Long v -> g.writeNumber(v);
                    case Short v -> g.writeNumber(v);
                    case Byte v -> g.writeNumber(v);
                    case Double v when Double.isFinite(v) -> g.writeNumber(v);
                    case Float v when Float.isFinite(v) -> g.writeNumber(v);
                    case null, default -> g.writeString(f.value());
                }
            }
            if (exception != null) {
                g.writeStringField("exception", exception);
            }
            if (stack != null) {
                g.writeStringField("stack", stack);
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter never throws
        }
        return w.append('\n').toString();
    }

    /** A logfmt value: bare when it is one plain word, else quoted with {@code \ " \n \r \t} and controls escaped. */
    static void logfmtValue(StringBuilder b, String v) {
        if (!needsQuotes(v)) {
            b.append(v);
            return;
        }
        b.append('"');
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    private static boolean needsQuotes(String v) {
        if (v.isEmpty()) {
            return true;
        }
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) {
                return true;
            }
        }
        return false;
    }

    /** An argument of the pattern, and how it is written. */
    private record Arg(Object value, String text) {
    }

    /** The pattern as literal characters and arguments, with SLF4J's rules for {@code {}} and {@code \{}}. */
    private static List<Object> tokens(String pattern, Object[] args) {
        List<Object> out = new ArrayList<>(pattern.length() + args.length);
        int next = 0;
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '{' && i + 1 < pattern.length() && pattern.charAt(i + 1) == '}') {
                boolean escaped = i > 0 && pattern.charAt(i - 1) == '\\'
                        && !(i > 1 && pattern.charAt(i - 2) == '\\');
                if (escaped) {
                    out.removeLast(); // the backslash
                    out.add('{');
                    out.add('}');
                } else {
                    if (i > 1 && pattern.charAt(i - 1) == '\\' && pattern.charAt(i - 2) == '\\') {
                        out.removeLast(); // "\\{}": one backslash, then the argument
                    }
                    if (next < args.length) {
                        Object a = args[next++];
                        out.add(new Arg(a, render(a)));
                    } else {
                        out.add("{}"); // more placeholders than arguments: SLF4J prints them as they are
                    }
                }
                i++;
            } else {
                out.add(c);
            }
        }
        return out;
    }

    /** An argument as text: socket addresses without Java's leading slash, arrays by their elements. */
    static String render(Object o) {
        return switch (o) {
            case null -> "null";
            case InetSocketAddress a -> Addresses.format(a);
            case InetAddress a -> Addresses.format(a);
            case Object[] a -> Arrays.deepToString(a);
            case int[] a -> Arrays.toString(a);
            case long[] a -> Arrays.toString(a);
            case byte[] a -> Arrays.toString(a);
            case double[] a -> Arrays.toString(a);
            case boolean[] a -> Arrays.toString(a);
            default -> {
                try {
                    yield String.valueOf(o);
                } catch (RuntimeException e) { // a broken toString must not lose the line
                    yield "[" + o.getClass().getName() + ".toString() threw " + e + "]";
                }
            }
        };
    }

    private static void append(StringBuilder b, Object token) {
        if (token instanceof Arg a) {
            b.append(a.text);
        } else if (token instanceof Character c) {
            b.append(c.charValue());
        } else {
            b.append(token);
        }
    }

    private static boolean isLiteral(Object token, char c) {
        return token instanceof Character ch && ch == c;
    }

    /** The index of the '=' ending a key that starts at {@code i}, or -1. */
    private static int keyEnd(List<Object> tokens, int i) {
        int j = i;
        while (j < tokens.size() && tokens.get(j) instanceof Character c && isKeyChar(c, j == i)) {
            j++;
        }
        return j > i && j < tokens.size() && isLiteral(tokens.get(j), '=') ? j : -1;
    }

    private static boolean isKeyChar(char c, boolean first) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
                || !first && (c >= '0' && c <= '9' || c == '.' || c == '-');
    }

    private static String literal(List<Object> tokens, int from, int to) {
        StringBuilder b = new StringBuilder(to - from);
        for (int k = from; k < to; k++) {
            b.append((char) (Character) tokens.get(k));
        }
        return b.toString();
    }
}
