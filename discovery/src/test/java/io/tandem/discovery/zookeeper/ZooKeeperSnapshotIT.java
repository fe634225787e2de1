package io.tandem.discovery.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The last good membership on disk, against a real ZooKeeper: written once the source has a
 * complete view; a source started while ZooKeeper is down serves it at once, stale and marked
 * restored, until ZooKeeper answers; a corrupt file is ignored.
 */
class ZooKeeperSnapshotIT {

    private static final Duration AWAIT = Duration.ofSeconds(30);
    private static final Set<String> BOTH = Set.of("127.0.0.1:17001", "127.0.0.1:17002");

    @TempDir
    Path state;
    private TestingServer server;
    private CuratorFramework admin;
    private ZooKeeperSource source;

    @BeforeAll
    static void quiet() {
        RecordingListener.quietZooKeeperLogs();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (source != null) {
            source.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private ZooKeeperSource startSource(String connect, RecordingListener l) {
        source = new ZooKeeperSource(ZooKeeperSettings.of(connect, "/plain")
                .withLayout(ZooKeeperSettings.Layout.PLAIN)
                .withTimeouts(Duration.ofSeconds(3), Duration.ofSeconds(2))
                .withStateDir(state));
        source.start(l);
        return source;
    }

    @Test
    void aSourceStartedWithZooKeeperDownServesTheSavedMembershipStaleUntilZooKeeperAnswers() throws Exception {
        server = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 500, -1), true);
        admin = CuratorFrameworkFactory.newClient(server.getConnectString(), 10_000, 5_000,
                new ExponentialBackoffRetry(100, 10));
        admin.start();
        admin.create().creatingParentsIfNeeded().forPath("/plain/cache/127.0.0.1:17001");
        admin.create().creatingParentsIfNeeded().forPath("/plain/cache/127.0.0.1:17002");
        RecordingListener first = new RecordingListener();
        startSource(server.getConnectString(), first);
        await().atMost(AWAIT).until(() -> !first.latestStale() && first.latestAddresses("cache").equals(BOTH));
        Path file = state.resolve("zookeeper.json");
        await().atMost(AWAIT).until(() -> Files.exists(file) && Files.readString(file).contains("127.0.0.1:17002"));
        source.close();
        admin.close();
        admin = null;
        server.stop();

        // ZooKeeper down: the saved membership is published at once, stale, and says where it comes from.
        RecordingListener second = new RecordingListener();
        ZooKeeperSource restored = startSource(server.getConnectString(), second);
        await().atMost(Duration.ofSeconds(5)).until(() -> second.latest().isPresent());
        assertThat(second.snaps.getFirst().stale()).isTrue();
        assertThat(second.snaps.getFirst().addresses("cache")).isEqualTo(BOTH);
        assertThat(restored.state().restored()).isTrue();
        assertThat(restored.state().staleSince()).isPresent();
        assertThat(restored.stats().restored()).isTrue();
        assertThat(restored.stats().lastUpdateAt()).as("the time the snapshot was saved").isPresent();

        // Still down past the session timeout: the restored membership is kept, never emptied.
        await().during(Duration.ofSeconds(4)).atMost(AWAIT).until(() ->
                second.snaps.stream().allMatch(s -> s.addresses("cache").equals(BOTH) && s.stale()));

        // ZooKeeper answers (one instance gone meanwhile): fresh, no longer restored.
        server.restart();
        admin = CuratorFrameworkFactory.newClient(server.getConnectString(), 10_000, 5_000,
                new ExponentialBackoffRetry(100, 10));
        admin.start();
        admin.delete().forPath("/plain/cache/127.0.0.1:17002");
        await().atMost(AWAIT).until(() -> !second.latestStale()
                && second.latestAddresses("cache").equals(Set.of("127.0.0.1:17001")));
        assertThat(restored.state().restored()).isFalse();
        assertThat(restored.stats().resyncs()).isPositive();
    }

    @Test
    void aCorruptSnapshotIsIgnoredAndTheSourceStartsAsWithoutOne() throws Exception {
        Files.writeString(state.resolve("zookeeper.json"), "{\"format\":\"tandem-discovery-snapshot/1\",\"data\":[1,");
        RecordingListener l = new RecordingListener();
        ZooKeeperSource src = startSource("127.0.0.1:1", l);
        await().during(Duration.ofSeconds(2)).atMost(AWAIT).until(() -> l.snaps.isEmpty());
        assertThat(src.state().restored()).isFalse();
    }
}
