package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.pool.BackendPool;
import io.tandem.core.testing.LeakWatcher;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * close_on_backend_down: a connection that picked its backend from an older snapshot and
 * connects after the control loop's sweep (which only sees connected ones) checks the current
 * snapshot when it connects and cuts itself.
 */
@ExtendWith(LeakWatcher.class)
class BackendCutWhileConnectingCutsItselfTest {

    @Test
    void aConnectionReachingABackendTheCurrentSnapshotCutsResetsItself() {
        try (TcpHarness h = TcpHarness.builder().backends(1).start()) {
            MemorySocket client = h.accept();
            MemorySocket backend = h.backendSocket(0);
            BackendPool p = h.vip.pool();
            h.vip.publish(new BackendPool(p.config(), p.backends(), p.policy(), false, p.generation() + 1,
                    Set.of(h.backends.getFirst()))); // the sweep ran while this one was still connecting
            assertThat(h.vip.closeConnectionsTo(h.backends.getFirst())).as("the sweep finds no backend yet").isZero();

            backend.accept();
            h.run();
            assertThat(client.reset).isTrue();
            assertThat(backend.reset).isTrue();
            h.assertReleased();
        }
    }

    @Test
    void aConnectionToABackendNotCutStays() {
        try (TcpHarness h = TcpHarness.builder().backends(1).start()) {
            MemorySocket client = h.accept();
            h.backendSocket(0).accept();
            h.run();
            assertThat(client.closed).isFalse();
        }
    }
}
