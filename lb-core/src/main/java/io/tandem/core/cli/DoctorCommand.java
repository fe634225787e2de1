package io.tandem.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.HostPort;
import io.tandem.core.admin.AdminClient;
import io.tandem.core.admin.PostureText;
import io.tandem.core.control.PostureReport;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tandem doctor}: the running node's single points of failure ({@code GET /api/posture}),
 * each with what to do. Exit 0 when nothing is a WARN, 1 when something is (so a deploy
 * pipeline can gate on it), 2 on bad usage, 3 when the node cannot be asked.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
        description = {"Report a running node's single points of failure (reads the admin API).",
                "Exit status: 0 no WARN finding, 1 at least one WARN finding, 2 usage, 3 node not reachable."})
final class DoctorCommand implements Callable<Integer> {
    static final int EXIT_WARNINGS = 1;

    @Option(names = "--admin", paramLabel = "HOST:PORT",
            description = "admin API address (default: the config's admin.listen with -c, else 127.0.0.1:9090)")
    String admin;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "the node's config file: its admin.listen and admin.token are used")
    Path config;

    @Option(names = "--token", paramLabel = "TOKEN", defaultValue = "${env:TANDEM_ADMIN_TOKEN}",
            description = "bearer token (default: $TANDEM_ADMIN_TOKEN)")
    String token;

    @Option(names = "--json", description = "print the report as JSON (GET /api/posture)")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        HostPort address = HostPort.of("127.0.0.1", 9090);
        if (config != null) {
            switch (ConfigLoader.load(config)) {
                case ConfigResult.Invalid invalid -> {
                    spec.commandLine().getErr().println(config + ": " + invalid.errors().getFirst()
                            + " (tandem validate " + config + ")");
                    return TandemMain.EXIT_USAGE;
                }
                case ConfigResult.Valid valid -> {
                    var a = valid.config().admin();
                    if (!a.enabled()) {
                        spec.commandLine().getErr().println(config + ": admin is off (admin.listen: off): nothing to ask");
                        return TandemMain.EXIT_USAGE;
                    }
                    address = StatusCommand.reachable(a.listen());
                    if (token == null || token.isBlank()) {
                        token = a.token().orElse(null);
                    }
                }
            }
        }
        if (admin != null) {
            try {
                address = HostPort.parse(admin);
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println("--admin: " + e.getMessage());
                return TandemMain.EXIT_USAGE;
            }
        }
        PostureReport report;
        try (AdminClient client = new AdminClient()) {
            report = client.fetchPosture(address, Optional.ofNullable(token).filter(t -> !t.isBlank()));
        } catch (Exception e) {
            spec.commandLine().getErr().println(e.getMessage());
            return TandemMain.EXIT_FAILED;
        }
        if (json) {
            ObjectMapper mapper = new ObjectMapper().registerModule(new JavaTimeModule()).registerModule(new Jdk8Module())
                    .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                    .enable(SerializationFeature.INDENT_OUTPUT);
            spec.commandLine().getOut().println(mapper.writeValueAsString(report));
        } else {
            spec.commandLine().getOut().print(PostureText.render(report));
        }
        spec.commandLine().getOut().flush();
        return report.hasWarnings() ? EXIT_WARNINGS : 0;
    }
}
