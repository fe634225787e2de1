package io.tandem.config;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;

/**
 * Longest-prefix match over IPv4 and IPv6 prefixes, each carrying a verdict, flattened at build
 * time into sorted disjoint address ranges: a lookup is one binary search (O(log n), no
 * allocation beyond the address bytes), whatever the number of prefixes. IPv4 lives in the
 * IPv4-mapped block {@code ::ffff:0:0/96} of one 128-bit space, so a v4 prefix and a v4-mapped
 * client address meet. Immutable.
 */
final class PrefixTable {
    /** A prefix and its verdict, as given to {@link #build}. */
    record Entry(Cidr cidr, byte verdict) {
    }

    static final byte NONE = 0;


    private final long[] startHi;
    private final long[] startLo;
    private final long[] endHi;
    private final long[] endLo;
    private final byte[] verdicts;

    private PrefixTable(List<long[]> ranges, List<Byte> verdicts) {
        int n = ranges.size();
        startHi = new long[n];
        startLo = new long[n];
        endHi = new long[n];
        endLo = new long[n];
        this.verdicts = new byte[n];
        for (int i = 0; i < n; i++) {
            long[] r = ranges.get(i);
            startHi[i] = r[0];
            startLo[i] = r[1];
            endHi[i] = r[2];
            endLo[i] = r[3];
            this.verdicts[i] = verdicts.get(i);
        }
    }

    /**
     * Builds the table. Prefixes nest or are disjoint (a property of CIDR blocks), so a sweep in
     * (start, shorter first) order with a stack of the enclosing prefixes gives every address the
     * verdict of the longest prefix holding it. The same prefix twice keeps the last verdict (the
     * config reader refuses the same prefix with two verdicts before this is built).
     */
    static PrefixTable build(List<Entry> entries) {
        List<long[]> keyed = new ArrayList<>(entries.size()); // {startHi, startLo, endHi, endLo, length, verdict}
        for (Entry e : entries) {
            long[] start = key(e.cidr().network());
            int length = e.cidr().network() instanceof Inet4Address ? e.cidr().length() + 96 : e.cidr().length();
            long[] end = last(start, length);
            keyed.add(new long[] {start[0], start[1], end[0], end[1], length, e.verdict()});
        }
        keyed.sort(Comparator.<long[]>comparingLong(k -> k[0] ^ Long.MIN_VALUE)
                .thenComparingLong(k -> k[1] ^ Long.MIN_VALUE).thenComparingLong(k -> k[4]));
        List<long[]> ranges = new ArrayList<>();
        List<Byte> verdicts = new ArrayList<>();
        Deque<long[]> open = new ArrayDeque<>();
        long[] cursor = null; // the first address not yet given a verdict (null: past the end of the space)
        for (long[] k : keyed) {
            while (!open.isEmpty() && compare(open.peek()[2], open.peek()[3], k[0], k[1]) < 0) {
                cursor = close(open.pop(), cursor, ranges, verdicts);
            }
            if (!open.isEmpty() && cursor != null && compare(cursor[0], cursor[1], k[0], k[1]) < 0) {
                emit(cursor, before(k[0], k[1]), (byte) open.peek()[5], ranges, verdicts);
            }
            if (!open.isEmpty() && open.peek()[4] == k[4]) {
                open.pop(); // the same prefix again: the later entry wins
            }
            cursor = new long[] {k[0], k[1]};
            open.push(k);
        }
        while (!open.isEmpty()) {
            cursor = close(open.pop(), cursor, ranges, verdicts);
        }
        return new PrefixTable(ranges, verdicts);
    }

