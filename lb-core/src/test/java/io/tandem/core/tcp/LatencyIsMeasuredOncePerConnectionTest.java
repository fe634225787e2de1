package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.LatencyEjection;
import io.tandem.core.pool.BackendStats;
import io.tandem.core.testing.LeakWatcher;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The latency sample of a connection (outlier_detection.latency): from the client's first byte
 * (or the connect, when the backend speaks first) to the backend's first, plus the connect time;
 * once per connection; a connection that ends unanswered counts its wait; nothing while the VIP
 * has latency ejection off.
 */
@ExtendWith(LeakWatcher.class)
class LatencyIsMeasuredOncePerConnectionTest {
    private static final LatencyEjection ON = new LatencyEjection(true, 3, Duration.ofMillis(100), 20, 3,
            Duration.ofSeconds(5));

    private static TcpHarness harness(LatencyEjection latency) {
        return TcpHarness.builder().backends(1).latency(latency).start();
    }

    private static long millis(BackendStats st) {
        return TimeUnit.NANOSECONDS.toMillis(st.latencyNanos.sum());
    }

    @Test
    void theWaitFromTheClientsFirstByteToTheBackendsFirstPlusTheConnectIsOneSample() {
        try (TcpHarness h = harness(ON)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            h.advance(20, TimeUnit.MILLISECONDS); // the connect takes 20 ms
            backend.accept();
            h.advance(5, TimeUnit.MILLISECONDS);
            client.peerSends("request");
            h.advance(300, TimeUnit.MILLISECONDS);
            backend.peerSends("answer");
            h.advance(100, TimeUnit.MILLISECONDS);
            backend.peerSends("more"); // not measured again
            client.peerSends("second request");
            h.advance(100, TimeUnit.MILLISECONDS);
            backend.peerSends("second answer");
            BackendStats st = h.backends.getFirst().stats();
            assertThat(st.latencySamples.sum()).isEqualTo(1);
            assertThat(millis(st)).isEqualTo(320);
        }
    }

    @Test
    void aBackendThatSpeaksFirstIsMeasuredFromTheConnect() {
        try (TcpHarness h = harness(ON)) {
            h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            h.advance(40, TimeUnit.MILLISECONDS);
            backend.peerSends("220 greeting");
            assertThat(millis(h.backends.getFirst().stats())).isEqualTo(40);
        }
    }

    @Test
    void aConnectionThatEndsUnansweredCountsItsWait() {
        try (TcpHarness h = harness(ON)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request");
            h.advance(700, TimeUnit.MILLISECONDS);
            client.peerResets(); // the client gave up
            h.run();
            BackendStats st = h.backends.getFirst().stats();
            assertThat(st.latencySamples.sum()).isEqualTo(1);
            assertThat(millis(st)).isEqualTo(700);
            h.assertReleased();
        }
    }

    @Test
    void nothingIsMeasuredWhileLatencyEjectionIsOff() {
        try (TcpHarness h = harness(LatencyEjection.DEFAULTS)) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request");
            h.advance(300, TimeUnit.MILLISECONDS);
            backend.peerSends("answer");
            assertThat(h.backends.getFirst().stats().latencySamples.sum()).isZero();
        }
    }
}
