package io.tandem.core.testing;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A deterministic, non-repeating byte stream (splitmix64 of the seed and the 8-byte word
 * index), so a receiver can check gigabytes incrementally without buffering them: any lost,
 * duplicated, reordered or corrupted byte shows as a mismatch at its exact offset.
 */
public final class PatternStream {
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private final long seed;
    private long position;
    private byte[] scratch = new byte[0];

    public PatternStream(long seed) {
        this.seed = seed;
    }

    public long position() {
        return position;
    }

    private long word(long index) {
        long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Fills {@code dst[off, off+len)} with the next {@code len} bytes of the stream. */
    public void next(byte[] dst, int off, int len) {
        long p = position;
        int i = 0;
        while (i < len && (p & 7) != 0) {
            dst[off + i++] = (byte) (word(p >>> 3) >>> ((p & 7) * 8));
            p++;
        }
        while (len - i >= 8) {
            LONG_LE.set(dst, off + i, word(p >>> 3));
            i += 8;
            p += 8;
        }
        while (i < len) {
            dst[off + i++] = (byte) (word(p >>> 3) >>> ((p & 7) * 8));
            p++;
        }
        position = p;
    }

    /**
     * Checks that {@code buf[off, off+len)} is the next part of the stream and advances.
     *
     * @return -1 when it matches, else the absolute stream offset of the first wrong byte
     */
    public long verify(byte[] buf, int off, int len) {
        if (scratch.length < len) {
            scratch = new byte[Math.max(len, 64 * 1024)];
        }
        long start = position;
        next(scratch, 0, len);
        int m = Arrays.mismatch(buf, off, off + len, scratch, 0, len);
        return m < 0 ? -1 : start + m;
    }
}
