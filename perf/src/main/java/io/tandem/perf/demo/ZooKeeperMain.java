package io.tandem.perf.demo;

import java.io.File;
import java.nio.file.Files;
import java.util.Map;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;

/**
 * A throwaway single-node ZooKeeper for benchmarks ({@code perf/takeover}; the pair demo has its own in lb-core):
 * {@code ZooKeeperMain HOST PORT}. Not for production: no fsync, data in a temp directory.
 */
public final class ZooKeeperMain {
    private ZooKeeperMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: ZooKeeperMain HOST PORT");
            System.exit(2);
        }
        System.setProperty("zookeeper.forceSync", "no");
        System.setProperty("zookeeper.admin.enableServer", "false");
        File data = Files.createTempDirectory("tandem-zk-").toFile();
        data.deleteOnExit();
        InstanceSpec spec = new InstanceSpec(data, Integer.parseInt(args[1]), -1, -1, true, 1, 2000, 200, Map.of(),
                args[0]);
        try (TestingServer server = new TestingServer(spec, true)) {
            System.out.println("zookeeper ready " + server.getConnectString());
            System.out.flush();
            Thread.currentThread().join();
        }
    }
}
