package io.tandem.tests.ha;

import io.tandem.tests.support.OwnerWatch;
import java.io.File;
import java.util.Map;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;

/**
 * A standalone ZooKeeper (curator-test's {@link TestingServer}) as its own process, so the HA
 * system test can stop it for real ({@code kill -9}) and start it again on the same data
 * directory: {@code ZooKeeperMain PORT DATA_DIR OWNER_PID}. Prints {@code zookeeper ready}.
 */
public final class ZooKeeperMain {
    private ZooKeeperMain() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        File data = new File(args[1]);
        OwnerWatch.exitWithOwner(Long.parseLong(args[2]));
        // fsync on a shared CI disk can take hundreds of ms: long enough to make a node doubt
        // its ZooKeeper connection (docs/ha.md §9); durability is not what these tests check.
        System.setProperty("zookeeper.forceSync", "no");
        System.setProperty("zookeeper.admin.enableServer", "false");
        InstanceSpec spec = new InstanceSpec(data, port, -1, -1, false, 1, 2000, 200, Map.of(), "127.0.0.1");
        TestingServer server = new TestingServer(spec, true);
        System.out.println("zookeeper ready port=" + server.getPort());
        System.out.flush();
        Thread.currentThread().join();
    }
}
