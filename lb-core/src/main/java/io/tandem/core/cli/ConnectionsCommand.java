package io.tandem.core.cli;

import io.tandem.core.admin.AdminApiException;
import io.tandem.core.admin.AdminClient;
import io.tandem.core.admin.StatusTable;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code tandem connections VIP}: one page of a VIP's open TCP connections (HAProxy {@code show sess}). */
@Command(name = "connections", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
        description = "List a VIP's open TCP connections: client, backend, age, bytes each way (one page).")
final class ConnectionsCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "VIP", description = "the VIP's name")
    String vip;
    @Option(names = "--backend", paramLabel = "B", description = "only the connections to this backend (host:port)")
    String backend;
    @Option(names = "--limit", paramLabel = "N", defaultValue = "100",
            description = "connections per page, 1..1000 (default ${DEFAULT-VALUE})")
    int limit;
    @Option(names = "--after", paramLabel = "ID", defaultValue = "0",
            description = "start after this connection id (the 'next page' the previous page printed)")
    long after;
    @Mixin
    AdminTarget target;
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        try {
            AdminTarget.Resolved t = target.resolve(spec.commandLine().getErr());
            try (AdminClient client = new AdminClient()) {
                var page = client.connections(t.address(), t.token(), vip, backend, limit, after);
                spec.commandLine().getOut().print(StatusTable.connections(page));
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
}
