package io.tandem.core.vip;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.tandem.core.vip.LocalErrors.Kind;
import io.tandem.core.vip.LocalErrors.Op;
import io.tandem.sys.Errno;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The node's own resource errors: counted per operation and errno, logged once per period with the count. */
class LocalErrorsTest {
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(LocalErrors.class);

    @BeforeEach
    void capture() {
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach
    void release() {
        logger.detachAppender(logged);
    }

    @Test
    void aStormIsCountedExactlyAndLoggedOnceWithWhatToRaise() {
        LocalErrors errors = new LocalErrors("web");
        IOException emfile = new IOException("socket(..) failed: Too many open files");
        for (int i = 0; i < 500; i++) {
            errors.record(Op.CONNECT, Errno.EMFILE, emfile, "client reset");
        }
        errors.record(Op.ACCEPT, Errno.EMFILE, emfile, "accepting paused 1 s");

        assertThat(errors.count(new Kind(Op.CONNECT, "EMFILE"))).isEqualTo(500);
        assertThat(errors.count(new Kind(Op.ACCEPT, "EMFILE"))).isEqualTo(1);
        assertThat(errors.total()).isEqualTo(501);
        assertThat(errors.kinds()).containsExactlyInAnyOrder(new Kind(Op.CONNECT, "EMFILE"), new Kind(Op.ACCEPT, "EMFILE"));
        // One line per kind within the period: the first error of each, at once.
        assertThat(logged.list).hasSize(2).allSatisfy(e -> assertThat(e.getLevel().toString()).isEqualTo("WARN"));
        assertThat(logged.list.getFirst().getFormattedMessage())
                .startsWith("local resource error vip=web op=connect errno=EMFILE count=1 ")
                .contains("action=\"client reset\"").contains("hint=\"raise LimitNOFILE / ulimit -n\"");
        assertThat(logged.list.get(1).getFormattedMessage()).contains("op=accept errno=EMFILE count=1");
    }

    @Test
    void eachNewKindIsAnnouncedOnceForItsMeter() {
        LocalErrors errors = new LocalErrors("web");
        List<Kind> announced = new ArrayList<>();
        errors.onNewKind(announced::add);
        errors.record(Op.CONNECT, Errno.EADDRNOTAVAIL, null, "client reset");
        errors.record(Op.CONNECT, Errno.EADDRNOTAVAIL, null, "client reset");
        errors.record(Op.CONNECT, 0, null, "client reset");
        assertThat(announced).containsExactly(new Kind(Op.CONNECT, "EADDRNOTAVAIL"), new Kind(Op.CONNECT, "unknown"));
    }
}
