package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.testing.LeakWatcher;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A connection quiet for its idle timeout is closed (both sockets, gracefully); traffic pushes the
 * deadline back; timeouts of two seconds and more are armed late, with the long-lived socket
 * options, and still fire on time.
 */
@ExtendWith(LeakWatcher.class)
class IdleTimeoutClosesQuietConnectionsTest {

    private static TcpHarness idle(Duration idle) {
        return TcpHarness.builder().timeouts(Duration.ofSeconds(2), idle, Duration.ofSeconds(30)).start();
    }

    @Test
    void aQuietConnectionIsClosedAtItsIdleTimeout() {
        try (TcpHarness h = idle(Duration.ofMillis(500))) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            h.advance(499, TimeUnit.MILLISECONDS);
            assertThat(client.closed).isFalse();

            h.advance(1, TimeUnit.MILLISECONDS);
            assertThat(client.closed).isTrue();
            assertThat(backend.closed).isTrue();
            assertThat(client.reset || backend.reset).as("an idle close is no reset").isFalse();
            h.assertReleased();
        }
    }

    @Test
    void trafficPushesTheDeadlineBack() {
        try (TcpHarness h = idle(Duration.ofMillis(500))) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            h.advance(400, TimeUnit.MILLISECONDS);
            client.peerSends("x");
            h.advance(400, TimeUnit.MILLISECONDS);
            backend.peerSends("y");
            h.advance(499, TimeUnit.MILLISECONDS);
            assertThat(client.closed).as("500 ms after the last byte, not after the first").isFalse();

            h.advance(1, TimeUnit.MILLISECONDS);
            assertThat(client.closed).isTrue();
            assertThat(backend.receivedText()).isEqualTo("x");
            assertThat(client.receivedText()).isEqualTo("y");
        }
    }

    @Test
    void aLongTimeoutIsArmedLateWithTheLongLivedOptionsAndStillFires() {
        try (TcpHarness h = idle(Duration.ofSeconds(3))) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            assertThat(backend.noDelay).isTrue();
            assertThat(backend.longLived).as("keepalive and user timeout wait for a connection that lives").isFalse();

            h.advance(1, TimeUnit.SECONDS);
            assertThat(backend.longLived).as("set once it lived a second").isTrue();
            assertThat(backend.userTimeoutMillis).isEqualTo(30_000);
            h.advance(1_999, TimeUnit.MILLISECONDS);
            assertThat(client.closed).isFalse();

            h.advance(1, TimeUnit.MILLISECONDS);
            assertThat(client.closed).isTrue();
            h.assertReleased();
        }
    }

    @Test
    void aShortTimeoutSetsTheLongLivedOptionsAtOnce() {
        try (TcpHarness h = idle(Duration.ofMillis(500))) {
            h.accept();
            assertThat(h.backendSocket(0).longLived).isTrue();
            assertThat(h.backendSocket(0).userTimeoutMillis).isEqualTo(30_000);
        }
    }
}
