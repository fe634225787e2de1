package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HealthCheckSpec;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class UdpCheckIT extends CheckerITBase {

    private static HealthCheckSpec.Udp spec(Optional<String> expect) {
        return new HealthCheckSpec.Udp(fast(), OptionalInt.empty(), "PING", expect);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void echoServerPasses(TestTransport t) throws Exception {
        try (Servers.UdpEcho echo = new Servers.UdpEcho(null)) {
            Recorder r = new Recorder();
            checker(t).watch(echo.address(), spec(Optional.of("PING")), InitialState.PENDING, r);
            HealthTransition up = r.next();
            assertThat(up.to()).isEqualTo(CheckState.UP);
            assertThat(up.reason()).isEqualTo("first check passed: reply matched");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void closedPortFailsFastOnIcmpPortUnreachable(TestTransport t) throws Exception {
        Recorder r = new Recorder();
        checker(t).watch(Servers.closedUdpPort(), spec(Optional.empty()), InitialState.PENDING, r);
        HealthTransition down = r.next();
        assertThat(down.to()).isEqualTo(CheckState.DOWN);
        assertThat(down.reason()).isEqualTo("1/1 checks failed: port unreachable");
        assertThat(r.lastProbe().elapsed()).isLessThan(Duration.ofMillis(2500)); // timeout is 3 s
    }

    @ParameterizedTest
    @MethodSource("transports")
    void unexpectedReplyFails(TestTransport t) throws Exception {
        try (Servers.UdpEcho echo = new Servers.UdpEcho("NOPE")) {
            Recorder r = new Recorder();
            checker(t).watch(echo.address(), spec(Optional.of("PONG")), InitialState.PENDING, r);
            HealthTransition down = r.next();
            assertThat(down.to()).isEqualTo(CheckState.DOWN);
            assertThat(down.reason()).isEqualTo("1/1 checks failed: unexpected reply \"NOPE\"");
        }
    }
}
