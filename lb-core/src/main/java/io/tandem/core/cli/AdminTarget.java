package io.tandem.core.cli;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.HostPort;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * Where the admin API is and the token to show it, as {@code tandem status} finds them:
 * {@code --admin}, else the config's {@code admin.listen} with {@code -c}, else 127.0.0.1:9090;
 * {@code --token}, else {@code $TANDEM_ADMIN_TOKEN}, else the config's {@code admin.token}.
 * A picocli mixin for every command that asks a running node ({@code status}, {@code doctor},
 * {@code backend}, {@code connections}).
 */
final class AdminTarget {
    @Option(names = "--admin", paramLabel = "HOST:PORT",
            description = "admin API address (default: the config's admin.listen with -c, else 127.0.0.1:9090)")
    String admin;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "the node's config file: its admin.listen and admin.token are used")
    Path config;

    @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "${env:TANDEM_ADMIN_TOKEN}",
            description = "bearer token (default: $TANDEM_ADMIN_TOKEN)")
    String token;

    /** The resolved address and token, or an exit code after saying why on {@code err}. */
    record Resolved(HostPort address, Optional<String> token) {
    }

    /** @throws Exit with the exit code when the target cannot be worked out (the reason is on {@code err}) */
    Resolved resolve(PrintWriter err) {
        HostPort address = HostPort.of("127.0.0.1", 9090);
        String t = token;
        if (config != null) {
            switch (ConfigLoader.load(config)) {
                case ConfigResult.Invalid invalid -> {
                    err.println(config + ": " + invalid.errors().getFirst() + (invalid.errors().size() > 1
                            ? " (and " + (invalid.errors().size() - 1) + " more: tandem validate " + config + ")" : ""));
                    throw new Exit(TandemMain.EXIT_INVALID_CONFIG);
                }
                case ConfigResult.Valid valid -> {
                    var a = valid.config().admin();
                    if (!a.enabled()) {
                        err.println(config + ": admin is off (admin.listen: off): nothing to ask");
                        throw new Exit(TandemMain.EXIT_USAGE);
                    }
                    address = StatusCommand.reachable(a.listen());
                    if (t == null || t.isBlank()) {
                        t = a.token().orElse(null);
                    }
                }
            }
        }
        if (admin != null) {
            try {
                address = HostPort.parse(admin);
            } catch (IllegalArgumentException e) {
                err.println("--admin: " + e.getMessage());
                throw new Exit(TandemMain.EXIT_USAGE);
            }
        }
        return new Resolved(address, Optional.ofNullable(t).filter(x -> !x.isBlank()));
    }

    /** Ends a command with an exit code (its reason already printed). */
    static final class Exit extends RuntimeException {
        final int code;

        Exit(int code) {
            super(null, null, false, false);
            this.code = code;
        }
    }
}
