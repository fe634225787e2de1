package io.tandem.discovery.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.discovery.Endpoint;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.KillSession;
import org.apache.curator.test.TestingServer;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * ZooKeeperSource against a real in-process ZooKeeper, with registrations written by Curator's
 * own ServiceDiscovery. Each test uses its own base path, so one server serves the class.
 */
class ZooKeeperSourceIT {

    private static final Duration AWAIT = Duration.ofSeconds(20);
    private static TestingServer server;

    private final List<AutoCloseable> closeLast = new ArrayList<>();
    private CuratorFramework admin;
    private String base;

    /** Payload type a registrant might use; the source never needs it on its class path. */
    public static final class Details {
        public String description = "orders v2";
    }

    @BeforeAll
    static void startServer() throws Exception {
        RecordingListener.quietZooKeeperLogs();
        // tickTime 500 ms lets a registrant use a 2 s session (the server allows 2..20 ticks).
        server = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 500, -1), true);
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    @BeforeEach
    void setUp(TestInfo info) {
        admin = CuratorFrameworkFactory.newClient(server.getConnectString(), new RetryOneTime(100));
        admin.start();
        base = "/" + info.getTestMethod().orElseThrow().getName();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeLast.reversed()) {
            c.close();
        }
        admin.close();
    }

    private ZooKeeperSource source(ZooKeeperSettings settings, RecordingListener listener) {
        ZooKeeperSource s = new ZooKeeperSource(settings);
        closeLast.add(s);
        s.start(listener);
        return s;
    }

    private ZooKeeperSettings settings() {
        return ZooKeeperSettings.of(server.getConnectString(), base).withTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(5));
    }

    private <T> ServiceDiscovery<T> discovery(Class<T> payload, boolean writeEnabledField) throws Exception {
        ServiceDiscovery<T> sd = ServiceDiscoveryBuilder.builder(payload).client(admin).basePath(base)
                .serializer(new JsonInstanceSerializer<>(payload, !writeEnabledField)).build();
        sd.start();
        closeLast.add(sd);
        return sd;
    }

    private static ServiceInstance<Void> instance(String service, String id, int port) throws Exception {
        return ServiceInstance.<Void>builder().name(service).id(id).address("127.0.0.1").port(port).build();
    }

    @Test
    void curatorRegistrationsAppearAndUnregisterIsPublishedOnlyAfterTheDebounce() throws Exception {
        ServiceDiscovery<Details> sd = discovery(Details.class, false);
        ServiceInstance<Details> a = ServiceInstance.<Details>builder().name("orders").id("a").address("127.0.0.1")
                .port(18080).payload(new Details()).build();
        ServiceInstance<Details> b = ServiceInstance.<Details>builder().name("orders").id("b").address("127.0.0.1")
                .port(18081).payload(new Details()).build();
        sd.registerService(a);
        RecordingListener l = new RecordingListener();
        ZooKeeperSource src = source(settings(), l);

        await().atMost(AWAIT).until(() -> l.latestAddresses("orders").equals(Set.of("127.0.0.1:18080")));
        assertThat(l.snaps.getFirst().stale()).isFalse();
        assertThat(l.snaps.getFirst().thread()).startsWith("tandem-zk-");
        Endpoint ea = l.latest().orElseThrow().endpoint("orders", "127.0.0.1:18080").orElseThrow();
        assertThat(ea.origin()).isEqualTo("zookeeper:" + base + "/orders/a");
        assertThat(ea.draining()).isFalse();

        sd.registerService(b);
        await().atMost(AWAIT).until(() -> l.latestAddresses("orders").equals(Set.of("127.0.0.1:18080", "127.0.0.1:18081")));

        long unregisteredAt = System.nanoTime();
        sd.unregisterService(a);
        await().atMost(AWAIT).until(() -> l.latestAddresses("orders").equals(Set.of("127.0.0.1:18081")));
        long removalMillis = TimeUnit.NANOSECONDS.toMillis(l.latest().orElseThrow().atNanos() - unregisteredAt);
        assertThat(removalMillis).as("removal waits for the 1.5 s debounce").isGreaterThanOrEqualTo(1400);
        assertThat(src.state().connected()).isTrue();
        assertThat(src.state().staleSince()).isEmpty();
        assertThat(src.state().lastEventAt()).isPresent();
        assertThat(src.state().droppedEntries()).isZero();
    }

    @Test
    void enabledFalseWrittenByCuratorMarksTheEndpointDrainingAndBack() throws Exception {
        ServiceDiscovery<Void> sd = discovery(Void.class, true);
        ServiceInstance<Void> on = instance("orders", "i1", 18090);
        sd.registerService(on);
        RecordingListener l = new RecordingListener();
        source(settings(), l);
        await().atMost(AWAIT).until(() -> l.latest().flatMap(s -> s.endpoint("orders", "127.0.0.1:18090"))
                .map(e -> !e.draining()).orElse(false));

        ServiceInstance<Void> off = ServiceInstance.<Void>builder().name("orders").id("i1").address("127.0.0.1")
                .port(18090).enabled(false).build();
        sd.updateService(off);
        await().atMost(AWAIT).until(() -> l.latest().flatMap(s -> s.endpoint("orders", "127.0.0.1:18090"))
                .map(Endpoint::draining).orElse(false));
        assertThat(l.latest().orElseThrow().services().get("orders")).hasSize(1);

        sd.updateService(on);
        await().atMost(AWAIT).until(() -> l.latest().flatMap(s -> s.endpoint("orders", "127.0.0.1:18090"))
                .map(e -> !e.draining()).orElse(false));
    }

    @Test
    void plainHostPortNodesAreReadFromNameOrData() throws Exception {
        admin.create().creatingParentsIfNeeded().forPath(base + "/cache/127.0.0.1:16379");
        admin.create().creatingParentsIfNeeded().forPath(base + "/cache/node-b", bytes("127.0.0.2:16380"));
        admin.create().creatingParentsIfNeeded().forPath(base + "/cache/127.0.0.3:1", bytes("127.0.0.4:16381"));
        admin.create().creatingParentsIfNeeded().forPath(base + "/cache/no-address-here");
        RecordingListener l = new RecordingListener();
        ZooKeeperSource src = source(settings().withLayout(ZooKeeperSettings.Layout.PLAIN), l);

        await().atMost(AWAIT).until(() -> l.latestAddresses("cache")
                .equals(Set.of("127.0.0.1:16379", "127.0.0.2:16380", "127.0.0.4:16381")));
        assertThat(src.state().droppedEntries()).isEqualTo(1);

        admin.setData().forPath(base + "/cache/node-b", bytes("127.0.0.5:16382"));
        await().atMost(AWAIT).until(() -> l.latestAddresses("cache")
                .equals(Set.of("127.0.0.1:16379", "127.0.0.5:16382", "127.0.0.4:16381")));
    }

    @Test
    void deleteAndRecreateWithinTheDebounceEmitsNoRemoval() throws Exception {
        ServiceDiscovery<Void> sd = discovery(Void.class, false);
        ServiceInstance<Void> a = instance("orders", "a", 18100);
        sd.registerService(a);
        RecordingListener l = new RecordingListener();
        source(settings(), l);
        await().atMost(AWAIT).until(() -> l.latestAddresses("orders").equals(Set.of("127.0.0.1:18100")));

        sd.unregisterService(a);
        sd.registerService(a);
        await().during(Duration.ofMillis(2500)).atMost(AWAIT).until(() ->
                l.snaps.stream().allMatch(s -> s.addresses("orders").contains("127.0.0.1:18100")));
    }

    @Test
    void registrantSessionExpiryDeleteAndRecreateEmitsNoRemoval() throws Exception {
        // A registrant whose session expires reconnects with a new session and Curator's
        // ServiceDiscovery deletes and recreates its node "so that watchers fire".
        CuratorFramework registrantClient = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                .sessionTimeoutMs(2000).connectionTimeoutMs(2000).retryPolicy(new RetryOneTime(100)).build();
        registrantClient.start();
        ServiceDiscovery<Void> sd = ServiceDiscoveryBuilder.builder(Void.class).client(registrantClient).basePath(base)
                .thisInstance(instance("orders", "a", 18110)).build();
        sd.start();
        closeLast.add(registrantClient);
        closeLast.add(sd);
        RecordingListener l = new RecordingListener();
        source(settings(), l);
        await().atMost(AWAIT).until(() -> l.latestAddresses("orders").equals(Set.of("127.0.0.1:18110")));
        long ownerBefore = admin.checkExists().forPath(base + "/orders/a").getEphemeralOwner();

        KillSession.kill(registrantClient.getZookeeperClient().getZooKeeper());

        await().atMost(AWAIT).until(() -> {
            var stat = admin.checkExists().forPath(base + "/orders/a");
            return stat != null && stat.getEphemeralOwner() != ownerBefore;
        });
        await().during(Duration.ofMillis(2500)).atMost(AWAIT).until(() ->
                l.snaps.stream().allMatch(s -> s.addresses("orders").contains("127.0.0.1:18110")));
    }

    @Test
    void deadRegistrantIsRemovedAfterItsSessionExpires() throws Exception {
        admin.create().creatingParentsIfNeeded().forPath(base + "/orders");
        ZooKeeper registrant = new ZooKeeper(server.getConnectString(), 2000, e -> { });
        await().atMost(AWAIT).until(() -> registrant.getState().isConnected());
        byte[] json = new JsonInstanceSerializer<>(Void.class).serialize(instance("orders", "dead", 18120));
        registrant.create(base + "/orders/dead", json, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        admin.create().forPath(base + "/orders/alive", new JsonInstanceSerializer<>(Void.class)
                .serialize(instance("orders", "alive", 18121)));
        RecordingListener l = new RecordingListener();
        source(settings(), l);
        await().atMost(AWAIT).until(() -> l.latestAddresses("orders").equals(Set.of("127.0.0.1:18120", "127.0.0.1:18121")));

        long killedAt = System.nanoTime();
        KillSession.kill(registrant); // the socket closes, the session is not closed: like SIGKILL
        assertThat(l.latestAddresses("orders")).contains("127.0.0.1:18120");

        await().atMost(AWAIT).until(() -> l.latestAddresses("orders").equals(Set.of("127.0.0.1:18121")));
        System.out.printf("dead registrant removed after %d ms (session 2 s + tick 0.5 s + debounce 1.5 s)%n",
                TimeUnit.NANOSECONDS.toMillis(l.latest().orElseThrow().atNanos() - killedAt));
        registrant.close();
    }

    @Test
    void malformedEntryIsDroppedAndCountedWhileSiblingsAndOtherServicesSurvive() throws Exception {
        ServiceDiscovery<Void> sd = discovery(Void.class, false);
        sd.registerService(instance("orders", "good", 18130));
        sd.registerService(instance("payments", "good", 18131));
        admin.create().forPath(base + "/orders/broken-json", bytes("{\"address\":\"127.0.0.1\",\"port\":"));
        admin.create().forPath(base + "/orders/no-address", bytes("{\"port\":18132}"));
        admin.create().forPath(base + "/orders/bad-port", bytes("{\"address\":\"127.0.0.1\",\"port\":70000}"));
        RecordingListener l = new RecordingListener();
        ZooKeeperSource src = source(settings(), l);

        await().atMost(AWAIT).until(() -> l.latestAddresses("orders").equals(Set.of("127.0.0.1:18130"))
                && l.latestAddresses("payments").equals(Set.of("127.0.0.1:18131")));
        assertThat(src.state().droppedEntries()).isEqualTo(3);
        assertThat(src.state().lastError()).hasValueSatisfying(e -> assertThat(e).startsWith("dropped " + base + "/orders/"));

        // Fixing a broken entry brings it in; an unrelated change does not recount the others.
        admin.setData().forPath(base + "/orders/no-address", bytes("{\"address\":\"127.0.0.1\",\"port\":18132}"));
        await().atMost(AWAIT).until(() -> l.latestAddresses("orders").equals(Set.of("127.0.0.1:18130", "127.0.0.1:18132")));
        assertThat(src.state().droppedEntries()).isEqualTo(3);
    }

    @Test
    void onlyWatchedServicesArePublishedAndAWatchedServiceWithoutInstancesIsEmpty() throws Exception {
        ServiceDiscovery<Void> sd = discovery(Void.class, false);
        sd.registerService(instance("orders", "a", 18140));
        sd.registerService(instance("payments", "a", 18141));
        RecordingListener l = new RecordingListener();
        source(settings().withServices(Set.of("orders", "inventory")), l);
        await().atMost(AWAIT).until(() -> l.latest().isPresent());
        assertThat(l.latest().orElseThrow().services().keySet()).containsExactlyInAnyOrder("orders", "inventory");
        assertThat(l.latestAddresses("inventory")).isEmpty();
        assertThat(l.latestAddresses("orders")).containsExactly("127.0.0.1:18140");
    }

    @Test
    void namespaceIsPartOfTheOriginPath() throws Exception {
        admin.create().creatingParentsIfNeeded().forPath("/tandem" + base + "/cache/127.0.0.1:16400");
        RecordingListener l = new RecordingListener();
        source(settings().withNamespace("tandem").withLayout(ZooKeeperSettings.Layout.PLAIN), l);
        await().atMost(AWAIT).until(() -> l.latestAddresses("cache").equals(Set.of("127.0.0.1:16400")));
        assertThat(l.latest().orElseThrow().endpoint("cache", "127.0.0.1:16400").orElseThrow().origin())
                .isEqualTo("zookeeper:/tandem" + base + "/cache/127.0.0.1:16400");
    }

    @Test
    void lifecycleAllowsOneStartAndIdempotentClose() {
        RecordingListener l = new RecordingListener();
        ZooKeeperSource src = source(settings(), l);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> src.start(l))
                .isInstanceOf(IllegalStateException.class).hasMessage("lifecycle: STARTED (expected LATENT)");
        src.close();
        src.close();
        assertThat(src.state().connected()).isFalse();
        ZooKeeperSource never = new ZooKeeperSource(settings());
        never.close();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> never.start(l)).isInstanceOf(IllegalStateException.class);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
