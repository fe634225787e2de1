package io.tandem.core.logging;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The node's real {@code logback.xml} (not the tests' own) writes lines a logfmt parser reads
 * back field by field: a quote, an {@code =} or a line break inside a value stays inside it, and
 * socket addresses have no leading slash.
 */
class ProductionLogConfigTest {

    private static byte[] encode(String logger, String pattern, Object... args) throws Exception {
        LoggerContext ctx = new LoggerContext();
        JoranConfigurator c = new JoranConfigurator();
        c.setContext(ctx);
        c.doConfigure(Path.of("src/main/resources/logback.xml").toFile());
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        @SuppressWarnings("unchecked")
        var appender = (OutputStreamAppender<ILoggingEvent>) root.getAppender("STDOUT");
        LoggingEvent e = new LoggingEvent("t", ctx.getLogger(logger), Level.WARN, pattern, null, args);
        byte[] out = appender.getEncoder().encode(e);
        ctx.stop();
        return out;
    }

    @Test
    void aQuoteInsideAQuotedValueIsEscapedAndTheLineParsesBack() throws Exception {
        String line = new String(encode("io.tandem.core.control.HealthKeeper",
                "backend down vip={} backend={} reason=\"{}\" after_ms={}", "web", "10.0.0.1:80",
                "HTTP 503 \"Service Unavailable\" body=x\nnext", 12), UTF_8);
        Map<String, String> f = Logfmt.parse(line);
        assertThat(f).containsEntry("level", "WARN").containsEntry("logger", "HealthKeeper")
                .containsEntry("msg", "backend down").containsEntry("vip", "web")
                .containsEntry("backend", "10.0.0.1:80")
                .containsEntry("reason", "HTTP 503 \"Service Unavailable\" body=x\nnext")
                .containsEntry("after_ms", "12");
    }

    @Test
    void aBareValueWithSpacesIsQuotedNotSplit() throws Exception {
        Map<String, String> f = Logfmt.parse(new String(encode("io.tandem.core.node.Node",
                "node started node={} admin={}", "my node", "off"), UTF_8));
        assertThat(f).containsEntry("node", "my node").containsEntry("admin", "off");
    }

    @Test
    void socketAddressesHaveNoLeadingSlash() throws Exception {
        Map<String, String> f = Logfmt.parse(new String(encode("io.tandem.core.control.ControlLoop",
                "vip listening vip={} listen={} peer={}", "web", new InetSocketAddress("127.0.0.1", 8080),
                new InetSocketAddress("::1", 53)), UTF_8));
        assertThat(f).containsEntry("listen", "127.0.0.1:8080").containsEntry("peer", "[::1]:53");
    }
}
