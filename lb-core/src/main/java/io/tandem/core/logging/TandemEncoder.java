package io.tandem.core.logging;

import static java.nio.charset.StandardCharsets.UTF_8;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.encoder.EncoderBase;
import io.tandem.config.LogFormat;
import java.time.Instant;
import java.util.ArrayList;
import org.slf4j.event.KeyValuePair;

/**
 * The node's log encoder (named in {@code logback.xml}): one line per event, logfmt or JSON as
 * {@link LogOutput#format()} says, fields read from the message pattern by {@link LogLine}, every
 * value escaped for its format. A throwable becomes two fields, {@code exception} (its class and
 * message) and {@code stack} (the whole trace, escaped into the same line), so one event is always
 * one line for whatever reads the log.
 */
public final class TandemEncoder extends EncoderBase<ILoggingEvent> {
    /** Loggers whose messages follow the house key=value style. */
    private static final String OWN = "io.tandem.";

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        return line(event).render(LogOutput.format()).getBytes(UTF_8);
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }

    static Rendered line(ILoggingEvent event) {
        String name = event.getLoggerName() == null ? "" : event.getLoggerName();
        IThrowableProxy t = event.getThrowableProxy();
        String exception = t == null ? null
                : t.getMessage() == null ? t.getClassName() : t.getClassName() + ": " + t.getMessage();
        String stack = t == null ? null : ThrowableProxyUtil.asString(t).stripTrailing();
        Object[] args = event.getArgumentArray();
        LogLine line = LogLine.of(Instant.ofEpochMilli(event.getTimeStamp()), event.getLevel().toString(),
                name.substring(name.lastIndexOf('.') + 1), event.getMessage(), args, name.startsWith(OWN),
                exception, stack);
        if (event.getKeyValuePairs() != null && !event.getKeyValuePairs().isEmpty()) {
            var fields = new ArrayList<>(line.fields());
            for (KeyValuePair kv : event.getKeyValuePairs()) {
                fields.add(new LogLine.Field(kv.key, LogLine.render(kv.value),
                        kv.value instanceof Number || kv.value instanceof Boolean ? kv.value : null));
            }
            line = new LogLine(line.at(), line.level(), line.logger(), line.msg(), fields, line.exception(),
                    line.stack());
        }
        return new Rendered(line);
    }

    /** A line, renderable in either format. */
    record Rendered(LogLine line) {
        String render(LogFormat format) {
            return format == LogFormat.JSON ? line.json() : line.logfmt();
        }
    }
}
