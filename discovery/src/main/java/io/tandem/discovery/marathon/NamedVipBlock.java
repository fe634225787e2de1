package io.tandem.discovery.marathon;

import static java.util.Objects.requireNonNull;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The address block named VIPs are allocated from, and the allocation itself.
 *
 * <p>Both nodes of a pair must give {@code /orders} the same address without talking to each
 * other, across restarts, whatever order Marathon lists apps in. So an address is a pure function
 * of the <em>set</em> of names: each name hashes (SHA-256) to a preferred offset in the block;
 * names are placed in sorted order and a name whose slot is taken probes the following
 * addresses. The one edge case: a new name that sorts before an existing one and hashes to the
 * same slot takes that slot, and the existing name moves. With a /17 (32 766 usable addresses) and
 * tens of names this is rare (birthday bound: ~0.15% for 10 names); it is logged when it happens.
 * The network and broadcast addresses are never used (blocks of /30 or larger, v4; /126 v6).
 */
record NamedVipBlock(String cidr, BigInteger first, BigInteger size, int addressBytes) {

    static NamedVipBlock parse(String cidr) {
        requireNonNull(cidr, "cidr");
        int slash = cidr.indexOf('/');
        if (slash <= 0) {
            throw new IllegalArgumentException("\"" + cidr + "\" (expected address/prefix, e.g. 198.18.128.0/17)");
        }
        String addr = cidr.substring(0, slash);
        InetAddress base;
        int prefix;
        try {
            base = InetAddress.ofLiteral(addr);
            prefix = Integer.parseInt(cidr.substring(slash + 1));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"" + cidr + "\" (expected address/prefix, e.g. 198.18.128.0/17)");
        }
        int bytes = base.getAddress().length;
        int bits = bytes * 8;
        if (prefix < 0 || prefix > bits) {
            throw new IllegalArgumentException("\"" + cidr + "\" (expected prefix 0.." + bits + ")");
        }
        BigInteger value = new BigInteger(1, base.getAddress());
        BigInteger size = BigInteger.ONE.shiftLeft(bits - prefix);
        if (!value.mod(size).equals(BigInteger.ZERO)) {
            throw new IllegalArgumentException("\"" + cidr + "\" (expected host bits to be zero)");
        }
        BigInteger first = value;
        if (size.compareTo(BigInteger.valueOf(4)) >= 0) {
            first = first.add(BigInteger.ONE);
            size = size.subtract(BigInteger.TWO);
        }
        return new NamedVipBlock(cidr, first, size, bytes);
    }

    boolean contains(InetAddress a) {
        if (a.getAddress().length != addressBytes) {
            return false;
        }
        BigInteger v = new BigInteger(1, a.getAddress());
        return v.compareTo(first) >= 0 && v.compareTo(first.add(size)) < 0;
    }

    /** Result: addresses by name, and the names that found no free address. */
    record Allocation(Map<String, InetAddress> addresses, List<String> exhausted) { }

    /**
     * Allocates an address to every name. {@code reserved} are addresses already claimed by
     * address VIPs; they are skipped so a named VIP never lands on one.
     */
    Allocation allocate(Collection<String> names, Collection<InetAddress> reserved) {
        Set<BigInteger> used = new HashSet<>();
        for (InetAddress r : reserved) {
            if (contains(r)) {
                used.add(new BigInteger(1, r.getAddress()).subtract(first));
            }
        }
        Map<String, InetAddress> out = new LinkedHashMap<>();
        List<String> exhausted = new ArrayList<>();
        for (String name : new TreeSet<>(names)) {
            if (BigInteger.valueOf(used.size()).compareTo(size) >= 0) {
                exhausted.add(name);
                continue;
            }
            BigInteger offset = hash(name).mod(size);
            while (used.contains(offset)) {
                offset = offset.add(BigInteger.ONE).mod(size);
            }
            used.add(offset);
            out.put(name, toAddress(first.add(offset)));
        }
        return new Allocation(out, List.copyOf(exhausted));
    }

    private InetAddress toAddress(BigInteger v) {
        byte[] raw = v.toByteArray();
        byte[] b = new byte[addressBytes];
        int n = Math.min(raw.length, addressBytes);
        System.arraycopy(raw, raw.length - n, b, addressBytes - n, n);
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private static BigInteger hash(String name) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return new BigInteger(1, Arrays.copyOf(d, 16));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is mandatory in every JDK", e);
        }
    }
}
