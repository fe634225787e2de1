package io.tandem.core.cli;

import io.tandem.config.AdminSettings;
import io.tandem.config.BackendConfig;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.HealthCheckSpec;
import io.tandem.config.HostPort;
import io.tandem.config.Limits;
import io.tandem.config.PolicyKind;
import io.tandem.config.Protocol;
import io.tandem.config.ProxyProtocolVersion;
import io.tandem.config.RelayMode;
import io.tandem.config.RuntimeSettings;
import io.tandem.config.TandemConfig;
import io.tandem.config.Timeouts;
import io.tandem.config.VipConfig;
import io.tandem.core.node.Node;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tandem run --config FILE}, or quick mode without a file:
 * {@code tandem run --listen 127.0.0.1:8080 --backend 127.0.0.1:9001 --backend 127.0.0.1:9002}.
 * Blocks until the node is stopped by SIGTERM/SIGINT (graceful drain) or SIGKILL.
 */
@Command(name = "run", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
        description = "Run a node from a config file, or in quick mode from flags.")
final class RunCommand implements Callable<Integer> {

    @ArgGroup(exclusive = true, multiplicity = "1")
    Mode mode;

    static final class Mode {
        @Option(names = {"-c", "--config"}, paramLabel = "FILE",
                description = "YAML config file; reloaded on change, SIGHUP or POST /api/reload")
        Path config;

        @ArgGroup(exclusive = false)
        Quick quick;
    }

    static final class Quick {
        @Option(names = "--listen", required = true, paramLabel = "ADDR:PORT[/tcp|/udp]",
                description = "VIP address (quick mode)")
        String listen;

        @Option(names = "--backend", required = true, paramLabel = "HOST:PORT[,WEIGHT]",
                description = "a backend (repeat the option for more)")
        List<String> backends = new ArrayList<>();

        @Option(names = "--policy", paramLabel = "POLICY", defaultValue = "round-robin",
                description = "round-robin, weighted-round-robin, least-connections, power-of-two, maglev "
                        + "(default: ${DEFAULT-VALUE})")
        String policy;

        @Option(names = "--admin", paramLabel = "ADDR:PORT", defaultValue = "127.0.0.1:9090",
                description = "admin API address, or 'off' (default: ${DEFAULT-VALUE})")
        String admin;

        @Option(names = "--name", defaultValue = "quick", description = "VIP name (default: ${DEFAULT-VALUE})")
        String name;

        @Option(names = "--proxy-protocol", defaultValue = "none", description = "none, v1 or v2")
        String proxyProtocol;

        @Option(names = "--relay", defaultValue = "auto", description = "copy, splice or auto")
        String relay;
    }

    @Option(names = "--node-name", defaultValue = "${env:HOSTNAME:-tandem}", description = "node name in logs and the API")
    String nodeName;

    @Option(names = "--no-watch", description = "do not reload when the config file changes")
    boolean noWatch;

