package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.pool.BackendPool;
import io.tandem.core.testing.LeakWatcher;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A client accepted by a reload's new listener before the reload publishes the VIP's first
 * snapshot waits for it instead of being refused for lack of backends (seen in ReloadIT: the
 * kernel completes handshakes as soon as the listener is bound).
 */
@ExtendWith(LeakWatcher.class)
class AcceptedBeforeTheFirstSnapshotWaitsTest {

    /** What a fresh VIP carries until its first publish: no backend, generation 0. */
    private static BackendPool placeholder(BackendPool first) {
        return new BackendPool(first.config(), java.util.List.of(),
                io.tandem.core.policy.Policies.create(first.config().policy(), java.util.List.of()), false, 0);
    }

    @Test
    void theClientIsServedOnceTheFirstSnapshotIsPublished() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            BackendPool first = h.vip.pool();
            h.vip.publish(placeholder(first)); // the placeholder
            MemorySocket client = h.accept();
            h.advance(5, TimeUnit.MILLISECONDS);
            assertThat(client.reset || client.closed).as("not refused while the VIP is not live yet").isFalse();
            assertThat(h.loop.opened).isEmpty();

            h.vip.publish(first); // the reload is applied
            h.advance(2, TimeUnit.MILLISECONDS);
            assertThat(h.loop.opened).as("its backend connect, once the snapshot is there").hasSize(1);
            assertThat(client.reset || client.closed).isFalse();
        }
    }

    @Test
    void aVipThatNeverGoesLiveRefusesTheClientAfterTheWait() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            BackendPool first = h.vip.pool();
            h.vip.publish(placeholder(first));
            MemorySocket client = h.accept();
            for (int i = 0; i < VipOnLoop.UNPUBLISHED_WAIT_MS + 5; i++) {
                h.advance(1, TimeUnit.MILLISECONDS);
            }
            assertThat(client.reset).as("refused for lack of backends after %d ms", VipOnLoop.UNPUBLISHED_WAIT_MS)
                    .isTrue();
        }
    }
}
