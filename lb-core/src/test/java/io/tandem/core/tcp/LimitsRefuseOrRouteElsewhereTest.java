package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.testing.LeakWatcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The VIP's limit closes the next client; a backend at its limit is skipped, and with every backend full the client is reset. */
@ExtendWith(LeakWatcher.class)
class LimitsRefuseOrRouteElsewhereTest {

    @Test
    void theVipsLimitClosesTheNextClientAndCountsIt() {
        try (TcpHarness h = TcpHarness.builder().limits(1, 0).start()) {
            MemorySocket first = h.accept();
            h.backendSocket(0).accept();
            MemorySocket second = h.accept();

            assertThat(second.closed).as("the client over the limit").isTrue();
            assertThat(h.loop.opened).as("no backend connect for it").hasSize(1);
            assertThat(h.vip.stats().limitHits.sum()).isEqualTo(1);
            assertThat(h.vip.stats().active.get()).isEqualTo(1);
            assertThat(h.home.live()).as("only the admitted connection lives on the loop").isEqualTo(1);
            assertThat(first.closed).isFalse();
        }
    }

    @Test
    void aBackendAtItsLimitIsSkippedThenEveryBackendFullResetsTheClient() {
        try (TcpHarness h = TcpHarness.builder().backends(2).limits(0, 1).firstAvailable().start()) {
            h.accept();
            h.backendSocket(0).accept();
            h.accept();
            MemorySocket toSecond = h.backendSocket(1);
            toSecond.accept();
            assertThat(toSecond.remote).as("the second connection went to the other backend")
                    .isEqualTo(h.backends.get(1).socketAddress());

            MemorySocket third = h.accept();
            assertThat(third.reset).as("both backends full: the client is reset").isTrue();
            assertThat(h.loop.opened).hasSize(2);
            assertThat(h.backends.get(0).stats().limitHits.sum()).isEqualTo(2);
            assertThat(h.backends.get(1).stats().limitHits.sum()).isEqualTo(1);
            assertThat(h.vip.stats().limitHits.sum()).as("refused for the limit, not for lack of backends").isEqualTo(1);
            assertThat(h.vip.stats().noBackend.sum()).isZero();
            assertThat(h.backends).allSatisfy(b -> assertThat(b.stats().active.get()).isEqualTo(1));
        }
    }
}
