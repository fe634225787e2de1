package io.tandem.config;

import static java.util.Objects.requireNonNull;

/**
 * A host (IP literal or name) and a port, as written in the config ({@code 127.0.0.1:8080},
 * {@code [::1]:8080}, {@code backend.local:5432}). Resolution happens in the data path's
 * owner, never here: the config stays a pure value.
 */
public record HostPort(String host, int port) {
    public HostPort {
        requireNonNull(host, "host");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host: \"\" (expected a host name or IP address)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected 0..65535)");
        }
    }

    public static HostPort of(String host, int port) {
        return new HostPort(host, port);
    }

    /**
     * Parses {@code host:port} or {@code [v6]:port}.
     *
     * @throws IllegalArgumentException with a message of the form {@code "x" (expected host:port)}
     */
    public static HostPort parse(String text) {
        requireNonNull(text, "text");
        String s = text.trim();
        String host;
        String port;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0 || close + 1 >= s.length() || s.charAt(close + 1) != ':') {
                throw bad(text);
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
        } else {
            int colon = s.lastIndexOf(':');
            if (colon <= 0 || colon == s.length() - 1 || s.indexOf(':') != colon) {
                throw bad(text);
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
        }
        int p = parsePort(port);
        if (p < 0) {
            throw bad(text);
        }
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException("\"" + text + "\" (expected port 1..65535)");
        }
        return new HostPort(host, p);
    }

    /**
     * A port as the config spells it: one to five ASCII digits, no sign, no leading zero. The one
     * definition shared by config validation and the admin API, so {@code 08080} or Arabic-Indic
     * digits (which {@link Integer#parseInt} accepts) name no backend anywhere.
     *
     * @return the port (not range-checked beyond five digits), or -1 when the text is not one
     */
    public static int parsePort(String text) {
        int n = text.length();
        if (n == 0 || n > 5 || (n > 1 && text.charAt(0) == '0')) {
            return -1;
        }
        int p = 0;
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            p = p * 10 + (c - '0');
        }
        return p;
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("\"" + text + "\" (expected host:port)");
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
