package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code --max-config-size} spellings: bytes or binary units, nothing ambiguous. */
class ByteSizesTest {

    @ParameterizedTest
    @CsvSource({"4194304, 4194304", "4MiB, 4194304", "8mib, 8388608", "512KiB, 524288", "1GiB, 1073741824",
            "' 16 MiB ', 16777216", "100B, 100", "0, 0"})
    void readsBytesAndBinaryUnits(String text, long bytes) {
        assertThat(ByteSizes.parse(text)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"8MB", "8M", "4 megabytes", "-1", "1.5MiB", "", "MiB", "99999999999999GiB"})
    void refusesAnythingElseSayingWhatItExpected(String text) {
        assertThatThrownBy(() -> ByteSizes.parse(text)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageEndingWith("(expected a size such as 4194304, 512KiB or 8MiB)");
    }

    @ParameterizedTest
    @CsvSource({"4194304, 4MiB", "1572864, 1536KiB", "1000, 1000", "1073741824, 1GiB", "0, 0"})
    void formatsTheShortestExactSpelling(long bytes, String text) {
        assertThat(ByteSizes.format(bytes)).isEqualTo(text);
        assertThat(ByteSizes.parse(text)).isEqualTo(bytes);
    }
}
