package io.tandem.core.logging;

import static java.util.Objects.requireNonNull;

import io.tandem.config.LogFormat;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The format every {@link TandemEncoder} writes in, for the whole process: the config's
 * {@code logging.format} once the node has read it ({@link #apply}, at start and on every
 * reload), and before that {@code -Dtandem.log.format=logfmt|json} (default logfmt), so the
 * lines of a process that never reads a config (or fails to) have a format too.
 */
public final class LogOutput {
    private static final Logger log = LoggerFactory.getLogger(LogOutput.class);
    /** The system property read at class load. */
    static final String PROPERTY = "tandem.log.format";

    private static volatile LogFormat format = initial(System.getProperty(PROPERTY));

    private LogOutput() {
    }

    /** The format lines are written in now. */
    public static LogFormat format() {
        return format;
    }

    /** Writes every following line in {@code next}; says so (in the new format) when it changes. */
    public static void apply(LogFormat next) {
        requireNonNull(next, "next");
        LogFormat was = format;
        if (was != next) {
            format = next;
            log.info("log format changed from={} to={}", was.name().toLowerCase(Locale.ROOT),
                    next.name().toLowerCase(Locale.ROOT));
        }
    }

    static LogFormat initial(String property) {
        return property != null && property.strip().equalsIgnoreCase("json") ? LogFormat.JSON : LogFormat.LOGFMT;
    }
}
