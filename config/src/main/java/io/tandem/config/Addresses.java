package io.tandem.config;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads {@code host:port} text without ever touching DNS: the config stays a pure value and
 * validation is as fast offline as online.
 */
final class Addresses {
    private static final Pattern IPV4 = Pattern.compile(
            "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern PORT = Pattern.compile("\\d{1,5}");
    private static final Pattern DIGITS_AND_DOTS = Pattern.compile("[\\d.]+");
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?");

    /** What a host may be. */
    enum HostRule {
        /** Bind addresses of VIPs: an IP literal, so a listener never depends on a resolver. */
        IP_LITERAL,
        /** Backends and the admin API: an IP literal or a host name. */
        IP_OR_NAME
    }

    /** A parsed address, or what was expected instead. */
    record Parsed(Optional<HostPort> address, String expected) {
        static Parsed ok(HostPort hp) {
            return new Parsed(Optional.of(hp), "");
        }

        static Parsed bad(String expected) {
            return new Parsed(Optional.empty(), expected);
        }
    }

    private Addresses() {
    }

    static Parsed parse(String text, HostRule rule) {
        String example = rule == HostRule.IP_LITERAL ? "127.0.0.1:8080" : "10.0.0.5:8080";
        String host;
        String port;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0 || close + 1 >= text.length() || text.charAt(close + 1) != ':') {
                return Parsed.bad("[ipv6]:port, e.g. [::1]:8080");
            }
            host = text.substring(1, close);
            port = text.substring(close + 2);
            if (ipv6(host).isEmpty()) {
                return Parsed.bad("an IPv6 address inside [ ], e.g. [::1]:8080");
            }
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) {
                return Parsed.bad("host:port, e.g. " + example);
            }
            if (text.indexOf(':') != colon) {
                return Parsed.bad("an IPv6 address in brackets, e.g. [::1]:8080");
            }
            host = text.substring(0, colon);
            port = text.substring(colon + 1);
            if (host.isEmpty()) {
                return Parsed.bad("host:port, e.g. " + example);
            }
            String hostProblem = rule == HostRule.IP_LITERAL ? ipv4Problem(host) : hostProblem(host);
            if (hostProblem != null) {
                return Parsed.bad(hostProblem);
            }
        }
        if (!PORT.matcher(port).matches() || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            return Parsed.bad("a port 1..65535");
        }
        return Parsed.ok(new HostPort(host, Integer.parseInt(port)));
    }

    private static String ipv4Problem(String host) {
        if (IPV4.matcher(host).matches()) {
            return null;
        }
        return "an IP address to listen on, such as 127.0.0.1, 0.0.0.0, [::1] or [::]";
    }

    private static String hostProblem(String host) {
        if (DIGITS_AND_DOTS.matcher(host).matches()) {
            return IPV4.matcher(host).matches() ? null : "a valid IPv4 address or a host name";
        }
        if (host.length() > 253) {
            return "a host name of at most 253 characters";
        }
        for (String label : host.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                return "a host name (letters, digits, '-', '.') or an IP address";
            }
        }
        return null;
    }

    private static Optional<InetAddress> ipv6(String host) {
        if (host.indexOf(':') < 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(Inet6Address.ofLiteral(host));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** A canonical spelling for duplicate detection: {@code [::1]} and {@code [0:0::1]} are one address. */
    static String canonical(HostPort hp) {
        String host = hp.host();
        if (host.indexOf(':') >= 0) {
            host = ipv6(host).map(InetAddress::getHostAddress).orElse(host);
        }
        return new HostPort(host.toLowerCase(Locale.ROOT), hp.port()).toString();
    }

    /** True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
    /** An IPv4 dotted quad or an IPv6 literal (no brackets, no port), checked without DNS. */
    static boolean isIpLiteral(String host) {
        return IPV4.matcher(host).matches() || (host.indexOf(':') >= 0 && ipv6(host).isPresent());
    }

    static boolean isLoopback(String host) {
        if (host.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (IPV4.matcher(host).matches()) {
            return host.startsWith("127.");
        }
        return ipv6(host).map(InetAddress::isLoopbackAddress).orElse(false);
    }
}
