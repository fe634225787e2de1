package io.tandem.core.cli;

import io.tandem.core.admin.AdminApiException;
import io.tandem.core.admin.AdminClient;
import io.tandem.core.admin.StatusTable;
import io.tandem.core.control.NodeView;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code tandem backend set-weight|add|remove}: HAProxy's runtime API ({@code set weight},
 * {@code add server}, {@code del server}) through the admin API. Changes last until a reload
 * changes that VIP's backends, and never survive a restart (docs/admin-api.md).
 */
@Command(name = "backend", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
        description = "Change a running node's backends (until a reload changes that VIP's backends; lost on restart).",
        subcommands = {BackendCommand.SetWeight.class, BackendCommand.Add.class, BackendCommand.Remove.class})
final class BackendCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().usage(spec.commandLine().getErr());
        return TandemMain.EXIT_USAGE;
    }

    /** Runs one admin call and prints the backend it answers with; errors exit non-zero with the node's reason. */
    static int run(CommandSpec spec, AdminTarget target, String vip,
                   Function<AdminTarget.Resolved, Function<AdminClient, NodeView.BackendView>> call) {
        try {
            AdminTarget.Resolved t = target.resolve(spec.commandLine().getErr());
            try (AdminClient client = new AdminClient()) {
                NodeView.BackendView b = call.apply(t).apply(client);
                spec.commandLine().getOut().print(StatusTable.backendLine(vip, b));
                spec.commandLine().getOut().flush();
                return 0;
            }
        } catch (AdminTarget.Exit e) {
            return e.code;
        } catch (AdminApiException e) {
            spec.commandLine().getErr().println(e.getMessage());
            return e.status() >= 400 && e.status() < 500 ? TandemMain.EXIT_USAGE : TandemMain.EXIT_FAILED;
        }
    }

    @Command(name = "set-weight", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
            description = "Set a backend's weight (0..256; 0 takes no new connections).")
    static final class SetWeight implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "VIP", description = "the VIP's name")
        String vip;
        @Parameters(index = "1", paramLabel = "BACKEND", description = "the backend, host:port as the status shows it")
        String backend;
        @Parameters(index = "2", paramLabel = "N", description = "the weight, 0..256")
        int weight;
        @Mixin
        AdminTarget target;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            return run(spec, target, vip, t -> c -> c.setWeight(t.address(), t.token(), vip, backend, weight));
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
            description = "Add a backend (an IP address and port) to a VIP; it is checked like the others before it serves.")
    static final class Add implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "VIP", description = "the VIP's name")
        String vip;
        @Parameters(index = "1", paramLabel = "ADDR", description = "the backend, IP:port ([v6]:port)")
        String address;
        @Option(names = "--weight", paramLabel = "N", description = "weight 0..256 (default 1)")
        Integer weight;
        @Option(names = "--region", paramLabel = "REGION", description = "the backend's region")
        String region;
        @Option(names = "--zone", paramLabel = "ZONE", description = "the backend's zone")
        String zone;
        @Option(names = "--priority", paramLabel = "P", description = "priority level 0..9 (default 0, primary)")
        Integer priority;
        @Mixin
        AdminTarget target;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            return run(spec, target, vip, t -> c -> c.addBackend(t.address(), t.token(), vip, address, weight, region,
                    zone, priority));
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
            description = "Remove a static or run-time backend from a VIP; its open connections finish.")
    static final class Remove implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "VIP", description = "the VIP's name")
        String vip;
        @Parameters(index = "1", paramLabel = "ADDR", description = "the backend, host:port as the status shows it")
        String address;
        @Mixin
        AdminTarget target;
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            return run(spec, target, vip, t -> c -> c.removeBackend(t.address(), t.token(), vip, address));
        }
    }
}
