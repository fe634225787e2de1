package io.tandem.discovery.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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

/** Losing ZooKeeper keeps the last membership (stale), and coming back resyncs it. */
class ZooKeeperSourceStaleIT {

    private static final Duration AWAIT = Duration.ofSeconds(30);
    private static final Set<String> BOTH = Set.of("127.0.0.1:17001", "127.0.0.1:17002");

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
        server.close();
    }

    private void startAdmin() {
        admin = CuratorFrameworkFactory.newClient(server.getConnectString(), 10_000, 5_000,
                new ExponentialBackoffRetry(100, 10));
        admin.start();
    }

    private ZooKeeperSource startSource(RecordingListener l) {
        source = new ZooKeeperSource(ZooKeeperSettings.of(server.getConnectString(), "/plain")
                .withLayout(ZooKeeperSettings.Layout.PLAIN)
                .withTimeouts(Duration.ofSeconds(3), Duration.ofSeconds(2)));
        source.start(l);
        return source;
    }

    @Test
    void serverStopKeepsLastMembershipAsStaleAndRestartResyncs() throws Exception {
        server = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 500, -1), true);
        startAdmin();
        admin.create().creatingParentsIfNeeded().forPath("/plain/cache/127.0.0.1:17001");
        admin.create().creatingParentsIfNeeded().forPath("/plain/cache/127.0.0.1:17002");
        RecordingListener l = new RecordingListener();
        ZooKeeperSource src = startSource(l);
        await().atMost(AWAIT).until(() -> !l.latestStale() && l.latestAddresses("cache").equals(BOTH));

        server.stop();
        await().atMost(AWAIT).until(l::latestStale);
        assertThat(l.latestAddresses("cache")).isEqualTo(BOTH);
        assertThat(src.state().connected()).isFalse();
        assertThat(src.state().staleSince()).isPresent();
        assertThat(src.state().lastError()).hasValueSatisfying(e -> assertThat(e).startsWith("connection "));

        // Past the 3 s session (Curator's simulated LOST): still the same members, still stale.
        await().during(Duration.ofSeconds(4)).atMost(AWAIT).until(() ->
                l.snaps.stream().allMatch(s -> s.addresses("cache").equals(BOTH)) && l.latestStale());

        server.restart();
        await().atMost(AWAIT).until(() -> !l.latestStale());
        assertThat(l.latestAddresses("cache")).isEqualTo(BOTH);
        assertThat(src.state().connected()).isTrue();
        assertThat(src.state().staleSince()).isEmpty();
        assertThat(l.snaps).allSatisfy(s -> assertThat(s.addresses("cache")).isEqualTo(BOTH));

        // The watch works after the resync.
        await().atMost(AWAIT).until(() -> admin.getZookeeperClient().isConnected());
        admin.create().forPath("/plain/cache/127.0.0.1:17003");
        await().atMost(AWAIT).until(() -> l.latestAddresses("cache").contains("127.0.0.1:17003"));
    }

    @Test
    void unreachableAtStartEmitsNothingUntilTheFirstCompleteLoad() throws Exception {
        server = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 500, -1), false);
        RecordingListener l = new RecordingListener();
        ZooKeeperSource src = startSource(l);

        await().during(Duration.ofSeconds(2)).atMost(AWAIT).until(() -> l.snaps.isEmpty() && !src.state().connected());
        assertThat(src.state().staleSince()).isEmpty();

        server.start();
        startAdmin();
        admin.create().creatingParentsIfNeeded().forPath("/plain/cache/127.0.0.1:17001");
        await().atMost(AWAIT).until(() -> l.latestAddresses("cache").equals(Set.of("127.0.0.1:17001")));
        assertThat(l.snaps).noneMatch(RecordingListener.Snap::stale);
        assertThat(src.state().connected()).isTrue();
    }
}
