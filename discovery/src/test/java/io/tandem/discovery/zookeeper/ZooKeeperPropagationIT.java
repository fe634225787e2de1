package io.tandem.discovery.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;

/**
 * Measures (prints, does not tightly assert) how long a ZooKeeper write takes to reach the
 * listener as a snapshot: the number docs/discovery-zookeeper.md quotes.
 */
class ZooKeeperPropagationIT {

    private static final int TRIALS = 50;
    private static final Duration AWAIT = Duration.ofSeconds(10);

    @Test
    void writeToSnapshotLatencyIsMeasuredOverFiftyTrials() throws Exception {
        RecordingListener.quietZooKeeperLogs();
        try (TestingServer server = new TestingServer(true);
             CuratorFramework writer = CuratorFrameworkFactory.newClient(server.getConnectString(), new RetryOneTime(100))) {
            writer.start();
            writer.create().creatingParentsIfNeeded().forPath("/lat/svc/127.0.0.1:1");
            RecordingListener l = new RecordingListener();
            try (ZooKeeperSource src = new ZooKeeperSource(ZooKeeperSettings.of(server.getConnectString(), "/lat")
                    .withLayout(ZooKeeperSettings.Layout.PLAIN).withRemovalDebounce(Duration.ZERO))) {
                src.start(l);
                await().atMost(AWAIT).until(() -> l.latestAddresses("svc").equals(Set.of("127.0.0.1:1")));

                long[] add = new long[TRIALS];
                long[] remove = new long[TRIALS];
                for (int i = 0; i < TRIALS; i++) {
                    String address = "127.0.0.1:" + (20000 + i);
                    int before = l.snaps.size();
                    long t0 = System.nanoTime();
                    writer.create().forPath("/lat/svc/" + address);
                    await().atMost(AWAIT).pollInterval(Duration.ofMillis(1))
                            .until(() -> l.latestAddresses("svc").contains(address));
                    add[i] = firstSnapshotAfter(l, before, t0, true, address);

                    before = l.snaps.size();
                    t0 = System.nanoTime();
                    writer.delete().forPath("/lat/svc/" + address);
                    await().atMost(AWAIT).pollInterval(Duration.ofMillis(1))
                            .until(() -> !l.latestAddresses("svc").contains(address));
                    remove[i] = firstSnapshotAfter(l, before, t0, false, address);
                }
                print("add", add);
                print("remove (debounce 0)", remove);
                assertThat(percentile(add, 50)).as("p50 add within a generous bound").isLessThan(TimeUnit.SECONDS.toMicros(2));
            }
        }
    }

    private static long firstSnapshotAfter(RecordingListener l, int from, long t0, boolean present, String address) {
        for (int i = from; i < l.snaps.size(); i++) {
            RecordingListener.Snap s = l.snaps.get(i);
            if (s.addresses("svc").contains(address) == present) {
                return TimeUnit.NANOSECONDS.toMicros(s.atNanos() - t0);
            }
        }
        throw new AssertionError("no snapshot for " + address);
    }

    private static long percentile(long[] micros, int p) {
        long[] sorted = micros.clone();
        Arrays.sort(sorted);
        int idx = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(idx, sorted.length - 1))];
    }

    private static void print(String what, long[] micros) {
        System.out.printf("zookeeper propagation %s trials=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f%n", what, micros.length,
                percentile(micros, 50) / 1000.0, percentile(micros, 99) / 1000.0, percentile(micros, 100) / 1000.0);
    }
}