    /** The verdict of the longest prefix holding {@code address}, or {@link #NONE}. */
    byte lookup(InetAddress address) {
        long hi = 0;
        long lo;
        if (address instanceof Inet4Address v4) {
            lo = 0x0000_ffff_0000_0000L | (Ipv4.bits(v4) & 0xffff_ffffL); // no byte[] copy per lookup
            return find(hi, lo);
        }
        byte[] b = address.getAddress();
        if (b.length == 4) {
            lo = 0x0000_ffff_0000_0000L
                    | ((b[0] & 0xffL) << 24) | ((b[1] & 0xffL) << 16) | ((b[2] & 0xffL) << 8) | (b[3] & 0xffL);
        } else {
            lo = 0;
            for (int i = 0; i < 8; i++) {
                hi = (hi << 8) | (b[i] & 0xffL);
                lo = (lo << 8) | (b[i + 8] & 0xffL);
            }
        }
        return find(hi, lo);
    }

    private byte find(long hi, long lo) {
        int low = 0;
        int high = startHi.length - 1;
        int found = -1;
        while (low <= high) { // the last range starting at or before the address
            int mid = (low + high) >>> 1;
            if (compare(startHi[mid], startLo[mid], hi, lo) <= 0) {
                found = mid;
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        if (found < 0 || compare(hi, lo, endHi[found], endLo[found]) > 0) {
            return NONE;
        }
        return verdicts[found];
    }

    /** Disjoint ranges in the table (for tests and the size it reports). */
    int ranges() {
        return verdicts.length;
    }

    /** Gives what is left of {@code k} (from the cursor to its end) its verdict; returns the next cursor. */
    private static long[] close(long[] k, long[] cursor, List<long[]> ranges, List<Byte> verdicts) {
        if (cursor != null && compare(cursor[0], cursor[1], k[2], k[3]) <= 0) {
            emit(cursor, new long[] {k[2], k[3]}, (byte) k[5], ranges, verdicts);
        }
        return after(k[2], k[3]);
    }

    private static void emit(long[] from, long[] to, byte verdict, List<long[]> ranges, List<Byte> verdicts) {
        int n = ranges.size();
        if (n > 0 && verdicts.get(n - 1) == verdict) {
            long[] prev = ranges.get(n - 1);
            long[] next = after(prev[2], prev[3]);
            if (next != null && next[0] == from[0] && next[1] == from[1]) {
                prev[2] = to[0]; // adjacent, same verdict: one range
                prev[3] = to[1];
                return;
            }
        }
        ranges.add(new long[] {from[0], from[1], to[0], to[1]});
        verdicts.add(verdict);
    }

    static long[] key(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 4) {
            long v4 = ((b[0] & 0xffL) << 24) | ((b[1] & 0xffL) << 16) | ((b[2] & 0xffL) << 8) | (b[3] & 0xffL);
            return new long[] {0L, 0x0000_ffff_0000_0000L | v4};
        }
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = (hi << 8) | (b[i] & 0xffL);
            lo = (lo << 8) | (b[i + 8] & 0xffL);
        }
        return new long[] {hi, lo};
    }

    /** The last address of the prefix of {@code length} bits starting at {@code start}. */
    private static long[] last(long[] start, int length) {
        long hiHost = length >= 64 ? 0L : (length == 0 ? -1L : -1L >>> length);
        long loHost = length <= 64 ? -1L : (length == 128 ? 0L : -1L >>> (length - 64));
        return new long[] {start[0] | hiHost, start[1] | loHost};
    }

    private static int compare(long hiA, long loA, long hiB, long loB) {
        int c = Long.compareUnsigned(hiA, hiB);
        return c != 0 ? c : Long.compareUnsigned(loA, loB);
    }

    /** The address after {@code (hi, lo)}, or null past the end of the space. */
    private static long[] after(long hi, long lo) {
        if (lo != -1L) {
            return new long[] {hi, lo + 1};
        }
        return hi == -1L ? null : new long[] {hi + 1, 0L};
    }

    /** The address before {@code (hi, lo)} (never called with zero: a range starts after the cursor). */
    private static long[] before(long hi, long lo) {
        return lo != 0L ? new long[] {hi, lo - 1} : new long[] {hi - 1, -1L};
    }
}
