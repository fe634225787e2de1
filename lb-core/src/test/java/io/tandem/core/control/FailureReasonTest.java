package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.ConnectTimeoutException;
import java.io.IOException;
import java.net.ConnectException;
import org.junit.jupiter.api.Test;

/** Passive-failure reasons read well in logs and the admin API, without the address repeated. */
class FailureReasonTest {
    @Test
    void epollRefusalLosesItsSyscallPrefixAndAddress() {
        assertThat(PassiveSignals.describe(new IOException("connect(..) failed: Connection refused: /127.0.0.1:9001")))
                .isEqualTo("connection refused");
    }

    @Test
    void nioAndTimeoutMessagesKeepTheirMeaning() {
        assertThat(PassiveSignals.describe(new ConnectException("Connection refused: /127.0.0.1:9001")))
                .isEqualTo("connection refused");
        assertThat(PassiveSignals.describe(new ConnectTimeoutException("connection timed out after 1000 ms: /10.0.0.1:80")))
                .isEqualTo("connection timed out after 1000 ms");
        assertThat(PassiveSignals.describe(new IOException())).isEqualTo("IOException");
    }
}
