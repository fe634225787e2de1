package io.tandem.config;

import static java.util.Objects.requireNonNull;

/**
 * One problem in a config file: where ({@code vips[1].port}), what was found and what was
 * expected. Printed as {@code vips[1].port: 70000 (expected 1..65535)}.
 */
public record ConfigError(String path, String value, String expected) {
    public ConfigError {
        requireNonNull(path, "path");
        requireNonNull(value, "value");
        requireNonNull(expected, "expected");
    }

    @Override
    public String toString() {
        return path + ": " + value + " (expected " + expected + ")";
    }
}
