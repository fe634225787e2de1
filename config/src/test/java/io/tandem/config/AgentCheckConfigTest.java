package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A VIP's {@code agent_check} (HAProxy agent-check, agent-port, agent-addr, agent-inter, agent-send). */
class AgentCheckConfigTest {

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    @Test
    void haproxyDefaultsApplyAndEveryKeyIsRead() {
        AgentCheck minimal = valid("""
                vips:
                  - name: w
                    listen: 127.0.0.1:80
                    backends: [127.0.0.1:9001]
                    agent_check: {port: 9999}
                """).vips().getFirst().health().agentCheck().orElseThrow();
        assertThat(minimal).isEqualTo(new AgentCheck(9999, Optional.empty(), Duration.ofSeconds(2),
                Duration.ofSeconds(2), Optional.empty()));

        AgentCheck full = valid("""
                vips:
                  - name: w
                    listen: 127.0.0.1:80
                    backends: [127.0.0.1:9001]
                    agent_check: {port: 9999, address: 10.0.0.5, interval: 500ms, timeout: 200ms, send: "orders\\n"}
                """).vips().getFirst().health().agentCheck().orElseThrow();
        assertThat(full).isEqualTo(new AgentCheck(9999, Optional.of("10.0.0.5"), Duration.ofMillis(500),
                Duration.ofMillis(200), Optional.of("orders\n")));
        assertThat(valid("vips: [{name: w, listen: 127.0.0.1:80, backends: [127.0.0.1:9001]}]").vips().getFirst()
                .health().agentCheck()).isEmpty();
    }

    @Test
    void eachBadValueIsReportedWithItsPathValueAndWhatWasExpected() {
        assertThat(errors("""
                vips:
                  - name: w
                    listen: 127.0.0.1:80
                    backends: [127.0.0.1:9001]
                    agent_check: {address: agent.example, interval: 5ms, send: "\\\\q", inter: 2s}
                """))
                .anySatisfy(x -> assertThat(x).contains("vips[0].agent_check.port", "missing", "agent-port"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].agent_check.address", "agent.example", "IP address"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].agent_check.interval", "5ms", "10ms..1h"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].agent_check.send", "escapes"))
                .anySatisfy(x -> assertThat(x).contains("vips[0].agent_check.inter"));
        assertThat(errors("""
                vips:
                  - name: w
                    listen: 127.0.0.1:80
                    backends: [127.0.0.1:9001]
                    agent_check: {port: 70000}
                """)).anySatisfy(x -> assertThat(x).contains("vips[0].agent_check.port: 70000", "1..65535"));
    }
}