    @Mixin
    ConfigSizeOption size;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        Node.Options options;
        if (mode.config != null) {
            switch (ConfigLoader.load(mode.config, size.maxBytes)) {
                case ConfigResult.Invalid invalid -> {
                    err.println(mode.config + ": " + invalid.errors().size() + " error(s)");
                    invalid.errors().forEach(e -> err.println("  " + e));
                    err.flush();
                    return TandemMain.EXIT_INVALID_CONFIG;
                }
                case ConfigResult.Valid valid ->
                        options = Node.Options.file(nodeName, valid.config(), mode.config, !noWatch,
                                size.maxBytes);
            }
        } else {
            try {
                options = Node.Options.fixed(nodeName, quickConfig(mode.quick));
            } catch (IllegalArgumentException e) {
                err.println(e.getMessage());
                err.flush();
                return TandemMain.EXIT_USAGE;
            }
        }
        return runUntilStopped(options, err);
    }

    /** Starts the node and parks this thread; the shutdown hook drains and stops it. */
    static int runUntilStopped(Node.Options options, PrintWriter err) {
        Node node;
        try {
            node = Node.start(options);
        } catch (Node.StartException e) {
            err.println(e.getMessage());
            err.flush();
            return TandemMain.EXIT_FAILED;
        }
        node.reloadOnSighup();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("tandem-shutdown").unstarted(() -> {
            node.close(); // the drain timeout of the config in force: a reload may have changed it
            stopped.countDown();
        }));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /** Builds a one-VIP config from quick-mode flags. Errors read like config errors. */
    static TandemConfig quickConfig(Quick q) {
        String listen = q.listen;
        Protocol protocol = Protocol.TCP;
        int slash = listen.lastIndexOf('/');
        if (slash > 0) {
            String p = listen.substring(slash + 1).toLowerCase(Locale.ROOT);
            protocol = switch (p) {
                case "tcp" -> Protocol.TCP;
                case "udp" -> Protocol.UDP;
                default -> throw new IllegalArgumentException("--listen: \"" + q.listen + "\" (expected ADDR:PORT, "
                        + "ADDR:PORT/tcp or ADDR:PORT/udp)");
            };
            listen = listen.substring(0, slash);
        }
        HostPort vipAddress = parse("--listen", listen);
        List<BackendConfig> backends = new ArrayList<>();
        for (String b : q.backends) {
            int weight = 1;
            String addr = b;
            int comma = b.lastIndexOf(',');
            if (comma > 0) {
                try {
                    weight = Integer.parseInt(b.substring(comma + 1));
                } catch (NumberFormatException e) {
                    weight = -1;
                }
                if (weight < 1 || weight > 1000) {
                    throw new IllegalArgumentException("--backend: \"" + b + "\" (expected weight 1..1000)");
                }
                addr = b.substring(0, comma);
            }
            backends.add(new BackendConfig(parse("--backend", addr), weight));
        }
        PolicyKind policy = null;
        for (PolicyKind k : PolicyKind.values()) {
            if (k.configName().equalsIgnoreCase(q.policy)) {
                policy = k;
            }
        }
        if (policy == null) {
            throw new IllegalArgumentException("--policy: \"" + q.policy + "\" (expected one of round-robin, "
                    + "weighted-round-robin, least-connections, power-of-two, maglev)");
        }
        ProxyProtocolVersion pp = switch (q.proxyProtocol.toLowerCase(Locale.ROOT)) {
            case "none" -> ProxyProtocolVersion.NONE;
            case "v1" -> ProxyProtocolVersion.V1;
            case "v2" -> ProxyProtocolVersion.V2;
            default -> throw new IllegalArgumentException("--proxy-protocol: \"" + q.proxyProtocol
                    + "\" (expected none, v1 or v2)");
        };
        RelayMode relay = switch (q.relay.toLowerCase(Locale.ROOT)) {
            case "copy" -> RelayMode.COPY;
            case "splice" -> RelayMode.SPLICE;
            case "auto" -> RelayMode.AUTO;
            default -> throw new IllegalArgumentException("--relay: \"" + q.relay + "\" (expected copy, splice or auto)");
        };
        AdminSettings admin = "off".equalsIgnoreCase(q.admin)
                ? new AdminSettings(false, AdminSettings.DEFAULTS.listen(), Optional.empty())
                : new AdminSettings(true, parse("--admin", q.admin), Optional.empty());
        if (admin.enabled() && !isLoopback(admin.listen().host())) {
            // Quick mode has no way to set a token; an unauthenticated admin API must stay local.
            throw new IllegalArgumentException("--admin: " + q.admin + " (expected a loopback address in quick "
                    + "mode; bind elsewhere from a config file with admin.token)");
        }
        VipConfig vip = new VipConfig(q.name, vipAddress, protocol, policy, backends, Limits.UNLIMITED,
                Timeouts.DEFAULTS, 3, pp, relay, Optional.<HealthCheckSpec>empty());
        return new TandemConfig(RuntimeSettings.DEFAULTS, admin, List.of(vip));
    }

    private static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }

    private static HostPort parse(String option, String value) {
        try {
            return HostPort.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage());
        }
    }
}
