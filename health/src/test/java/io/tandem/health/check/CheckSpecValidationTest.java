package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.tandem.config.HealthCheckSpec;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class CheckSpecValidationTest {

    private static final InetSocketAddress TARGET = new InetSocketAddress("127.0.0.1", 8080);

    private static ProbeTemplate template(HealthCheckSpec spec) {
        return new ProbeTemplate(TARGET, spec, NioSocketChannel.class, NioDatagramChannel.class, () -> null);
    }

    @Test
    void invalidRegexIsRejectedWhenTheCheckIsWatchedNotWhenItRuns() {
        assertThatThrownBy(() -> template(new HealthCheckSpec.SendExpect(Timings.of(1, 1), OptionalInt.empty(),
                Optional.empty(), "+OK(", true)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("expect: \"+OK(\" (expected a valid regex:");
    }

    @Test
    void httpStatusRangeAndPathAreChecked() {
        assertThatThrownBy(() -> template(new HealthCheckSpec.Http(Timings.of(1, 1), OptionalInt.empty(), false,
                "GET", "/", Optional.empty(), 400, 200, Optional.empty())))
                .hasMessage("status: 400..200 (expected a range within 100..599)");
        assertThatThrownBy(() -> template(new HealthCheckSpec.Http(Timings.of(1, 1), OptionalInt.empty(), false,
                "GET", "health", Optional.empty(), 200, 399, Optional.empty())))
                .hasMessage("path: \"health\" (expected to start with /)");
    }

    @Test
    void specPortOverridesTheTargetPort() {
        ProbeTemplate t = template(new HealthCheckSpec.Tcp(Timings.of(1, 1), OptionalInt.of(9090)));
        assertThat(t.address()).isEqualTo(new InetSocketAddress("127.0.0.1", 9090));
    }
}
