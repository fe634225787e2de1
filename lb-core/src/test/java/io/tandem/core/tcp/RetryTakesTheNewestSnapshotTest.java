package io.tandem.core.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.policy.Policy;
import io.tandem.core.pool.Backend;
import io.tandem.core.pool.BackendPool;
import io.tandem.core.testing.LeakWatcher;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A retry picks from the VIP's newest snapshot when only membership or health changed since the
 * connection was admitted: a connect that fails often coincides with the control loop taking
 * backends out (a whole zone blackholed, perf/zone-failover: the retry tried the dead zone's
 * second backend, one more connect timeout). A reload's new configuration is not taken midway.
 */
@ExtendWith(LeakWatcher.class)
class RetryTakesTheNewestSnapshotTest {

    private static Policy firstUntried(List<Backend> backends) {
        return (client, tried) -> backends.stream().filter(b -> !tried.contains(b)).findFirst().orElse(null);
    }

    @Test
    void aRetryPicksFromASnapshotPublishedWhileTheFirstAttemptWasInFlight() {
        try (TcpHarness h = TcpHarness.builder().backends(3).retries(2).start()) {
            MemorySocket client = h.accept();
            BackendPool admitted = h.vip.pool();
            List<Backend> without1 = List.of(h.backends.get(0), h.backends.get(2));
            h.vip.publish(new BackendPool(admitted.config(), without1, firstUntried(without1), false,
                    admitted.generation() + 1)); // backend 1 taken out meanwhile
            h.backendSocket(0).refuse();

            assertThat(h.loop.opened).as("the retry's target").hasSize(2);
            h.backendSocket(1).accept();
            assertThat(h.connection().backend()).as("not the backend the newer snapshot left out")
                    .isEqualTo(h.backends.get(2));
            assertThat(client.reset).isFalse();
        }
    }

    @Test
    void aRetryKeepsItsSnapshotWhenTheNewerOneIsOfAnotherConfiguration() { // a reload changed the VIP
        try (TcpHarness h = TcpHarness.builder().backends(3).retries(2).start()) {
            h.accept();
            BackendPool admitted = h.vip.pool();
            List<Backend> without1 = List.of(h.backends.get(0), h.backends.get(2));
            var c = admitted.config();
            var reloaded = new io.tandem.config.VipConfig(c.name(), c.listen(), c.protocol(), c.policy(), c.backends(),
                    c.limits(), c.timeouts(), c.retries() + 1, c.proxyProtocol(), c.relay(), c.healthCheck(), c.health(),
                    c.service(), c.udp(), c.locality(), c.acl(), c.hashBalanceFactor(), c.proxyProtocolIn(), c.sni());
            h.vip.publish(new BackendPool(reloaded, without1, firstUntried(without1), false,
                    admitted.generation() + 1));
            h.backendSocket(0).refuse();

            h.backendSocket(1).accept();
            assertThat(h.connection().backend()).as("the admitted snapshot's next backend")
                    .isEqualTo(h.backends.get(1));
        }
    }
}
