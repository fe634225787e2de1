package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HealthCheckSpec;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SendExpectCheckIT extends CheckerITBase {

    private static HealthCheckSpec.SendExpect spec(Optional<String> send, String expect, boolean regex) {
        return new HealthCheckSpec.SendExpect(fast(), OptionalInt.empty(), send, expect, regex);
    }

    @ParameterizedTest
    @MethodSource("transports")
    void serverBannerMatchingTheExpectedPrefixPasses(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.banner("+OK ready\r\n")) {
            Recorder r = new Recorder();
            checker(t).watch(server.address(), spec(Optional.empty(), "+OK", false), InitialState.PENDING, r);
            HealthTransition up = r.next();
            assertThat(up.to()).isEqualTo(CheckState.UP);
            assertThat(up.reason()).isEqualTo("first check passed: reply matched");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void pingIsAnsweredWithPong(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.pingPong()) {
            Recorder r = new Recorder();
            checker(t).watch(server.address(), spec(Optional.of("PING\r\n"), "+PONG\r\n", false), InitialState.PENDING, r);
            assertThat(r.next().to()).isEqualTo(CheckState.UP);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void regexExpectationIsSearchedInTheReply(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.banner("220 mail.example ESMTP ready\r\n")) {
            Recorder ok = new Recorder();
            Recorder wrong = new Recorder();
            HealthChecker c = checker(t);
            c.watch(server.address(), spec(Optional.empty(), "^220 \\S+ ESMTP", true), InitialState.PENDING, ok);
            c.watch(server.address(), new HealthCheckSpec.SendExpect(
                    CheckerITBase.timing(Duration.ofMillis(200), Duration.ofMillis(300)), OptionalInt.empty(),
                    Optional.empty(), "^554 ", true), InitialState.PENDING, wrong);
            assertThat(ok.next().to()).isEqualTo(CheckState.UP);
            HealthTransition down = wrong.next();
            assertThat(down.to()).isEqualTo(CheckState.DOWN);
            assertThat(down.reason()).startsWith("1/1 checks failed: timeout after 300 ms, received \"220 mail.example");
        }
    }

    /** Byte strings both ways: bytes above 0x7F are single bytes, in a prefix and in a regex. */
    @ParameterizedTest
    @MethodSource("transports")
    void binaryBannersMatchByteForByte(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.banner(new byte[] {(byte) 0xfe, 0x01, (byte) 0x80, 'o', 'k'})) {
            Recorder prefix = new Recorder();
            Recorder regex = new Recorder();
            Recorder wrong = new Recorder();
            HealthChecker c = checker(t);
            c.watch(server.address(), spec(Optional.empty(), "\u00fe\u0001\u0080", false), InitialState.PENDING, prefix);
            // As the config keeps a regex: \xNN for the regex engine, matched one char per byte.
            c.watch(server.address(), spec(Optional.empty(), "^\\xfe\\x01\\x80ok", true), InitialState.PENDING, regex);
            c.watch(server.address(), spec(Optional.empty(), "\u00fe\u0002", false), InitialState.PENDING, wrong);
            HealthTransition p = prefix.next();
            assertThat(p.to()).as(p.reason()).isEqualTo(CheckState.UP);
            HealthTransition x = regex.next();
            assertThat(x.to()).as(x.reason()).isEqualTo(CheckState.UP);
            HealthTransition w = wrong.next();
            assertThat(w.to()).isEqualTo(CheckState.DOWN);
            assertThat(w.reason()).startsWith("1/1 checks failed: unexpected reply \"\\xfe\\x01");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void wrongBannerFailsAtTheFirstDifferingByteNotAtTheTimeout(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.banner("-ERR busy\r\n")) {
            Recorder r = new Recorder();
            checker(t).watch(server.address(), spec(Optional.empty(), "+OK", false), InitialState.PENDING, r);
            HealthTransition down = r.next();
            assertThat(down.to()).isEqualTo(CheckState.DOWN);
            assertThat(down.reason()).startsWith("1/1 checks failed: unexpected reply \"-");
            assertThat(r.lastProbe().elapsed()).isLessThan(Duration.ofSeconds(2)); // timeout is 3 s
        }
    }
}
