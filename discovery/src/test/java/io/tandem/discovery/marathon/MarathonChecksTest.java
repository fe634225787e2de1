package io.tandem.discovery.marathon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tandem.config.CheckTiming;
import io.tandem.config.HealthCheckSpec;
import io.tandem.discovery.marathon.testing.MarathonPayloads;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Marathon {@code healthChecks} → Tandem active checks, protocol by protocol and field by field. */
class MarathonChecksTest {

    private static final ObjectMapper M = new ObjectMapper();

    private static List<MarathonHealthCheck> documented() throws Exception {
        List<MarathonHealthCheck> out = new ArrayList<>();
        for (JsonNode c : M.readTree(MarathonPayloads.REFERENCE_HEALTH_CHECKS)) {
            out.add(AppParser.healthCheck(c));
        }
        return out;
    }

    @Test
    void everyDocumentedProtocolMaps() throws Exception {
        List<MarathonHealthCheck> checks = documented();
        assertThat(checks).extracting(MarathonHealthCheck::protocol)
                .containsExactly("HTTP", "MESOS_HTTP", "HTTPS", "TCP", "MESOS_TCP", "COMMAND");
        HealthCheckSpec http = MarathonChecks.toSpec(checks.get(0));
        assertThat(http).isInstanceOfSatisfying(HealthCheckSpec.Http.class, h -> {
            assertThat(h.tls()).isFalse();
            assertThat(h.method()).isEqualTo("GET");
            assertThat(h.path()).isEqualTo("/api/health");
            assertThat(h.statusMin()).as("Marathon: 200..399 is healthy").isEqualTo(200);
            assertThat(h.statusMax()).isEqualTo(399);
            assertThat(h.port()).as("portIndex 0 = the traffic port of port 0").isEmpty();
        });
        assertThat(MarathonChecks.toSpec(checks.get(1))).isInstanceOfSatisfying(HealthCheckSpec.Http.class,
                h -> assertThat(h.tls()).isFalse());
        assertThat(MarathonChecks.toSpec(checks.get(2))).as("HTTPS: TLS, certificate not verified, as in Marathon")
                .isInstanceOfSatisfying(HealthCheckSpec.Http.class, h -> assertThat(h.tls()).isTrue());
        assertThat(MarathonChecks.toSpec(checks.get(3))).isInstanceOf(HealthCheckSpec.Tcp.class);
        assertThat(MarathonChecks.toSpec(checks.get(4))).isInstanceOf(HealthCheckSpec.Tcp.class);
    }

    @Test
    void timingFollowsMarathonsFields() throws Exception {
        CheckTiming t = MarathonChecks.toSpec(documented().get(0)).timing();
        assertThat(t.interval()).isEqualTo(Duration.ofSeconds(60));
        assertThat(t.timeout()).isEqualTo(Duration.ofSeconds(20));
        assertThat(t.fall()).as("maxConsecutiveFailures").isEqualTo(3);
        assertThat(t.rise()).as("Marathon: one success is healthy").isEqualTo(1);
        assertThat(t.fastInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(t.downInterval()).isEqualTo(Duration.ofSeconds(60));
        // the documented TCP example has maxConsecutiveFailures 0 (Marathon never kills): a check still needs a fall
        assertThat(MarathonChecks.toSpec(documented().get(3)).timing().fall()).isEqualTo(1);
    }

    @Test
    void defaultsFillWhatTheDefinitionLeavesOut() throws Exception {
        MarathonHealthCheck c = AppParser.healthCheck(M.readTree("{}"));
        assertThat(c.protocol()).isEqualTo("HTTP");
        assertThat(c.path()).isEqualTo("/");
        assertThat(c.portIndex()).isZero();
        assertThat(c.interval()).hasSeconds(60);
        assertThat(c.timeout()).hasSeconds(20);
        assertThat(c.gracePeriod()).hasSeconds(300);
        assertThat(c.maxConsecutiveFailures()).isEqualTo(3);
        CheckTiming t = MarathonChecks.toSpec(AppParser.healthCheck(M.readTree(
                "{\"protocol\":\"TCP\",\"intervalSeconds\":0,\"timeoutSeconds\":600}"))).timing();
        assertThat(t.interval()).as("0 s is not a usable interval").isEqualTo(Duration.ofSeconds(1));
        assertThat(t.timeout()).as("at most a minute, like a configured check").isEqualTo(Duration.ofMinutes(1));
    }

    @Test
    void aFixedPortIsProbedOnEveryPortAndAPortIndexOnlyOnItsOwn() throws Exception {
        MarathonHealthCheck fixed = AppParser.healthCheck(M.readTree("{\"protocol\":\"TCP\",\"port\":9090}"));
        assertThat(fixed.probes(0)).isTrue();
        assertThat(fixed.probes(3)).isTrue();
        assertThat(MarathonChecks.toSpec(fixed).port()).isEqualTo(OptionalInt.of(9090));
        MarathonHealthCheck second = AppParser.healthCheck(M.readTree("{\"protocol\":\"TCP\",\"portIndex\":1}"));
        assertThat(second.probes(0)).isFalse();
        assertThat(second.probes(1)).isTrue();
    }

    @Test
    void malformedDefinitionsAreRefusedWithTheField() {
        assertThatThrownBy(() -> AppParser.healthCheck(M.readTree("{\"protocol\":\"GRPC\"}")))
                .hasMessageStartingWith("protocol: \"GRPC\" (expected HTTP, HTTPS, TCP, COMMAND");
        assertThatThrownBy(() -> AppParser.healthCheck(M.readTree("{\"intervalSeconds\":-1}")))
                .hasMessage("intervalSeconds: -1 (expected an integer 0..86400)");
        assertThatThrownBy(() -> AppParser.healthCheck(M.readTree("{\"path\":\"no slash\"}")))
                .hasMessageStartingWith("path: \"no slash\"");
        assertThatThrownBy(() -> AppParser.healthCheck(M.readTree("{\"port\":70000}")))
                .hasMessage("port: 70000 (expected 1..65535)");
    }
}
