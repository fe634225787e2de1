package io.tandem.health.check;

import java.util.random.RandomGenerator;

/** A "random" source that always draws the same fraction, to pin jitter in tests. */
record FixedRandom(double fraction) implements RandomGenerator {
    @Override
    public long nextLong() {
        return (long) (fraction * Long.MAX_VALUE);
    }

    @Override
    public double nextDouble() {
        return fraction;
    }
}
