package io.tandem.core.policy;

/**
 * 64-bit hashing for consistent-hash policies. Hand-rolled (MurmurHash3 x64 block mixing with
 * its {@code fmix64} finaliser) so the result is fixed by this file alone: both nodes of an HA
 * pair must compute the same value for the same bytes, whatever JDK or library version each
 * runs, and {@code String.hashCode}/{@code InetAddress.hashCode} give no such promise (and
 * mix poorly). Not for anything security-sensitive.
 */
final class Hashing {
    private static final long C1 = 0x87c37b91114253d5L;
    private static final long C2 = 0x4cf5ad432745937fL;

    private Hashing() {}

    /** Hashes all of {@code data} with {@code seed}; different seeds give independent hashes. */
    static long hash64(byte[] data, long seed) {
        int length = data.length;
        long h = seed ^ (length * 0x9E3779B97F4A7C15L);
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            h ^= mixBlock(littleEndianLong(data, i));
            h = Long.rotateLeft(h, 27) * 5 + 0x52dce729;
        }
        if (i < length) {
            long tail = 0;
            for (int shift = 0; i < length; i++, shift += 8) {
                tail |= (data[i] & 0xffL) << shift;
            }
            h ^= mixBlock(tail);
        }
        return fmix64(h ^ length);
    }

    /** MurmurHash3's finaliser: every input bit affects every output bit (avalanche). */
    static long fmix64(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }

    private static long mixBlock(long k) {
        k *= C1;
        k = Long.rotateLeft(k, 31);
        return k * C2;
    }

    private static long littleEndianLong(byte[] b, int at) {
        return (b[at] & 0xffL)
                | (b[at + 1] & 0xffL) << 8
                | (b[at + 2] & 0xffL) << 16
                | (b[at + 3] & 0xffL) << 24
                | (b[at + 4] & 0xffL) << 32
                | (b[at + 5] & 0xffL) << 40
                | (b[at + 6] & 0xffL) << 48
                | (b[at + 7] & 0xffL) << 56;
    }
}
