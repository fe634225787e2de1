package io.tandem.core.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The config reader is the one validation of the {@code ha} section: the HA module runs on the
 * {@link io.tandem.config.HaConfig} it produces, with no settings type of its own. Before, the
 * module validated a copy and {@code garp.count: 51..100}, a zero {@code isolation_grace},
 * {@code claim_delay} or {@code preempt.delay}, a peer id twice and an address twice passed
 * validation and then failed the start. The cases sit on both sides of every bound.
 */
class HaConfigAgreementTest {
    private static final String BASE = """
            admin: {enabled: false}
            ha:
              node_id: lb1
              listen: 198.18.0.1:7946
              peers: [{id: lb2, address: 198.18.0.2:7946}]
              zookeeper: {connect: "198.18.0.9:2181"}
              addresses: [198.18.1.10]
            %s
            vips: []
            """;

    @ParameterizedTest(name = "{0} valid={1}")
    @CsvSource(delimiter = '|', textBlock = """
              garp: {count: 0}                                  | true
              garp: {count: 50}                                 | true
              garp: {count: 51}                                 | false
              garp: {count: 100}                                | false
              garp: {spacing: 1ms, repeat_after: 0}             | true
              garp: {spacing: 10s, repeat_after: 10m}           | true
              isolation_grace: 0                                | false
              isolation_grace: 1ms                              | true
              isolation_grace: 1m                               | true
              claim_delay: 0                                    | false
              claim_delay: 1ms                                  | true
              claim_delay: 10m                                  | true
              preempt: {enabled: true, delay: 0}                | false
              preempt: {enabled: true, delay: 1ms}              | true
              preempt: {enabled: true, delay: 1h}               | true
              heartbeat: {interval: 5ms, timeout: 10ms}         | true
              heartbeat: {interval: 10s, timeout: 60s}          | true
              probe_timeout: 5ms                                | true
              self_fence: nftables                              | true
              self_fence: off                                   | true
              self_fence: iptables                              | false
              probe_timeout: 30s                                | true
              address_lifetime: 2s                              | true
              address_lifetime: 1h                              | true
              address_lifetime: 0                               | true
              interface: abcdefghijklmno                        | true
              interface: abcdefghijklmnop                       | false
              interface: '../../x'                              | false
              interface: x                                      | true
              peers: [{id: lb2, address: 198.18.0.2:7946}, {id: lb2, address: 198.18.0.3:7946}] | false
              peers: [{id: lb2, address: 198.18.0.2:7946}, {id: lb3, address: peer3.internal:7946}] | true
              cluster: a.b-c_d                                  | true
              zookeeper: {connect: 'zk1:2181,zk2:2181/tandem', session_timeout: 1s, connection_timeout: 100ms} | true
              zookeeper: {connect: zk1, session_timeout: 10m, connection_timeout: 5m} | true
              zookeeper: {connect: 'zk1 zk2'}                   | false
            """)
    void everyHaValueOnEitherSideOfItsBoundIsAcceptedOrRefusedByTheReader(String override, boolean valid) {
        String line = "  " + override.strip();
        String key = override.strip().substring(0, override.strip().indexOf(':'));
        // A key that is in the base (peers, zookeeper) is replaced, not repeated.
        String yaml = BASE.formatted(line).lines().filter(l -> !(l.startsWith("  " + key + ":") && !l.equals(line)))
                .reduce("", (a, b) -> a + b + "\n");
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        if (valid) {
            assertThat(r).as("%s: %s", override, r).isInstanceOf(ConfigResult.Valid.class);
            assertThat(((ConfigResult.Valid) r).config().ha()).as(override).isPresent();
        } else {
            assertThat(r).as(override).isInstanceOf(ConfigResult.Invalid.class);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"[198.18.1.10, 198.18.1.10]", "[\"fd00::1\", \"fd00:0::1\"]",
            "[198.18.1.10, {address: 198.18.1.10, preferred_owner: lb2}]"})
    void theSameAddressTwiceIsRefusedByValidationNotByTheStart(String addresses) {
        ConfigResult r = ConfigLoader.parse(BASE.formatted("").replace("addresses: [198.18.1.10]",
                "addresses: " + addresses), "t.yaml");

        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        assertThat(((ConfigResult.Invalid) r).errors()).extracting(Object::toString)
                .allMatch(e -> e.contains("each address once"));
    }
}
