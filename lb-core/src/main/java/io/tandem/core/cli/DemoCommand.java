package io.tandem.core.cli;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.node.Node;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tandem demo}: a self-contained node on this machine with built-in demo backends on
 * loopback, started from a real config file (so editing it shows a live reload), printing what
 * to try.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
        description = "Run a self-contained demo: a node plus demo backends on loopback.")
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--port-offset", defaultValue = "0",
            description = "add this to every demo port (default ports: VIPs 8080 and 7000, admin 9090, "
                    + "backends 18081-18083 and 17001-17002)")
    int offset;

    @Option(names = "--for", paramLabel = "DURATION",
            description = "stop by itself after this long (e.g. 30s); default: until Ctrl-C. With --pair: keep "
                    + "the survivor running this long after the takeover (default: end right after it)")
    String duration;

    @Option(names = "--pair", description = "the HA pair instead (Linux, root): two nodes, ZooKeeper, backends and "
            + "a client in network namespaces; the VIP's owner is killed and the other node takes it over. "
            + "Dashboards on 127.0.0.1:9091 and :9092 (plus --port-offset)")
    boolean pair;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Duration runFor = duration == null ? null : io.tandem.config.Durations.parse(duration);
        if (pair) {
            java.util.Optional<String> missing = DemoPair.missing();
            if (missing.isPresent()) {
                err.println(missing.get());
                return TandemMain.EXIT_FAILED;
            }
            return new DemoPair(out, offset, runFor == null ? Duration.ZERO : runFor).run();
        }
        int web = 8080 + offset;
        int echoVip = 7000 + offset;
        int admin = 9090 + offset;
        DemoBackends backends = new DemoBackends();
        try {
            for (int i = 1; i <= 3; i++) {
                backends.startHttp(18080 + i + offset, "backend-" + i);
            }
            for (int i = 1; i <= 2; i++) {
                backends.startEcho(17000 + i + offset);
            }
        } catch (IOException e) {
            backends.close();
            err.println("demo: cannot start demo backends: " + e.getMessage()
                    + " (another demo running? try --port-offset 100)");
            return TandemMain.EXIT_FAILED;
        }
        Path dir = Files.createTempDirectory("tandem-demo-");
        Path file = dir.resolve("tandem.yaml");
        Files.writeString(file, demoConfig(web, echoVip, admin, offset));
        Node.Options options;
        switch (ConfigLoader.load(file)) {
            case ConfigResult.Invalid invalid -> {
                backends.close();
                removeQuietly(dir);
                err.println("demo: generated config is invalid (a bug): " + invalid.errors());
                return TandemMain.EXIT_FAILED;
            }
            case ConfigResult.Valid valid -> options = Node.Options.file("demo", valid.config(), file, true);
        }
        Node node;
        try {
            node = Node.start(options);
        } catch (Node.StartException e) {
            backends.close();
            removeQuietly(dir);
            err.println("demo: " + e.getMessage() + " (another demo running? try --port-offset 100)");
            return TandemMain.EXIT_FAILED;
        }
        node.reloadOnSighup();
        out.print(instructions(web, echoVip, admin, offset, file, node));
        out.flush();
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
            node.shutdown(Duration.ofSeconds(2));
            backends.close();
            removeQuietly(dir);
        }));
        if (runFor != null) {
            Thread.sleep(runFor.toMillis()); // the demo's own lifetime, not a wait for a condition
            node.shutdown(Duration.ofSeconds(2));
            backends.close();
            removeQuietly(dir);
            out.println("demo finished after " + duration);
            out.flush();
            return 0;
        }
        Thread.currentThread().join(); // until Ctrl-C; the shutdown hook stops the node
        return 0;
    }

    /** The demo's config file and its folder, gone when the demo ends (an editor's backup file too). */
    private static void removeQuietly(Path dir) {
        try (var left = Files.list(dir)) {
            for (Path p : left.toList()) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // best effort: a temporary folder
        }
    }

    static String demoConfig(int web, int echoVip, int admin, int offset) {
        return """
                # Tandem demo config — edit and save: the node reloads it in place.
                admin:
                  listen: 127.0.0.1:%d
                vips:
                  - name: web
                    listen: 127.0.0.1:%d
                    policy: round-robin
                    retries: 3
                    # an HTTP check: a crashed backend shows as down in ./tandem status
                    health_check: {type: http, path: /healthz}
                    backends:
                      - 127.0.0.1:%d
                      - 127.0.0.1:%d
                      - 127.0.0.1:%d
                  - name: echo
                    listen: 127.0.0.1:%d
                    policy: maglev
                    backends:
                      - 127.0.0.1:%d
                      - 127.0.0.1:%d
                """.formatted(admin, web, 18081 + offset, 18082 + offset, 18083 + offset, echoVip,
                17001 + offset, 17002 + offset);
    }

    private static String instructions(int web, int echoVip, int admin, int offset, Path file, Node node) {
        String statusFlag = offset == 0 ? "" : " --admin 127.0.0.1:" + admin;
        return """

                Tandem demo is running on %s (Ctrl-C to stop).
                  VIP web   127.0.0.1:%d  -> 3 HTTP backends 127.0.0.1:%d-%d (round-robin)
                  VIP echo  127.0.0.1:%d  -> 2 TCP echo backends 127.0.0.1:%d-%d (maglev by client address)
                  admin     http://127.0.0.1:%d   config %s

                Try:
                  curl -s http://127.0.0.1:%d/                      # repeat: answers rotate over the backends
                  ./tandem status%s                                 # the node's view as a table
                  curl -s http://127.0.0.1:%d/crash                 # one backend dies...
                  for i in $(seq 20); do curl -s http://127.0.0.1:%d/; done   # ...no request fails (retry + redispatch)
                  curl -s -XPOST http://127.0.0.1:%d/api/vips/web/backends/127.0.0.1:%d/drain
                  curl -s http://127.0.0.1:%d/metrics | grep '^tandem_vip'
                  echo hello | curl -s --max-time 1 telnet://127.0.0.1:%d   # TCP echo through the proxy
                  $EDITOR %s               # change a backend or the policy: live reload, no connection cut

                """.formatted(node.transport().name(), web, 18081 + offset, 18083 + offset, echoVip,
                17001 + offset, 17002 + offset, admin, file, web, statusFlag, web, web, admin, 18082 + offset,
                admin, echoVip, file);
    }
}
