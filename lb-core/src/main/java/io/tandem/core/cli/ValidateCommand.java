package io.tandem.core.cli;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.ConfigSummary;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code tandem validate FILE} (or {@code -c FILE}): every error at once, or a summary. Exits 1 for every bad
 * input, including a file that cannot be read, is not a regular file or is over the size cap.
 */
@Command(name = "validate", mixinStandardHelpOptions = true, versionProvider = TandemMain.Version.class,
        description = "Check a config file; print every error with its path, or a summary.")
final class ValidateCommand implements Callable<Integer> {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "YAML config file")
    Path option;

    @Parameters(arity = "0..1", paramLabel = "FILE", description = "YAML config file (or -c FILE)")
    Path positional;

    @Mixin
    ConfigSizeOption size;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if ((option == null) == (positional == null)) {
            err.println(option == null ? "validate: which file? (tandem validate FILE, or -c FILE)"
                    : "validate: one file: " + positional + " and -c " + option + " both given");
            err.flush();
            return TandemMain.EXIT_USAGE;
        }
        Path config = option != null ? option : positional;
        return switch (ConfigLoader.load(config, size.maxBytes)) {
            case ConfigResult.Invalid invalid -> {
                err.println(config + ": " + invalid.errors().size() + " error"
                        + (invalid.errors().size() == 1 ? "" : "s"));
                invalid.errors().forEach(e -> err.println("  " + e));
                err.flush();
                yield TandemMain.EXIT_INVALID_CONFIG;
            }
            case ConfigResult.Valid valid -> {
                out.println(config + ": valid");
                out.print(ConfigSummary.describe(valid.config()));
                // Valid but probably not meant (a VIP address in only one of ha.addresses and
                // vips[].listen): said after the summary, exit status still 0.
                ConfigSummary.warnings(valid.config()).forEach(w -> out.println("warning: " + w));
                out.flush();
                yield 0;
            }
        };
    }
}
