package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.testing.LeakWatcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Back-pressure: what a full target did not take is kept, the source is not read again until the
 * target took it, and then reading resumes by itself (no new readiness would come for bytes
 * already queued). A direction never holds more than one read.
 */
@ExtendWith(LeakWatcher.class)
class FullTargetStopsTheSourceTest {

    @Test
    void theSourceWaitsForTheTargetThenResumesByItself() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.window(3);
            backend.accept();
            client.peerSends("abcdef");
            assertThat(backend.receivedText()).isEqualTo("abc");
            int reads = client.reads;
            client.peerSends("ghi");
            assertThat(client.reads).as("no read while the target is full").isEqualTo(reads);
            assertThat(client.unread()).isEqualTo(3);
            assertThat(h.connection().clientBytesWaiting()).isTrue();

            backend.peerTakes(1_000);
            assertThat(backend.receivedText()).as("the backlog, then what waited in the source").isEqualTo("abcdefghi");
            assertThat(client.unread()).isZero();
            assertThat(h.connection().clientBytesWaiting()).isFalse();
            assertThat(h.vip.stats().bytesIn.sum()).isEqualTo(9);
            assertThat(h.backends.getFirst().stats().bytesOut.sum()).isEqualTo(9);
        }
    }

    @Test
    void aLongBurstYieldsToOtherSocketsAndGoesOnInATask() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            int size = Scratch.BYTES * (TcpConnection.READS_PER_EVENT + 4);
            client.peerSends(new byte[size]);
            assertThat(client.reads).as("one event's budget").isEqualTo(TcpConnection.READS_PER_EVENT);
            h.run();
            assertThat(client.unread()).isZero();
            assertThat(backend.received.size()).isEqualTo(size);
        }
    }
}
