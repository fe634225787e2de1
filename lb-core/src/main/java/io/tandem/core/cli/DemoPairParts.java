package io.tandem.core.cli;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.apache.zookeeper.server.ServerCnxnFactory;
import org.apache.zookeeper.server.ZooKeeperServer;

/**
 * The pair demo's helper processes ({@code tandem demo --pair} starts them inside its network
 * namespaces, from the same jar): {@code infra OWNER_PID DIR ADDRESS} runs a throwaway ZooKeeper
 * on ADDRESS:2181 (data in DIR, no fsync) and two HTTP backends on ADDRESS:8000 and :8001;
 * {@code client OWNER_PID HOST PORT INTERVAL_MS} opens a new connection and sends {@code GET /}
 * every INTERVAL_MS, printing {@code R <startMillis> <endMillis> ok|fail <detail>} per attempt.
 * Both end when the demo's process (OWNER_PID) is gone, even if it was killed with SIGKILL.
 * Demo only.
 */
final class DemoPairParts {
    static final int ZK_PORT = 2181;
    static final int BACKEND_PORT = 8000;
    static final String READY = "demo infra ready";

    private DemoPairParts() {
    }

    public static void main(String[] args) throws Exception {
        long owner = Long.parseLong(args[1]);
        ProcessHandle.of(owner).ifPresentOrElse(h -> h.onExit().thenRun(() -> Runtime.getRuntime().halt(0)),
                () -> Runtime.getRuntime().halt(0));
        switch (args[0]) {
            case "infra" -> infra(new File(args[2]), InetAddress.getByName(args[3]));
            case "client" -> client(args[2], Integer.parseInt(args[3]), Long.parseLong(args[4]));
            default -> throw new IllegalArgumentException("role: " + args[0] + " (expected infra or client)");
        }
    }

    private static void infra(File dir, InetAddress address) throws Exception {
        System.setProperty("zookeeper.forceSync", "no");
        System.setProperty("zookeeper.admin.enableServer", "false");
        System.setProperty("zookeeper.4lw.commands.whitelist", "ruok");
        File data = new File(dir, "zookeeper");
        ZooKeeperServer zk = new ZooKeeperServer(data, data, 2000);
        ServerCnxnFactory factory = ServerCnxnFactory.createFactory(new InetSocketAddress(address, ZK_PORT), 100);
        factory.startup(zk);
        DemoBackends backends = new DemoBackends();
        backends.startHttp(address, BACKEND_PORT, "backend-1");
        backends.startHttp(address, BACKEND_PORT + 1, "backend-2");
        System.out.println(READY + " zookeeper=" + address.getHostAddress() + ":" + ZK_PORT);
        System.out.flush();
        Thread.currentThread().join();
    }

    private static void client(String host, int port, long interval) throws InterruptedException {
        while (true) {
            long start = System.currentTimeMillis();
            String result;
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), 500);
                s.setSoTimeout(1000);
                OutputStream out = s.getOutputStream();
                out.write(("GET / HTTP/1.0\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                String text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                result = text.startsWith("HTTP/1.1 200") || text.startsWith("HTTP/1.0 200") ? "ok"
                        : "fail bad-response";
            } catch (IOException e) {
                result = "fail " + e.getClass().getSimpleName() + ":" + String.valueOf(e.getMessage()).replace(' ', '_');
            }
            System.out.println("R " + start + " " + System.currentTimeMillis() + " " + result);
            System.out.flush();
            long sleep = start + interval - System.currentTimeMillis();
            if (sleep > 0) {
                Thread.sleep(sleep);
            }
        }
    }
}
