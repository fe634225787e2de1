package io.tandem.core.cli;

import io.tandem.config.ByteSizes;
import io.tandem.config.ConfigLoader;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code --max-config-size SIZE} of {@code run} and {@code validate}: the cap on the config
 * file's size. It lives on the command line (or in {@code TANDEM_MAX_CONFIG_SIZE}) because a
 * limit cannot live inside the file it limits; a reload keeps the cap the node started with.
 */
final class ConfigSizeOption {
    @Option(names = "--max-config-size", paramLabel = "SIZE", converter = SizeConverter.class,
            defaultValue = "${env:TANDEM_MAX_CONFIG_SIZE:-4MiB}",
            description = "largest config file read, e.g. 8MiB (default: ${DEFAULT-VALUE}; env TANDEM_MAX_CONFIG_SIZE);"
                    + " larger files, and FIFOs or devices, are refused unread")
    long maxBytes = ConfigLoader.DEFAULT_MAX_BYTES;

    /** Parses a size and keeps it within 1 byte..1 GiB. */
    static final class SizeConverter implements ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            long bytes;
            try {
                bytes = ByteSizes.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
            if (bytes < 1 || bytes > ConfigLoader.MAX_MAX_BYTES) {
                throw new TypeConversionException("\"" + value + "\" (expected a size from 1 byte to "
                        + ByteSizes.format(ConfigLoader.MAX_MAX_BYTES) + ")");
            }
            return bytes;
        }
    }
}
