package io.tandem.core.logging;

import java.util.LinkedHashMap;
import java.util.Map;

/** A strict logfmt reader for tests: bare values have no space, quote or '='; quoted ones use JSON-like escapes. */
final class Logfmt {
    private Logfmt() {
    }

    /** The fields of one line; throws on anything that is not logfmt. */
    static Map<String, String> parse(String line) {
        if (line.endsWith("\n")) {
            line = line.substring(0, line.length() - 1);
        }
        if (line.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("more than one line: " + line);
        }
        Map<String, String> out = new LinkedHashMap<>();
        int i = 0;
        while (i < line.length()) {
            int eq = line.indexOf('=', i);
            if (eq <= i) {
                throw new IllegalArgumentException("no key at " + i + ": " + line);
            }
            String key = line.substring(i, eq);
            if (!key.matches("[A-Za-z_][A-Za-z0-9_.-]*")) {
                throw new IllegalArgumentException("bad key \"" + key + "\" in: " + line);
            }
            int j = eq + 1;
            StringBuilder v = new StringBuilder();
            if (j < line.length() && line.charAt(j) == '"') {
                j++;
                while (true) {
                    if (j >= line.length()) {
                        throw new IllegalArgumentException("unterminated quote: " + line);
                    }
                    char c = line.charAt(j++);
                    if (c == '"') {
                        break;
                    }
                    if (c == '\\') {
                        char e = line.charAt(j++);
                        switch (e) {
                            case 'n' -> v.append('\n');
                            case 'r' -> v.append('\r');
                            case 't' -> v.append('\t');
                            case '"', '\\' -> v.append(e);
                            case 'u' -> {
                                v.append((char) Integer.parseInt(line.substring(j, j + 4), 16));
                                j += 4;
                            }
                            default -> throw new IllegalArgumentException("bad escape \\" + e + ": " + line);
                        }
                    } else {
                        v.append(c);
                    }
                }
            } else {
                while (j < line.length() && line.charAt(j) != ' ') {
                    char c = line.charAt(j++);
                    if (c == '"' || c == '=') {
                        throw new IllegalArgumentException("unquoted '" + c + "' in the value of " + key + ": " + line);
                    }
                    v.append(c);
                }
            }
            if (out.put(key, v.toString()) != null) {
                throw new IllegalArgumentException("duplicate key " + key + ": " + line);
            }
            if (j < line.length()) {
                if (line.charAt(j) != ' ') {
                    throw new IllegalArgumentException("no space after the value of " + key + ": " + line);
                }
                j++;
            }
            i = j;
        }
        return out;
    }
}
