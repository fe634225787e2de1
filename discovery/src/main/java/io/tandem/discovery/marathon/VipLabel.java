package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One DC/OS VIP port label, parsed the way dcos-net does: a key starting with {@code VIP} or
 * {@code vip}, a value {@code <name-or-ip>:<port>} split at the <em>last</em> colon, port > 0.
 * An IPv4 dotted quad or an IPv6 literal (optionally in brackets) is an address VIP (a malformed
 * dotted quad or bracketed literal is an error, not a name); anything else is a named VIP, kept verbatim ({@code /orders} and {@code orders} are different names).
 */
record VipLabel(Optional<String> name, Optional<InetAddress> address, int port) {

    private static final Pattern DOTTED_QUAD = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    VipLabel {
        requireNonNull(name, "name");
        requireNonNull(address, "address");
        if (name.isPresent() == address.isPresent()) {
            throw new IllegalArgumentException("exactly one of name and address");
        }
    }

    static boolean isVipKey(String key) {
        return key.startsWith("VIP") || key.startsWith("vip");
    }

    /**
     * @throws IllegalArgumentException {@code VIP_0: "x" (expected <name-or-ip>:<port>, port 1..65535)}
     */
    static VipLabel parse(String key, String value) {
        String v = value == null ? "" : value.trim();
        int colon = v.lastIndexOf(':');
        if (colon <= 0 || colon == v.length() - 1) {
            throw bad(key, value);
        }
        String host = v.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(v.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw bad(key, value);
        }
        if (port < 1 || port > 65535) {
            throw bad(key, value);
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
            return new VipLabel(Optional.empty(), Optional.of(literal(key, value, host)), port);
        }
        if (DOTTED_QUAD.matcher(host).matches()) {
            return new VipLabel(Optional.empty(), Optional.of(literal(key, value, host)), port);
        }
        if (host.indexOf(':') >= 0) {
            try {
                return new VipLabel(Optional.empty(), Optional.of(InetAddress.ofLiteral(host)), port);
            } catch (IllegalArgumentException e) {
                // like dcos-net: what does not parse as an address is a name
            }
        }
        return new VipLabel(Optional.of(host), Optional.empty(), port);
    }

    private static InetAddress literal(String key, String value, String host) {
        try {
            return InetAddress.ofLiteral(host);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": \"" + value + "\" (expected a valid IP address before the port)");
        }
    }

    private static IllegalArgumentException bad(String key, String value) {
        return new IllegalArgumentException(key + ": \"" + value + "\" (expected <name-or-ip>:<port>, port 1..65535)");
    }
}
