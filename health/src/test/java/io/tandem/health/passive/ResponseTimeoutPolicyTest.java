package io.tandem.health.passive;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.health.passive.ResponseTimeoutPolicy.Mode;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ResponseTimeoutPolicyTest {

    private static final long MS = 1_000_000L;

    @Test
    void firstResponseModeFlagsABackendSilentAfterClientDataAndCountsFromTheFirstUnansweredByte() {
        ResponseTimeoutPolicy.Watch w = ResponseTimeoutPolicy.of(Duration.ofMillis(100), Mode.FIRST_RESPONSE).newWatch();
        w.connected(0);
        assertThat(w.armed()).isFalse();
        w.clientBytes(10 * MS);
        w.clientBytes(50 * MS);             // more bytes do not push the deadline
        assertThat(w.deadlineNanos()).isEqualTo(110 * MS);
        assertThat(w.overdue(109 * MS)).isFalse();
        assertThat(w.overdue(110 * MS)).isTrue();
        assertThat(w.reason()).isEqualTo("no response within 100 ms of client data");
    }

    @Test
    void firstResponseModeStopsWatchingOnceTheBackendHasAnswered() {
        ResponseTimeoutPolicy.Watch w = ResponseTimeoutPolicy.of(Duration.ofMillis(100), Mode.FIRST_RESPONSE).newWatch();
        w.clientBytes(0);
        w.backendBytes();
        w.clientBytes(10 * MS);             // e.g. a subscribe that may wait forever: not judged
        assertThat(w.armed()).isFalse();
        assertThat(w.overdue(Long.MAX_VALUE / 2)).isFalse();
    }

    @Test
    void everyRequestModeRearmsAfterEachAnsweredRequest() {
        ResponseTimeoutPolicy.Watch w = ResponseTimeoutPolicy.of(Duration.ofMillis(100), Mode.EVERY_REQUEST).newWatch();
        w.clientBytes(0);
        w.backendBytes();
        w.clientBytes(500 * MS);
        assertThat(w.deadlineNanos()).isEqualTo(600 * MS);
        assertThat(w.overdue(600 * MS)).isTrue();
    }

    @Test
    void serverGreetingModeCountsFromConnectAndIgnoresClientBytes() {
        ResponseTimeoutPolicy.Watch w = ResponseTimeoutPolicy.of(Duration.ofMillis(100), Mode.SERVER_GREETING).newWatch();
        w.clientBytes(0);
        assertThat(w.armed()).isFalse();
        w.connected(5 * MS);
        assertThat(w.overdue(105 * MS)).isTrue();
        assertThat(w.reason()).isEqualTo("no response within 100 ms of connect");
        w.backendBytes();
        assertThat(w.armed()).isFalse();
    }

    @Test
    void disabledPolicyNeverFlagsAndZeroTimeoutIsRejected() {
        ResponseTimeoutPolicy.Watch w = ResponseTimeoutPolicy.disabled().newWatch();
        w.connected(0);
        w.clientBytes(0);
        assertThat(w.overdue(Long.MAX_VALUE / 2)).isFalse();
        assertThatThrownBy(() -> ResponseTimeoutPolicy.of(Duration.ZERO, Mode.FIRST_RESPONSE))
                .hasMessage("timeout: PT0S (expected > 0)");
    }
}
