package io.tandem.config;

import static java.util.Objects.requireNonNull;

/**
 * The {@code logging} section. Held by {@link RuntimeSettings} (it is node-wide, like the event
 * loops) though written at the top level of the file; applies on reload.
 *
 * @param format how each log line is written: logfmt (the default) or JSON
 */
public record LoggingSettings(LogFormat format) {
    public static final LoggingSettings DEFAULTS = new LoggingSettings(LogFormat.LOGFMT);

    public LoggingSettings {
        requireNonNull(format, "format");
    }
}
