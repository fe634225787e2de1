package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** The outcome of loading a config: a whole valid config, or every error found. Never both. */
public sealed interface ConfigResult permits ConfigResult.Valid, ConfigResult.Invalid {

    record Valid(TandemConfig config) implements ConfigResult {
        public Valid {
            requireNonNull(config, "config");
        }
    }

    record Invalid(List<ConfigError> errors) implements ConfigResult {
        public Invalid {
            errors = List.copyOf(errors);
            if (errors.isEmpty()) {
                throw new IllegalArgumentException("errors: [] (expected at least one error)");
            }
        }
    }
}
