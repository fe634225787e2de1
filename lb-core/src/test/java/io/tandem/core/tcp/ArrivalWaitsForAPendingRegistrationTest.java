package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.testing.LeakWatcher;
import io.tandem.core.vip.SelfLoops;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A client from this host arriving while one of our own connects has not registered its socket
 * yet may be that very socket: its admission waits while the registration is pending (bounded),
 * not just one millisecond. On a loaded machine the connecting loop was once descheduled for
 * longer than that between its connect call and the registration, and SelfLoopIT caught the loop
 * one hop late, after a reset that counted as a backend's connect failure.
 */
@ExtendWith(LeakWatcher.class)
class ArrivalWaitsForAPendingRegistrationTest {

    private static final InetSocketAddress LOCAL_CLIENT = new InetSocketAddress("127.0.0.1", 40_001);

    @Test
    void aLocalArrivalWaitsWhileARegistrationStaysPendingThenGoesOn() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            SelfLoops.pending(SelfLoops.Proto.TCP, 1);
            try {
                MemorySocket client = h.accept(LOCAL_CLIENT);
                for (int i = 0; i < 6; i++) {
                    h.advance(1, TimeUnit.MILLISECONDS);
                }
                assertThat(h.loop.opened).as("no backend connect while a registration is pending (6 ms)").isEmpty();
                assertThat(client.reset || client.closed).isFalse();
            } finally {
                SelfLoops.pending(SelfLoops.Proto.TCP, -1);
            }
            for (int i = 0; i < 16; i++) {
                h.advance(1, TimeUnit.MILLISECONDS);
            }
            assertThat(h.loop.opened).as("admitted at the next look once nothing is pending").hasSize(1);
        }
    }

    @Test
    void theWaitIsBounded() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            SelfLoops.pending(SelfLoops.Proto.TCP, 1);
            try {
                h.accept(LOCAL_CLIENT);
                for (int i = 0; i < 40; i++) {
                    h.advance(1, TimeUnit.MILLISECONDS);
                }
                assertThat(h.loop.opened).as("admitted after at most 31 ms, registration or not").hasSize(1);
            } finally {
                SelfLoops.pending(SelfLoops.Proto.TCP, -1);
            }
        }
    }

    @Test
    void aRemoteClientIsNeverPutOff() {
        try (TcpHarness h = TcpHarness.builder().start()) {
            SelfLoops.pending(SelfLoops.Proto.TCP, 1);
            try {
                h.accept(new InetSocketAddress("192.0.2.7", 40_002));
                assertThat(h.loop.opened).as("a client that cannot be our socket is admitted at once").hasSize(1);
            } finally {
                SelfLoops.pending(SelfLoops.Proto.TCP, -1);
            }
        }
    }
}
