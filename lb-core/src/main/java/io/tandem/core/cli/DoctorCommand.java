package io.tandem.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.tandem.config.HostPort;
import io.tandem.core.admin.AdminClient;
import io.tandem.core.admin.PostureText;
import io.tandem.core.control.PostureReport;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
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

    @Mixin
    AdminTarget target;

    @Option(names = "--json", description = "print the report as JSON (GET /api/posture)")
    boolean json;

    @Spec
    CommandSpec spec;

    /** Exit 1 means "a WARN finding" here: a config that cannot be read is a usage error (2). */
    private static int exitFor(int code) {
        return code == TandemMain.EXIT_INVALID_CONFIG ? TandemMain.EXIT_USAGE : code;
    }

    @Override
    public Integer call() throws Exception {
        AdminTarget.Resolved resolved;
        try {
            resolved = target.resolve(spec.commandLine().getErr());
        } catch (AdminTarget.Exit e) {
            return exitFor(e.code);
        }
        HostPort address = resolved.address();
        Optional<String> bearer = resolved.token();
        PostureReport report;
        try (AdminClient client = new AdminClient()) {
            report = client.fetchPosture(address, bearer);
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
