package io.tandem.config;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Server name → backend set of a VIP with {@link SniRouting}: an exact name first, then the
 * longest {@code *.} wildcard that covers it (Envoy's order; {@code *.example.org} covers
 * {@code a.example.org} and {@code a.b.example.org}, never {@code example.org}). Names compare
 * case-insensitively and a trailing dot is ignored (DNS: {@code Api.Example.COM.} is
 * {@code api.example.com}). Built once per pool snapshot; lookups are a few hash probes, one per
 * label of the name.
 */
public final class SniNames {
    /** A host name as a TLS client may send it (RFC 6066: a DNS host name; underscores are common in the wild). */
    private static final Pattern LABELS = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
            + "(\\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*");

    public static final SniNames NONE = new SniNames(Map.of(), Map.of());

    /** Exact name → set. */
    private final Map<String, Integer> exact;
    /** Wildcard suffix, with its dot ({@code .example.org}) → set. */
    private final Map<String, Integer> wildcards;

    private SniNames(Map<String, Integer> exact, Map<String, Integer> wildcards) {
        this.exact = exact;
        this.wildcards = wildcards;
    }

    /** The matcher of {@code sni}'s routes (set {@code i + 1} for {@code routes[i]}). Names must be {@link #normalize}d. */
    public static SniNames of(SniRouting sni) {
        if (!sni.enabled()) {
            return NONE;
        }
        Map<String, Integer> exact = new HashMap<>();
        Map<String, Integer> wildcards = new HashMap<>();
        List<SniRouting.Route> routes = sni.routes();
        for (int i = 0; i < routes.size(); i++) {
            for (String name : routes.get(i).serverNames()) {
                if (name.startsWith("*.")) {
                    wildcards.putIfAbsent(name.substring(1), i + 1);
                } else {
                    exact.putIfAbsent(name, i + 1);
                }
            }
        }
        return new SniNames(Map.copyOf(exact), Map.copyOf(wildcards));
    }

    /** The set for {@code serverName} as a client sent it: {@code i + 1} for routes[i], 0 when no route names it. */
    public int set(String serverName) {
        String name = lookupForm(serverName);
        Integer set = exact.get(name);
        if (set != null) {
            return set;
        }
        if (!wildcards.isEmpty()) {
            for (int dot = name.indexOf('.'); dot >= 0 && dot < name.length() - 1; dot = name.indexOf('.', dot + 1)) {
                if (dot == 0) {
                    continue; // ".example.org" is no name below example.org
                }
                set = wildcards.get(name.substring(dot));
                if (set != null) {
                    return set; // the first hit is the longest suffix
                }
            }
        }
        return 0;
    }

    private static String lookupForm(String serverName) {
        String n = serverName.toLowerCase(Locale.ROOT);
        return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
    }

    /**
     * A configured server name in the form the matcher compares ({@code *.Example.ORG.} →
     * {@code *.example.org}), or empty with {@code why} when it is not a host name or a
     * {@code *.} wildcard over one.
     */
    public static Optional<String> normalize(String configured, StringBuilder why) {
        String n = lookupForm(configured);
        String host = n.startsWith("*.") ? n.substring(2) : n;
        if (n.isEmpty() || host.length() > 253 || !LABELS.matcher(host).matches()) {
            why.append(host.contains("*")
                    ? "a server name; a wildcard is one leading \"*.\" label only, e.g. *.example.org"
                    : "a server name such as api.example.com or *.example.org");
            return Optional.empty();
        }
        return Optional.of(n);
    }
}
