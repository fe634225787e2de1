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
        try (Servers.UdpEcho echo = new Servers.UdpEcho((byte[]) null)) {
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

    /**
     * A DNS-style binary check: the spec holds byte strings (one char per byte, as the config
     * stores {@code \xNN}), so bytes above 0x7F go out and are expected as single bytes (they were
     * UTF-8 encoded into two once: a DNS check with {@code expect: '\x12\x34\x85\x80'} never passed).
     */
    @ParameterizedTest
    @MethodSource("transports")
    void bytesAbove0x7fAreSentAndExpectedAsSingleBytes(TestTransport t) throws Exception {
        byte[] reply = {0x12, 0x34, (byte) 0x85, (byte) 0x80, 0x00, 0x01};
        try (Servers.UdpEcho server = new Servers.UdpEcho(reply)) {
            Recorder r = new Recorder();
            checker(t).watch(server.address(), new HealthCheckSpec.Udp(fast(), OptionalInt.empty(),
                    "\u0012\u0034\u0001\u00ff", Optional.of("\u0012\u0034\u0085\u0080")), InitialState.PENDING, r);
            HealthTransition up = r.next();
            assertThat(up.to()).as(up.reason()).isEqualTo(CheckState.UP);
            assertThat(server.last).as("datagram sent").containsExactly(0x12, 0x34, 0x01, 0xff);
        }
        closeCheckers(); // the first watch must not probe on (its server's port may be reused below)
        try (Servers.UdpEcho server = new Servers.UdpEcho(new byte[] {0x12, 0x34, (byte) 0x81, (byte) 0x83})) {
            Recorder r = new Recorder();
            checker(t).watch(server.address(), new HealthCheckSpec.Udp(fast(), OptionalInt.empty(),
                    "q", Optional.of("\u0012\u0034\u0085\u0080")), InitialState.PENDING, r);
            HealthTransition down = r.next();
            assertThat(down.to()).isEqualTo(CheckState.DOWN);
            assertThat(down.reason()).as("received %d, send failures %d", server.received.get(),
                    server.sendFailures.get()).isEqualTo("1/1 checks failed: unexpected reply \"\\x124\\x81\\x83\"");
        }
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
