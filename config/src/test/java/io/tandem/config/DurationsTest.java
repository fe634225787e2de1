package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The duration spelling: what parses, what does not, and the shortest spelling back. */
class DurationsTest {

    @ParameterizedTest(name = "{0} = {1} ms")
    @CsvSource({
            "0, 0", "0ms, 0", "0s, 0", "250ms, 250", "2s, 2000", "1.5s, 1500", "0.25s, 250", "5m, 300000",
            "1h, 3600000", "7d, 604800000", "1.5ms, 1.5", "10m, 600000"})
    void parsesNumberAndUnit(String text, double millis) {
        assertThat(Durations.parse(text)).isEqualTo(Duration.ofNanos((long) (millis * 1_000_000)));
    }

    @ParameterizedTest(name = "\"{0}\" is rejected")
    @ValueSource(strings = {"5", "", "s", "-1s", "1.s", ".5s", "1 s", "1S", "1sec", "1.5", "1e3ms", "2w",
            "99999999999999999d", "0.0000000001s"})
    void rejectsAnythingWithoutAUnitOrMalformed(String text) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(Render.quote(text) + " (expected a duration such as 250ms, 2s, 1m)");
    }

    @ParameterizedTest(name = "{0} ms formats as {1}")
    @CsvSource({
            "0, 0", "1, 1ms", "250, 250ms", "500, 500ms", "1000, 1s", "1500, 1.5s", "1250, 1.25s", "1001, 1001ms",
            "60000, 1m", "90000, 90s", "600000, 10m", "3600000, 1h", "5400000, 90m", "86400000, 1d",
            "129600000, 36h"})
    void formatsTheShortestSpellingNeverStartingWithZeroPoint(long millis, String expected) {
        assertThat(Durations.format(Duration.ofMillis(millis))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} round-trips")
    @CsvSource({"1", "7", "999", "1001", "1234", "59999", "61000", "3599999", "86400001", "604800000"})
    void formatThenParseIsTheIdentity(long millis) {
        Duration d = Duration.ofMillis(millis);
        assertThat(Durations.parse(Durations.format(d))).isEqualTo(d);
    }

    @ParameterizedTest(name = "{0} ns round-trips")
    @ValueSource(longs = {1, 1500, 999_999, 1_000_001})
    void subMillisecondDurationsRoundTripAsFractionalMillis(long nanos) {
        Duration d = Duration.ofNanos(nanos);
        assertThat(Durations.parse(Durations.format(d))).isEqualTo(d);
    }

    @ParameterizedTest(name = "{0} round-trips")
    @ValueSource(strings = {"250ms", "2s", "1.5s", "5m", "1h", "7d", "36h", "1.25s"})
    void parseThenFormatGivesTheSameSpellingWhenItIsAlreadyShortest(String text) {
        assertThat(Durations.format(Durations.parse(text))).isEqualTo(text);
    }

    @org.junit.jupiter.api.Test
    void negativeDurationsCannotBeFormatted() {
        assertThatThrownBy(() -> Durations.format(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
