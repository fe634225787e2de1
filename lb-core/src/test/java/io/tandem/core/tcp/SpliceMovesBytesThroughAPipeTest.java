package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.RelayMode;
import io.tandem.core.testing.LeakWatcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * relay: splice moves a direction's bytes through its own pipe, counted like copied ones; auto
 * copies until a bulk burst, then splices; sockets that cannot splice (NIO) copy whatever the
 * mode; a spliced stream's end is passed on like a copied one and its pipes are closed.
 */
@ExtendWith(LeakWatcher.class)
class SpliceMovesBytesThroughAPipeTest {

    @Test
    void spliceModeMovesEveryByteThroughPipesThatCloseWithTheConnection() {
        try (TcpHarness h = TcpHarness.builder().relay(RelayMode.SPLICE).start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("request").peerFin();
            backend.peerSends("answer");
            assertThat(h.loop.pipesOpen).as("one pipe per direction").isEqualTo(2);
            backend.peerFin();
            assertThat(backend.receivedText()).isEqualTo("request");
            assertThat(client.receivedText()).isEqualTo("answer");
            assertThat(h.vip.stats().bytesIn.sum()).isEqualTo(7);
            assertThat(h.vip.stats().bytesOut.sum()).isEqualTo(6);
            assertThat(client.closed && backend.closed && !client.reset && !backend.reset).isTrue();
            h.assertReleased();
        }
    }

    @Test
    void aFullTargetHoldsTheRestInThePipe() {
        try (TcpHarness h = TcpHarness.builder().relay(RelayMode.SPLICE).start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.window(4);
            backend.accept();
            client.peerSends("spliced").peerFin();
            assertThat(backend.receivedText()).isEqualTo("spli");
            assertThat(backend.outputShut).isFalse();
            backend.peerTakes(100);
            assertThat(backend.receivedText()).isEqualTo("spliced");
            assertThat(backend.outputShut).isTrue();
        }
    }

    @Test
    void autoCopiesSmallExchangesAndSplicesABulkBurst() {
        try (TcpHarness h = TcpHarness.builder().relay(RelayMode.AUTO).start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("small");
            assertThat(h.loop.pipesOpen).as("small: copied").isZero();
            client.peerSends(new byte[100 * 1024]); // past AUTO_SPLICE_AFTER in one burst
            assertThat(h.loop.pipesOpen).as("not yet: the switch applies from the next read").isZero();
            client.peerSends("after the switch");
            assertThat(h.loop.pipesOpen).isEqualTo(1);
            assertThat(backend.received.size()).isEqualTo(5 + 100 * 1024 + 16);
        }
    }

    @Test
    void socketsThatCannotSpliceCopyInSpliceMode() {
        try (TcpHarness h = TcpHarness.builder().relay(RelayMode.SPLICE).copyOnly().start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            backend.accept();
            client.peerSends("copied");
            assertThat(backend.receivedText()).isEqualTo("copied");
            assertThat(h.loop.pipesOpen).isZero();
        }
    }
}
