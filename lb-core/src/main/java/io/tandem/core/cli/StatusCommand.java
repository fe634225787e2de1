package io.tandem.core.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.tandem.config.HostPort;
import io.tandem.core.admin.AdminClient;
import io.tandem.core.admin.StatusTable;
import io.tandem.core.control.NodeView;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tandem status}: the node's view, from its admin API, as a table (or JSON). */
@Command(name = "status", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
        description = "Show a running node's VIPs and backends, and its HA group (reads the admin API).")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    AdminTarget target;

    @Option(names = "--json", description = "print the raw JSON view")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        AdminTarget.Resolved resolved;
        try {
            resolved = target.resolve(spec.commandLine().getErr());
        } catch (AdminTarget.Exit e) {
            return e.code;
        }
        HostPort address = resolved.address();
        Optional<String> bearer = resolved.token();
        NodeView view;
        Optional<io.tandem.core.control.PostureReport> posture = Optional.empty();
        Optional<io.tandem.ha.HaView> ha;
        Optional<io.tandem.ha.announce.Announcer.AnnounceView> announce;
        try (AdminClient client = new AdminClient()) {
            view = client.fetchNode(address, bearer);
            ha = json ? Optional.empty() : client.fetchHa(address, bearer); // --json prints /api/node as it is
            announce = ha.isPresent() ? client.fetchAnnounce(address, bearer) : Optional.empty();
            if (!json) {
                posture = posture(client, address, bearer);
            }
        } catch (Exception e) {
            spec.commandLine().getErr().println(e.getMessage());
            return TandemMain.EXIT_FAILED;
        }
        if (json) {
            ObjectMapper mapper = new ObjectMapper().registerModule(new JavaTimeModule()).registerModule(new Jdk8Module())
                    .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                    .enable(SerializationFeature.INDENT_OUTPUT);
            spec.commandLine().getOut().println(mapper.writeValueAsString(view));
        } else {
            spec.commandLine().getOut().print(StatusTable.render(view, ha, announce));
            posture.ifPresent(p -> spec.commandLine().getOut().print(io.tandem.core.admin.PostureText.summary(p)));
        }
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** The node's posture for the table's last lines; empty from a node that has none (older, 404). */
    private static Optional<io.tandem.core.control.PostureReport> posture(AdminClient client, HostPort address,
                                                                          Optional<String> bearer) {
        try {
            return Optional.of(client.fetchPosture(address, bearer));
        } catch (io.tandem.core.admin.AdminApiException e) {
            return Optional.empty();
        }
    }

    /** A wildcard listen address is asked on loopback (same port). */
    static HostPort reachable(HostPort listen) {
        String h = listen.host();
        if (h.equals("0.0.0.0") || h.equals("*")) {
            return HostPort.of("127.0.0.1", listen.port());
        }
        if (h.equals("::") || h.equals("[::]")) {
            return HostPort.of("::1", listen.port());
        }
        return listen;
    }
}
