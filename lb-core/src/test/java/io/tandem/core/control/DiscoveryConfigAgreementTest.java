package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.config.DiscoverySettings;
import io.tandem.config.TandemConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every discovery value that {@code tandem validate} accepts is accepted by the runtime's own
 * settings (ZooKeeperSettings, MarathonSettings; UDP VIPs take the config's UdpOptions as they
 * are, with no second validation to disagree). Before, a connect string with
 * a space, a namespace ending in '/', {@code auth: "user:"}, a Marathon URL with a query or a
 * space, and a named VIP block with host bits set all passed validation and failed the start.
 * The cases sit on both sides of each rule: what validates is accepted, what the source refuses
 * does not validate.
 */
class DiscoveryConfigAgreementTest {

    private static TandemConfig validOrNull(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml + "vips: []\n", "t.yaml");
        return r instanceof ConfigResult.Valid v ? v.config() : null;
    }

    @ParameterizedTest(name = "{0} valid={1}")
    @CsvSource(delimiter = '|', textBlock = """
            connect: 'zk1 zk2'                                              | false
            connect: 'zk1:2181,zk2:2181/tandem'                             | true
            connect: '[fd00::9]:2181'                                       | true
            connect: 'zk1:99999'                                            | false
            connect: 'zk1:2181,'                                            | false
            connect: 'zk1:2181/'                                            | true
            connect: zk1, namespace: 'prod/'                                | false
            connect: zk1, namespace: 'a//b'                                 | false
            connect: zk1, namespace: tandem/prod                            | true
            connect: zk1, base_path: '/a//b'                                | false
            connect: zk1, base_path: /                                      | true
            connect: zk1, base_path: /a/b                                   | true
            connect: zk1, auth: 'user:'                                     | false
            connect: zk1, auth: 'user:pw:with:colons'                       | true
            connect: zk1, session_timeout: 1s, connection_timeout: 100ms    | true
            connect: zk1, session_timeout: 10m, connection_timeout: 5m, removal_debounce: 0 | true
            connect: zk1, tls: {trust_store: /t.p12, key_store: /k.p12, key_store_password: pw} | true
            """)
    void everyZooKeeperValueThatValidatesIsAcceptedByTheSourceAndNoOther(String settings, boolean valid) {
        TandemConfig c = validOrNull("discovery:\n  zookeeper: {" + settings + "}\n");
        if (valid) {
            assertThat(c).as(settings).isNotNull();
            DiscoverySettings.ZooKeeper zk = c.discovery().zookeeper().orElseThrow();
            assertThat(Discovery.zooKeeperSettings(zk).validate()).as(settings).isEmpty();
        } else {
            assertThat(c).as(settings).isNull();
        }
    }

    @ParameterizedTest(name = "{0} valid={1}")
    @CsvSource(delimiter = '|', textBlock = """
            urls: ['http://m1:8080/?x=1']                                   | false
            urls: ['http://m1:8080/#f']                                     | false
            urls: ['http://m1:8080/a b']                                    | false
            urls: ['https://m1/prefix/']                                    | true
            urls: ['http://[fd00::1]:8080']                                 | true
            urls: ['http://m1:8080//']                                      | true
            urls: ['http://user@m1:8080']                                   | true
            urls: ['http://m1'], named_vip_block: 198.18.128.1/17           | false
            urls: ['http://m1'], named_vip_block: 10.0.0.0/8                | true
            urls: ['http://m1'], named_vip_block: 198.18.0.0/30             | true
            urls: ['http://m1'], named_vip_block: 256.0.0.0/8               | false
            urls: ['http://m1'], token: '   '                               | false
            urls: ['http://m1'], token: 'a b'                               | false
            urls: ['http://m1'], token: abc.DEF-123_~+/=                    | true
            urls: ['http://m1'], basic_auth: 'user:'                        | true
            urls: ['http://m1'], basic_auth: 'user:p:w'                     | true
            urls: ['http://m1'], silence_timeout: 1s, resync_interval: 24h  | true
            """)
    void everyMarathonValueThatValidatesIsAcceptedByTheSourceAndNoOther(String settings, boolean valid) {
        TandemConfig c = validOrNull("discovery:\n  marathon: {" + settings + "}\n");
        if (valid) {
            assertThat(c).as(settings).isNotNull();
            DiscoverySettings.Marathon m = c.discovery().marathon().orElseThrow();
            assertThatCode(() -> Discovery.marathonSettings(m)).as(settings).doesNotThrowAnyException();
        } else {
            assertThat(c).as(settings).isNull();
        }
    }
}
