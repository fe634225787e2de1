package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The spelling of byte sizes on the command line ({@code --max-config-size 8MiB}): a whole
 * number of bytes, or a whole number with a binary unit {@code KiB}, {@code MiB}, {@code GiB}
 * (case-insensitive). Decimal units are refused rather than guessed: {@code 8MB} could mean
 * 8,000,000 or 8,388,608 bytes.
 */
public final class ByteSizes {
    static final String EXPECTED = "a size such as 4194304, 512KiB or 8MiB";

    private static final Pattern SYNTAX = Pattern.compile("(\\d{1,12})\\s*(B|KIB|MIB|GIB)?");

    private ByteSizes() {
    }

    /**
     * Parses a size in bytes.
     *
     * @throws IllegalArgumentException reading {@code "8MB" (expected a size such as 4194304, 512KiB or 8MiB)}
     */
    public static long parse(String text) {
        requireNonNull(text, "text");
        Matcher m = SYNTAX.matcher(text.strip().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException(Render.quote(text) + " (expected " + EXPECTED + ")");
        }
        long n = Long.parseLong(m.group(1));
        int shift = switch (m.group(2) == null ? "B" : m.group(2)) {
            case "KIB" -> 10;
            case "MIB" -> 20;
            case "GIB" -> 30;
            default -> 0;
        };
        if (n > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException(Render.quote(text) + " (expected " + EXPECTED + ")");
        }
        return n << shift;
    }

    /** The shortest exact spelling: {@code 4MiB}, {@code 1536KiB}, {@code 1000}. */
    public static String format(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes: " + bytes + " (expected >= 0)");
        }
        String[] units = {"GiB", "MiB", "KiB"};
        int[] shifts = {30, 20, 10};
        for (int i = 0; i < units.length; i++) {
            long unit = 1L << shifts[i];
            if (bytes >= unit && bytes % unit == 0) {
                return (bytes >> shifts[i]) + units[i];
            }
        }
        return Long.toString(bytes);
    }
}
