package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The config spelling of durations: a decimal number and a unit, {@code 250ms}, {@code 2s},
 * {@code 1.5s}, {@code 5m}, {@code 1h}, {@code 7d}; a bare {@code 0} means zero. The unit is
 * required so that {@code timeout: 5} can never silently mean 5 ms or 5 s.
 */
public final class Durations {
    /** The "expected" part of every error about a badly spelled duration. */
    static final String EXPECTED = "a duration such as 250ms, 2s, 1m";

    private static final Pattern SYNTAX = Pattern.compile("(\\d{1,18})(?:\\.(\\d{1,9}))?(ms|s|m|h|d)");

    /** Units from largest to smallest, in nanoseconds. */
    private static final String[] UNITS = {"d", "h", "m", "s", "ms"};
    private static final long[] UNIT_NANOS = {
            86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L, 1_000_000_000L, 1_000_000L};

    private Durations() {
    }

    /**
     * Parses a duration.
     *
     * @throws IllegalArgumentException reading {@code "5" (expected a duration such as 250ms, 2s, 1m)}
     */
    public static Duration parse(String text) {
        requireNonNull(text, "text");
        return tryParse(text).orElseThrow(() -> new IllegalArgumentException(
                Render.quote(text) + " (expected " + EXPECTED + ")"));
    }

    /** Like {@link #parse} but empty instead of throwing, for the config walker. */
    static Optional<Duration> tryParse(String text) {
        if (text.equals("0")) {
            return Optional.of(Duration.ZERO);
        }
        Matcher m = SYNTAX.matcher(text);
        if (!m.matches()) {
            return Optional.empty();
        }
        String number = m.group(2) == null ? m.group(1) : m.group(1) + "." + m.group(2);
        long unit = UNIT_NANOS[indexOfUnit(m.group(3))];
        BigDecimal nanos = new BigDecimal(number).multiply(BigDecimal.valueOf(unit));
        try {
            BigInteger whole = nanos.toBigIntegerExact();
            BigInteger[] secondsAndNanos = whole.divideAndRemainder(BigInteger.valueOf(1_000_000_000L));
            return Optional.of(Duration.ofSeconds(secondsAndNanos[0].longValueExact(),
                    secondsAndNanos[1].longValueExact()));
        } catch (ArithmeticException fractionalNanosOrOverflow) {
            return Optional.empty();
        }
    }

    /**
     * The shortest spelling that {@link #parse} reads back as the same duration, never starting
     * with {@code 0.} ({@code 500ms}, not {@code 0.5s}); on a tie the whole number wins
     * ({@code 250ms}, not {@code 0.25s}; {@code 1.5s}, not {@code 1500ms}).
     *
     * @throws IllegalArgumentException for a negative duration
     */
    public static String format(Duration duration) {
        requireNonNull(duration, "duration");
        if (duration.isNegative()) {
            throw new IllegalArgumentException("duration: " + duration + " (expected >= 0)");
        }
        if (duration.isZero()) {
            return "0";
        }
        BigDecimal nanos = new BigDecimal(BigInteger.valueOf(duration.getSeconds())
                .multiply(BigInteger.valueOf(1_000_000_000L))
                .add(BigInteger.valueOf(duration.getNano())));
        String best = null;
        boolean bestWhole = false;
        for (int i = 0; i < UNITS.length; i++) {
            BigDecimal value;
            try {
                value = nanos.divide(BigDecimal.valueOf(UNIT_NANOS[i])).stripTrailingZeros();
            } catch (ArithmeticException notExactInThisUnit) {
                continue; // 100ms is 0.00166...m: no finite spelling in minutes
            }
            if (value.compareTo(BigDecimal.ONE) < 0 && !UNITS[i].equals("ms")) {
                continue;
            }
            String candidate = value.toPlainString() + UNITS[i];
            boolean whole = value.scale() <= 0;
            if (best == null || candidate.length() < best.length()
                    || (candidate.length() == best.length() && whole && !bestWhole)) {
                best = candidate;
                bestWhole = whole;
            }
        }
        return best;
    }

    private static int indexOfUnit(String unit) {
        for (int i = 0; i < UNITS.length; i++) {
            if (UNITS[i].equals(unit)) {
                return i;
            }
        }
        throw new IllegalStateException("unit: " + unit);
    }
}
