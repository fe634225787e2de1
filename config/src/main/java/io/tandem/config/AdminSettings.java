package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The admin HTTP API. Loopback by default; binding elsewhere requires a bearer {@code token}
 * (validation enforces it).
 *
 * <p>{@code token} and {@code allowedHosts} can change on a running node (a reload applies them
 * at once); {@code enabled} and {@code listen} need a restart ({@link #sameListener}).
 *
 * @param allowedHosts host names, lower case, that a request's {@code Host} header may carry
 *                     besides IP literals and {@code localhost} (DNS-rebinding protection)
 */
public record AdminSettings(boolean enabled, HostPort listen, Optional<String> token, List<String> allowedHosts) {
    /** Fewer characters than this is guessable; validation refuses it. */
    public static final int MIN_TOKEN_LENGTH = 16;
    /** Longer than any sane secret, and far below Netty's header-size limit. */
    public static final int MAX_TOKEN_LENGTH = 1024;

    public static final AdminSettings DEFAULTS =
            new AdminSettings(true, new HostPort("127.0.0.1", 9090), Optional.empty(), List.of());

    public AdminSettings {
        requireNonNull(listen, "listen");
        requireNonNull(token, "token");
        allowedHosts = requireNonNull(allowedHosts, "allowedHosts").stream()
                .map(h -> h.toLowerCase(Locale.ROOT)).toList();
    }

    /** Settings without extra allowed host names. */
    public AdminSettings(boolean enabled, HostPort listen, Optional<String> token) {
        this(enabled, listen, token, List.of());
    }

    /** True when {@code other} serves on the same socket: only a restart can change that. */
    public boolean sameListener(AdminSettings other) {
        return enabled == other.enabled && listen.equals(other.listen);
    }

    /**
     * What is wrong with {@code token} as a bearer token, or empty when it is fine. Never quotes
     * the token: the answer may be printed.
     */
    public static Optional<String> tokenProblem(String token) {
        if (token.length() < MIN_TOKEN_LENGTH || token.length() > MAX_TOKEN_LENGTH) {
            return Optional.of(MIN_TOKEN_LENGTH + ".." + MAX_TOKEN_LENGTH + " characters, got " + token.length());
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < 0x21 || c > 0x7e) {
                String what = c == ' ' || c == '\t' ? (i == 0 || i == token.length() - 1 ? "surrounding whitespace"
                        : "a space") : c == '\r' || c == '\n' ? "a line break" : c < 0x21 || c == 0x7f
                        ? "a control character" : "a non-ASCII character";
                return Optional.of("visible ASCII characters only (0x21..0x7E), found " + what + " at index " + i);
            }
        }
        return Optional.empty();
    }

    /** Never prints the token: this record ends up in logs and reload summaries. */
    @Override
    public String toString() {
        return "AdminSettings[enabled=" + enabled + ", listen=" + listen + ", token="
                + (token.isPresent() ? "***" : "none") + ", allowedHosts=" + allowedHosts + "]";
    }
}
