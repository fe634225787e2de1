package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.testing.LeakWatcher;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A refused connect is a passive signal and is retried on another backend before any client byte is lost; retries are bounded. */
@ExtendWith(LeakWatcher.class)
class ConnectFailureIsRetriedOnAnotherBackendTest {

    @Test
    void aRefusedConnectIsRetriedOnAnotherBackendWithTheClientsBytesIntact() {
        try (TcpHarness h = TcpHarness.builder().backends(2).retries(2).start()) {
            MemorySocket client = h.accept();
            client.peerSends("hello"); // while the first connect is in flight
            MemorySocket first = h.backendSocket(0);
            first.refuse();
            assertThat(first.closed).as("the refused attempt's socket").isTrue();
            MemorySocket second = h.backendSocket(1);
            second.accept();

            assertThat(second.receivedText()).isEqualTo("hello");
            assertThat(h.connection().backend()).isEqualTo(h.backends.get(1));
            assertThat(h.events.connectFailed).hasValue(1);
            assertThat(h.events.connectFailures).singleElement().isInstanceOf(ConnectException.class);
            assertThat(h.events.connected).hasValue(1);
            assertThat(h.backends.get(0).stats().connectFailures.sum()).isEqualTo(1);
            assertThat(h.backends.get(0).stats().active.get()).as("the failed attempt's reservation").isZero();
            assertThat(h.vip.stats().connectRetries.sum()).isEqualTo(1);
            assertThat(client.reset).isFalse();
        }
    }

    @Test
    void whenEveryBackendRefusesTheClientIsResetAndNoBackendIsCounted() {
        try (TcpHarness h = TcpHarness.builder().backends(2).retries(5).start()) {
            MemorySocket client = h.accept();
            h.backendSocket(0).refuse();
            h.backendSocket(1).refuse();

            assertThat(client.reset).as("client reset, so it fails fast").isTrue();
            assertThat(h.loop.opened).as("each backend tried once").hasSize(2);
            assertThat(h.vip.stats().noBackend.sum()).isEqualTo(1);
            assertThat(h.events.connectFailed).hasValue(2);
            h.assertReleased();
        }
    }

    @Test
    void retriesStopAtTheVipsRetryCount() {
        try (TcpHarness h = TcpHarness.builder().backends(3).retries(1).start()) {
            MemorySocket client = h.accept();
            h.backendSocket(0).refuse();
            h.backendSocket(1).refuse();

            assertThat(h.loop.opened).as("one attempt and one retry; the third backend is never tried").hasSize(2);
            assertThat(client.reset).isTrue();
            h.assertReleased();
        }
    }
}
