package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The bytes behind the {@code send} and {@code expect} strings of send-expect and UDP health
 * checks. The loader stores them as <em>byte strings</em>: each char is one byte (0..255), with
 * the config's {@code \r \n \t \\ \xNN} escapes already decoded and any non-ASCII text written
 * in the file already encoded as UTF-8. So {@code "\xff"} is the single byte 0xFF, and a checker
 * gets exactly the bytes to send or expect with {@link #bytes(String)}. A regex {@code expect}
 * keeps its backslashes (the regex engine reads {@code \r}, {@code \xNN} itself) and is meant
 * to be matched against received bytes decoded as ISO-8859-1.
 */
public final class CheckPayloads {
    static final String ESCAPES = "text with escapes \\r \\n \\t \\\\ \\xNN";

    private CheckPayloads() {
    }

    /** The bytes of a byte string made by the loader. */
    public static byte[] bytes(String byteString) {
        requireNonNull(byteString, "byteString");
        return byteString.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Received bytes as a string a regex {@code expect} can be matched against. */
    public static String text(byte[] received) {
        requireNonNull(received, "received");
        return new String(received, StandardCharsets.ISO_8859_1);
    }

    /** Decodes escapes; null when an escape is malformed. */
    static String decode(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length());
        StringBuilder literal = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '\\') {
                literal.append(c);
                continue;
            }
            if (i + 1 >= text.length()) {
                return null;
            }
            char e = text.charAt(++i);
            switch (e) {
                case 'r' -> literal.append('\r');
                case 'n' -> literal.append('\n');
                case 't' -> literal.append('\t');
                case '\\' -> literal.append('\\');
                case 'x' -> {
                    if (i + 2 >= text.length()) {
                        return null;
                    }
                    int hi = Character.digit(text.charAt(i + 1), 16);
                    int lo = Character.digit(text.charAt(i + 2), 16);
                    if (hi < 0 || lo < 0) {
                        return null;
                    }
                    flush(literal, out);
                    out.write(hi * 16 + lo);
                    i += 2;
                }
                default -> {
                    return null;
                }
            }
        }
        flush(literal, out);
        return new String(out.toByteArray(), StandardCharsets.ISO_8859_1);
    }

    /** Text as a byte string without decoding escapes (for a regex). */
    static String raw(String text) {
        return new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    private static void flush(StringBuilder literal, ByteArrayOutputStream out) {
        out.writeBytes(literal.toString().getBytes(StandardCharsets.UTF_8));
        literal.setLength(0);
    }
}
