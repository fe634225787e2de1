package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Optional;

/**
 * An IPv4 or IPv6 prefix, {@code 10.0.0.0/8} or {@code 2001:db8::/32}; a bare address is a
 * single host ({@code /32}, {@code /128}). Host bits must be zero: {@code 10.1.2.3/8} is refused
 * with the prefix it probably meant, so a typo never widens or narrows a rule silently.
 *
 * @param network the first address of the prefix
 * @param length  the prefix length (0..32 for IPv4, 0..128 for IPv6)
 */
public record Cidr(InetAddress network, int length) {
    public Cidr {
        requireNonNull(network, "network");
        int max = network instanceof Inet4Address ? 32 : 128;
        if (length < 0 || length > max) {
            throw new IllegalArgumentException("prefix length " + length + " (expected 0.." + max + ")");
        }
    }

    /**
     * Parses {@code text}; the error (empty when it parses) says what was expected, e.g.
     * {@code "a prefix with its host bits zero: 10.0.0.0/8"} for {@code 10.1.2.3/8}.
     */
    public static Parsed parse(String text) {
        requireNonNull(text, "text");
        String t = text.strip();
        int slash = t.indexOf('/');
        String addr = slash < 0 ? t : t.substring(0, slash);
        InetAddress a;
        try {
            a = InetAddress.ofLiteral(addr);
        } catch (IllegalArgumentException e) {
            return Parsed.error("an IPv4 or IPv6 prefix, e.g. 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32");
        }
        int max = a instanceof Inet4Address ? 32 : 128;
        int length = max;
        if (slash >= 0) {
            String len = t.substring(slash + 1);
            if (len.isEmpty() || len.length() > 3 || !len.chars().allMatch(Character::isDigit)) {
                return Parsed.error("a prefix length 0.." + max + " after '/'");
            }
            length = Integer.parseInt(len);
            if (length > max) {
                return Parsed.error("a prefix length 0.." + max + " for " + (max == 32 ? "IPv4" : "IPv6"));
            }
        }
        byte[] bytes = a.getAddress();
        byte[] masked = mask(bytes, length);
        if (!java.util.Arrays.equals(bytes, masked)) {
            Cidr meant = new Cidr(address(masked), length);
            return Parsed.error("a prefix with its host bits zero: " + meant);
        }
        return new Parsed(Optional.of(new Cidr(a, length)), "");
    }

    /** Whether {@code address} lies in this prefix (an IPv4 prefix never holds an IPv6 address). */
    public boolean contains(InetAddress address) {
        byte[] b = address.getAddress();
        byte[] n = network.getAddress();
        if (b.length != n.length) {
            return false;
        }
        return java.util.Arrays.equals(mask(b, length), n);
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + length;
    }

    /** The outcome of {@link #parse}: a prefix, or the reason it is not one. */
    public record Parsed(Optional<Cidr> cidr, String error) {
        static Parsed error(String why) {
            return new Parsed(Optional.empty(), why);
        }
    }

    static byte[] mask(byte[] bytes, int length) {
        byte[] out = bytes.clone();
        for (int i = 0; i < out.length; i++) {
            int bits = Math.max(0, Math.min(8, length - i * 8));
            out[i] &= (byte) (0xff << (8 - bits));
        }
        return out;
    }

    private static InetAddress address(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes: cannot happen
        }
    }
}
