package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.HealthCheckSpec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SharedCheckIT extends CheckerITBase {

    @ParameterizedTest
    @MethodSource("transports")
    void twoWatchersOfTheSameCheckShareOneProbeStreamAndBothHearTransitions(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.acceptOnly()) {
            HealthChecker c = checker(t);
            HealthCheckSpec spec = new HealthCheckSpec.Tcp(timing(Duration.ofMillis(100), Duration.ofSeconds(2)),
                    OptionalInt.empty());
            Recorder a = new Recorder();
            Recorder b = new Recorder();
            CheckHandle ha = c.watch(server.address(), spec, InitialState.PENDING, a);
            CheckHandle hb = c.watch(server.address(), spec, InitialState.PENDING, b);
            assertThat(a.next().to()).isEqualTo(CheckState.UP);
            assertThat(b.next().to()).isEqualTo(CheckState.UP);
            assertThat(c.activeChecks()).isEqualTo(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> c.probesStarted(server.address(), spec) >= 5);

            ha.close();
            assertThat(c.activeChecks()).isEqualTo(1); // b still watches
            long started = c.probesStarted(server.address(), spec);
            hb.close();
            assertThat(c.activeChecks()).isZero();
            // Every probe is one connection; the server sees exactly one stream's worth (give or take
            // the one probe that raced the close: cancelled before it connected, or one more that
            // started), and nothing more once the last handle closed.
            await().atMost(Duration.ofSeconds(10)).until(() -> server.accepts.get() >= started - 1);
            await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(10))
                    .until(() -> server.accepts.get() <= started + 1);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void lateWatcherLearnsTheCurrentVerdictAtOnceWithoutWaitingForAProbe(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.acceptOnly()) {
            HealthChecker c = checker(t);
            HealthCheckSpec spec = new HealthCheckSpec.Tcp(timing(Duration.ofSeconds(60), Duration.ofSeconds(2)),
                    OptionalInt.empty());
            Recorder first = new Recorder();
            c.watch(server.address(), spec, InitialState.PENDING, first);
            HealthTransition up = first.next();
            Recorder late = new Recorder();
            c.watch(server.address(), spec, InitialState.PENDING, late);
            HealthTransition learned = late.next(); // the next probe is 60 s away: this is the snapshot
            assertThat(learned).isEqualTo(up);
            assertThat(c.probesStarted(server.address(), spec)).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void probeNowRunsAnImmediateOutOfScheduleProbe(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.acceptOnly()) {
            HealthChecker c = checker(t);
            HealthCheckSpec spec = new HealthCheckSpec.Tcp(timing(Duration.ofSeconds(60), Duration.ofSeconds(2)),
                    OptionalInt.empty());
            Recorder r = new Recorder();
            c.watch(server.address(), spec, InitialState.PENDING, r);
            r.next();
            assertThat(c.probeNow(server.address(), spec)).isTrue();
            await().atMost(Duration.ofSeconds(15)).until(() -> server.accepts.get() == 2 && r.probes.size() == 2);
            assertThat(c.probeNow(server.address())).isEqualTo(1);
            await().atMost(Duration.ofSeconds(15)).until(() -> server.accepts.get() == 3);
            assertThat(c.probeNow(Servers.closedTcpPort(), spec)).isFalse();
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void trustedWatcherHearsOnlyOfAChangeToDown(TestTransport t) throws Exception {
        Servers.Tcp server = Servers.acceptOnly();
        InetSocketAddress address = server.address();
        HealthChecker c = checker(t);
        HealthCheckSpec spec = new HealthCheckSpec.Tcp(timing(Duration.ofMillis(100), Duration.ofSeconds(2)),
                OptionalInt.empty());
        Recorder r = new Recorder();
        c.watch(address, spec, InitialState.TRUSTED, r);
        await().atMost(Duration.ofSeconds(15)).until(() -> r.probes.size() >= 2);
        assertThat(r.transitions).isEmpty();
        server.close();
        HealthTransition down = r.next();
        assertThat(down.from()).isEqualTo(CheckState.UP);
        assertThat(down.to()).isEqualTo(CheckState.DOWN);
    }
}
