package io.tandem.perf.discovery;

import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;

/**
 * An in-process ZooKeeper (curator-test {@link TestingServer}, random loopback port, temp dir)
 * and a separate writer client registering backends in the {@code plain} layout:
 * {@code /services/orders/127.0.0.1:PORT}, ephemeral, no data. The node reads with
 * {@code removal_debounce: 0} so a removal is published at once.
 */
final class ZooKeeperRegistry implements Registry {
    private static final String SERVICE_PATH = "/services/orders";

    private final TestingServer server;
    private final CuratorFramework writer;

    ZooKeeperRegistry() throws Exception {
        server = new TestingServer(true);
        try {
            writer = CuratorFrameworkFactory.newClient(server.getConnectString(), new RetryOneTime(100));
            writer.start();
            if (!writer.blockUntilConnected(15, TimeUnit.SECONDS)) {
                writer.close();
                throw new IllegalStateException("zookeeper writer not connected within 15 s: " + server.getConnectString());
            }
            writer.create().creatingParentsIfNeeded().forPath(SERVICE_PATH);
        } catch (Exception e) {
            server.close();
            throw e;
        }
    }

    @Override
    public String name() {
        return "zookeeper";
    }

    @Override
    public String discoveryYaml() {
        return """
                discovery:
                  zookeeper:
                    connect: %s
                    base_path: /services
                    layout: plain
                    removal_debounce: 0s
                """.formatted(server.getConnectString());
    }

    @Override
    public String service() {
        return "orders";
    }

    private static String path(IdBackend backend) {
        return SERVICE_PATH + "/127.0.0.1:" + backend.port();
    }

    @Override
    public long add(int trial, IdBackend backend) throws Exception {
        String path = path(backend);
        long t0 = System.nanoTime();
        writer.create().withMode(CreateMode.EPHEMERAL).forPath(path);
        return t0;
    }

    @Override
    public long remove(int trial, IdBackend backend) throws Exception {
        String path = path(backend);
        long t0 = System.nanoTime();
        writer.delete().forPath(path);
        return t0;
    }

    @Override
    public void close() throws Exception {
        try {
            writer.close();
        } finally {
            server.close();
        }
    }
}
