package io.tandem.core.logging;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.LogFormat;
import org.junit.jupiter.api.Test;

class LogOutputTest {
    @Test
    void thePropertyPicksTheFormatBeforeAConfigIsRead() {
        assertThat(LogOutput.initial("json")).isEqualTo(LogFormat.JSON);
        assertThat(LogOutput.initial(" JSON ")).isEqualTo(LogFormat.JSON);
        assertThat(LogOutput.initial(null)).isEqualTo(LogFormat.LOGFMT);
        assertThat(LogOutput.initial("xml")).isEqualTo(LogFormat.LOGFMT);
    }

    @Test
    void applySwitchesEveryFollowingLine() {
        LogFormat before = LogOutput.format();
        try {
            LogOutput.apply(LogFormat.JSON);
            assertThat(LogOutput.format()).isEqualTo(LogFormat.JSON);
            LogOutput.apply(LogFormat.LOGFMT);
            assertThat(LogOutput.format()).isEqualTo(LogFormat.LOGFMT);
        } finally {
            LogOutput.apply(before);
        }
    }
}
