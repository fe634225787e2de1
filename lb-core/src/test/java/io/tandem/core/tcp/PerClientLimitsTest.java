package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.Limits;
import io.tandem.core.testing.LeakWatcher;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code limits.per_client} at accept: over its limit a client is reset before any backend; others are served. */
@ExtendWith(LeakWatcher.class)
class PerClientLimitsTest {
    private static final InetSocketAddress A1 = new InetSocketAddress("198.51.100.7", 51000);
    private static final InetSocketAddress A2 = new InetSocketAddress("198.51.100.7", 51001);
    private static final InetSocketAddress A3 = new InetSocketAddress("198.51.100.7", 51002);
    private static final InetSocketAddress B = new InetSocketAddress("198.51.100.8", 51000);

    @Test
    void concurrentConnectionsPerClient() {
        try (TcpHarness h = TcpHarness.builder().limits(new Limits(0, 0, new Limits.PerClient(2, 0, 32, 64, 1000)))
                .start()) {
            MemorySocket first = h.accept(A1);
            h.backendSocket(0).accept();
            h.accept(A2);
            h.backendSocket(1).accept();
            MemorySocket third = h.accept(A3);
            assertThat(third.reset).as("the client's third connection").isTrue();
            assertThat(h.loop.opened).as("no backend connect for it").hasSize(2);
            assertThat(h.vip.stats().clientConnectionsRefused.sum()).isEqualTo(1);
            assertThat(h.vip.stats().active.get()).isEqualTo(2);

            MemorySocket other = h.accept(B);
            assertThat(other.reset).as("another client is not limited").isFalse();

            first.peerResets();
            h.run();
            assertThat(h.vip.clients().open(A1.getAddress(), new Limits.PerClient(2, 0, 32, 64, 1000))).isEqualTo(1);
            assertThat(h.accept(A3).reset).as("a slot freed by the close").isFalse();
        }
    }

    @Test
    void newConnectionsPerSecondPerClient() {
        try (TcpHarness h = TcpHarness.builder().limits(new Limits(0, 0, new Limits.PerClient(0, 2, 32, 64, 1000)))
                .start()) {
            assertThat(h.accept(A1).reset).isFalse();
            assertThat(h.accept(A2).reset).isFalse();
            assertThat(h.accept(A3).reset).as("a third within the same instant").isTrue();
            assertThat(h.vip.stats().clientRateRefused.sum()).isEqualTo(1);
            h.advance(600, TimeUnit.MILLISECONDS);
            assertThat(h.accept(A3).reset).as("a token back after 500 ms").isFalse();
        }
    }

    @Test
    void aClientRefusedByTheVipLimitGivesItsSlotBack() {
        try (TcpHarness h = TcpHarness.builder().limits(new Limits(1, 0, new Limits.PerClient(5, 0, 32, 64, 1000)))
                .start()) {
            h.accept(B);
            MemorySocket refused = h.accept(A1);
            assertThat(refused.closed).isTrue();
            assertThat(h.vip.clients().open(A1.getAddress(), new Limits.PerClient(5, 0, 32, 64, 1000))).isZero();
        }
    }
}
