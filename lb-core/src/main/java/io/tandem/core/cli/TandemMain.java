package io.tandem.core.cli;

import java.util.Arrays;
import java.util.Map;
import java.util.function.Supplier;
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
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            // The same line picocli prints, without building the model of every command first
            // (reflection over all their annotations: most of `tandem --version`'s start-up).
            System.out.println(new Version().getVersion()[0]);
            System.exit(0);
        }
        // `run` and `demo` return only after the node has stopped (or never, when a signal's
        // shutdown hook ends the JVM), so exiting here is always right.
        Supplier<Object> only = args.length == 0 ? null : SHORT.get(args[0]);
        if (only != null) {
            // A short command builds only its own model: picocli reflects over every command's
            // annotations when the whole tree is built, most of a short command's start-up.
            CommandLine cl = new CommandLine(only.get());
            cl.setCommandName("tandem " + args[0]);
            cl.setCaseInsensitiveEnumValuesAllowed(true);
            System.exit(cl.execute(Arrays.copyOfRange(args, 1, args.length)));
        }
        System.exit(newCommandLine().execute(args));
    }

    /** The short-lived commands (the launcher's AOT-cached ones) that need no other command's model. */
    private static final Map<String, Supplier<Object>> SHORT = Map.of("status", StatusCommand::new,
            "validate", ValidateCommand::new, "doctor", DoctorCommand::new, "backend", BackendCommand::new,
            "connections", ConnectionsCommand::new);

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
