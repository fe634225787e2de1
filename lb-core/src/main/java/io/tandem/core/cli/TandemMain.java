package io.tandem.core.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code tandem} command: {@code run}, {@code validate}, {@code status}, {@code demo}.
 * Exit codes: 0 ok, 1 invalid config, 2 usage error, 3 the node could not start or the admin
 * API could not be reached.
 */
@Command(name = "tandem", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
        description = "Tandem: a Layer-4 (TCP/UDP) high-availability load balancer.",
        subcommands = {RunCommand.class, ValidateCommand.class, StatusCommand.class, DoctorCommand.class,
                DemoCommand.class, BackendCommand.class, ConnectionsCommand.class, CommandLine.HelpCommand.class})
public final class TandemMain {
    static final int EXIT_INVALID_CONFIG = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_FAILED = 3;

    public static void main(String[] args) {
        // `run` and `demo` return only after the node has stopped (or never, when a signal's
        // shutdown hook ends the JVM), so exiting here is always right.
        System.exit(newCommandLine().execute(args));
    }

    /** The configured picocli command line (tests run commands through it in-process). */
    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new TandemMain());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return cl;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            io.tandem.core.metrics.BuildInfo b = io.tandem.core.metrics.BuildInfo.current();
            return new String[] {"tandem " + b.version() + " (revision " + b.revision() + ", Java "
                    + Runtime.version() + ")"};
        }
    }
}
