package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.HealthCheckSpec;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TcpCheckIT extends CheckerITBase {

    @ParameterizedTest
    @MethodSource("transports")
    void passesOnAListeningPort(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.acceptOnly()) {
            Recorder r = new Recorder();
            checker(t).watch(server.address(), new HealthCheckSpec.Tcp(fast(), OptionalInt.empty()), InitialState.PENDING, r);
            HealthTransition up = r.next();
            assertThat(up.from()).isEqualTo(CheckState.PENDING);
            assertThat(up.to()).isEqualTo(CheckState.UP);
            assertThat(up.reason()).isEqualTo("first check passed: connected");
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void failsFastOnAClosedPortLongBeforeTheTimeout(TestTransport t) throws Exception {
        Recorder r = new Recorder();
        checker(t).watch(Servers.closedTcpPort(), new HealthCheckSpec.Tcp(fast(), OptionalInt.empty()), InitialState.PENDING, r);
        HealthTransition down = r.next();
        assertThat(down.to()).isEqualTo(CheckState.DOWN);
        assertThat(down.reason()).isEqualTo("1/1 checks failed: connection refused");
        assertThat(r.lastProbe().elapsed()).isLessThan(Duration.ofMillis(2500)); // timeout is 3 s
    }

    @ParameterizedTest
    @MethodSource("transports")
    void probesTheSpecPortInsteadOfTheTrafficPort(TestTransport t) throws Exception {
        try (Servers.Tcp server = Servers.acceptOnly()) {
            InetSocketAddress traffic = Servers.closedTcpPort();
            Recorder r = new Recorder();
            checker(t).watch(traffic, new HealthCheckSpec.Tcp(fast(), OptionalInt.of(server.address().getPort())),
                    InitialState.PENDING, r);
            assertThat(r.next().to()).isEqualTo(CheckState.UP);
            // The probe's connect completes in the kernel before the server's accept loop counts it.
            await().atMost(Duration.ofSeconds(10)).until(() -> server.accepts.get() > 0);
        }
    }

    @ParameterizedTest
    @MethodSource("transports")
    void backendThatStopsListeningIsMarkedDownAndRecovers(TestTransport t) throws Exception {
        Servers.Tcp server = Servers.acceptOnly();
        InetSocketAddress address = server.address();
        Recorder r = new Recorder();
        checker(t).watch(address, new HealthCheckSpec.Tcp(fast(), OptionalInt.empty()), InitialState.PENDING, r);
        assertThat(r.next().to()).isEqualTo(CheckState.UP);
        server.close();
        HealthTransition down = r.next();
        assertThat(down.from()).isEqualTo(CheckState.UP);
        assertThat(down.to()).isEqualTo(CheckState.DOWN);
        assertThat(down.detectionLatency()).isLessThan(Duration.ofMillis(2500));
    }
}
