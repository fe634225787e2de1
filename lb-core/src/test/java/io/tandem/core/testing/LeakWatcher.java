package io.tandem.core.testing;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.slf4j.LoggerFactory;

/**
 * Fails a test class when Netty's leak detector reports a LEAK while it ran. The parent pom
 * runs tests with paranoid detection; leaks are only reported after the leaked object was
 * garbage-collected and the detector next tracks an allocation, so afterAll forces a GC and
 * a few allocations before looking. Also quiets logging to INFO (no logback-test.xml here).
 */
public final class LeakWatcher implements BeforeAllCallback, AfterAllCallback {
    private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

    static {
        LoggerContext ctx = (LoggerContext) LoggerFactory.getILoggerFactory();
        ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(Level.INFO);
        ctx.getLogger("io.tandem.core.tcp").setLevel(Level.toLevel(System.getProperty("tandem.test.proxyLog"), Level.INFO));
        Logger leakLogger = ctx.getLogger(ResourceLeakDetector.class.getName());
        AppenderBase<ILoggingEvent> appender = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent e) {
                if (e.getFormattedMessage().contains("LEAK")) {
                    LEAKS.add(e.getFormattedMessage());
                }
            }
        };
        appender.setContext(ctx);
        appender.setName("leak-watcher");
        appender.start();
        leakLogger.addAppender(appender);
    }

    private int before;

    @Override
    public void beforeAll(ExtensionContext context) {
        before = LEAKS.size();
    }

    @Override
    public void afterAll(ExtensionContext context) throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50); // lets the reference queue fill; not waiting for a condition
            for (ByteBufAllocator alloc : new ByteBufAllocator[] {ByteBufAllocator.DEFAULT,
                    PooledByteBufAllocator.DEFAULT, UnpooledByteBufAllocator.DEFAULT}) {
                for (int j = 0; j < 16; j++) {
                    ByteBuf b = alloc.directBuffer(64);
                    b.release();
                }
            }
        }
        List<String> found = LEAKS.subList(before, LEAKS.size());
        assertThat(found).as("Netty LEAK reports during %s", context.getDisplayName()).isEmpty();
    }
}
