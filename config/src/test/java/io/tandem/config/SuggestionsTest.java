package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Did-you-mean helps with typos and stays quiet when nothing is close. */
class SuggestionsTest {
    private static final List<String> KEYS = List.of("name", "listen", "policy", "proxy_protocol", "retries");

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"polcy, policy", "Policy, policy", "lisen, listen", "retires, retries", "proxy-protocol, proxy_protocol",
            "nmae, name"})
    void suggestsTheClosestKeyWithinTwoEdits(String typed, String suggested) {
        assertThat(Suggestions.closest(typed, KEYS)).contains(suggested);
    }

    @ParameterizedTest(name = "{0} -> nothing")
    @CsvSource({"colour", "pol", "x", "backends"})
    void suggestsNothingWhenNoKeyIsClose(String typed) {
        assertThat(Suggestions.closest(typed, KEYS)).isEmpty();
    }
}
