package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ConnectTimeoutException;
import io.tandem.core.testing.LeakWatcher;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A connect that never completes fails at the VIP's connect timeout, is reported, and is retried elsewhere. */
@ExtendWith(LeakWatcher.class)
class ConnectTimeoutFailsTheAttemptTest {

    @Test
    void aHangingConnectFailsAtTheTimeoutAndTheNextBackendIsTried() {
        try (TcpHarness h = TcpHarness.builder().backends(2)
                .timeouts(Duration.ofSeconds(2), Duration.ZERO, Duration.ZERO).start()) {
            h.accept();
            MemorySocket hanging = h.backendSocket(0);
            h.advance(1_999, TimeUnit.MILLISECONDS);
            assertThat(hanging.closed).as("before the timeout").isFalse();
            assertThat(h.loop.opened).hasSize(1);

            h.advance(1, TimeUnit.MILLISECONDS);
            assertThat(hanging.closed).as("at the timeout").isTrue();
            assertThat(h.events.connectFailures).singleElement().isInstanceOf(ConnectTimeoutException.class);
            assertThat(h.loop.opened).as("retried on the other backend").hasSize(2);
            h.backendSocket(1).accept();
            assertThat(h.connection().backend()).isEqualTo(h.backends.get(1));
        }
    }

    @Test
    void aConnectThatCompletesInTimeCancelsTheTimeout() {
        try (TcpHarness h = TcpHarness.builder().backends(2)
                .timeouts(Duration.ofSeconds(2), Duration.ZERO, Duration.ZERO).start()) {
            h.accept();
            h.backendSocket(0).accept();
            h.advance(10, TimeUnit.SECONDS);
            assertThat(h.events.connectFailed).hasValue(0);
            assertThat(h.loop.opened).hasSize(1);
            assertThat(h.backendSocket(0).closed).isFalse();
        }
    }
}
