package io.tandem.core.vip;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.Limits;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Per-client counters: concurrent limit, token-bucket rate, prefix aggregation, bounded memory. */
class ClientTrackerTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private static InetAddress ip(String s) {
        return InetAddress.ofLiteral(s);
    }

    @Test
    void concurrentConnectionsPerClientAreCappedAndFreedOnRelease() {
        ClientTracker t = new ClientTracker();
        Limits.PerClient two = new Limits.PerClient(2, 0, 32, 64, 1000);
        ClientTracker.Admission a = t.admit(ip("192.0.2.1"), two, 0);
        ClientTracker.Admission b = t.admit(ip("192.0.2.1"), two, 0);
        ClientTracker.Admission c = t.admit(ip("192.0.2.1"), two, 0);
        assertThat(a.slot()).isNotNull();
        assertThat(b.slot()).isNotNull();
        assertThat(c.slot()).isNull();
        assertThat(c.refusal()).isEqualTo(ClientTracker.Refusal.CLIENT_CONNECTIONS);
        assertThat(t.admit(ip("192.0.2.2"), two, 0).slot()).as("another client").isNotNull();
        t.release(a.slot());
        assertThat(t.open(ip("192.0.2.1"), two)).isEqualTo(1);
        assertThat(t.admit(ip("192.0.2.1"), two, 0).slot()).as("a slot freed").isNotNull();
    }

    @Test
    void theRateIsATokenBucketOfOneSecondsWorth() {
        ClientTracker t = new ClientTracker();
        Limits.PerClient rate = new Limits.PerClient(0, 10, 32, 64, 1000);
        int admitted = 0;
        for (int i = 0; i < 15; i++) {
            ClientTracker.Admission a = t.admit(ip("192.0.2.1"), rate, 0);
            if (a.slot() != null) {
                admitted++;
            } else {
                assertThat(a.refusal()).isEqualTo(ClientTracker.Refusal.CLIENT_RATE);
            }
        }
        assertThat(admitted).as("a burst of one second's worth").isEqualTo(10);
        assertThat(t.admit(ip("192.0.2.1"), rate, SECOND / 10).slot()).as("100 ms later: one token back").isNotNull();
        assertThat(t.admit(ip("192.0.2.1"), rate, SECOND / 10).slot()).isNull();
        int later = 0;
        for (int i = 0; i < 15; i++) {
            if (t.admit(ip("192.0.2.1"), rate, 5 * SECOND).slot() != null) {
                later++;
            }
        }
        assertThat(later).as("refilled to the burst, not beyond").isEqualTo(10);
    }

    @Test
    void clientsAreCountedPerPrefix() {
        ClientTracker t = new ClientTracker();
        Limits.PerClient one = new Limits.PerClient(1, 0, 24, 64, 1000);
        assertThat(t.admit(ip("2001:db8:1:2::1"), one, 0).slot()).isNotNull();
        assertThat(t.admit(ip("2001:db8:1:2:ffff::9"), one, 0).slot()).as("same /64").isNull();
        assertThat(t.admit(ip("2001:db8:1:3::1"), one, 0).slot()).as("another /64").isNotNull();
        assertThat(t.admit(ip("198.51.100.1"), one, 0).slot()).isNotNull();
        assertThat(t.admit(ip("198.51.100.200"), one, 0).slot()).as("same /24").isNull();
        assertThat(t.admit(ip("198.51.101.1"), one, 0).slot()).isNotNull();
    }

    @Test
    void memoryIsBoundedAndAnEvictedSlotStillReleasesOnlyItself() {
        ClientTracker t = new ClientTracker();
        Limits.PerClient limits = new Limits.PerClient(1, 0, 32, 64, 100);
        ClientTracker.Admission first = t.admit(ip("10.0.0.1"), limits, 0);
        List<ClientTracker.Slot> held = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            ClientTracker.Admission a = t.admit(ip("10.1." + (i / 250) + "." + (i % 250 + 1)), limits, 0);
            held.add(a.slot());
        }
        assertThat(t.tracked()).as("at most max_clients kept (Caffeine may briefly overshoot)").isLessThanOrEqualTo(110);
        // 10.0.0.1 was most likely evicted: it is counted afresh, and its old slot's release does not
        // take the new count below what its new connection holds.
        ClientTracker.Admission again = t.admit(ip("10.0.0.1"), limits, 0);
        if (again.slot() != null) {
            t.release(first.slot());
            assertThat(t.open(ip("10.0.0.1"), limits)).isEqualTo(1);
        } else {
            assertThat(again.refusal()).isEqualTo(ClientTracker.Refusal.CLIENT_CONNECTIONS); // not evicted after all
        }
        held.forEach(s -> {
            if (s != null) {
                t.release(s);
            }
        });
    }
}
