package io.tandem.discovery.zookeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.apache.zookeeper.client.ZKClientConfig;
import org.junit.jupiter.api.Test;

class ZooKeeperSettingsTest {

    @Test
    void defaultsAreValidAndSuitACuratorRegistry() {
        ZooKeeperSettings s = ZooKeeperSettings.of("127.0.0.1:2181", "/services");
        assertThat(s.validate()).isEmpty();
        assertThat(s.layout()).isEqualTo(ZooKeeperSettings.Layout.CURATOR);
        assertThat(s.removalDebounce()).isEqualTo(Duration.ofMillis(1500));
        assertThat(s.services()).isEmpty();
    }

    @Test
    void validateReportsEveryProblemAtOnceInNameValueExpectedForm() {
        ZooKeeperSettings s = new ZooKeeperSettings("", "", Duration.ZERO, Duration.ofSeconds(-1),
                java.util.Optional.of("/abs"), java.util.Optional.of("nopassword"), java.util.Optional.empty(),
                "services/", ZooKeeperSettings.Layout.PLAIN, true, Duration.ofMillis(-1), Set.of("a/b"),
                java.util.Optional.empty());
        assertThat(s.validate()).containsExactlyInAnyOrder(
                "sourceName: \"\" (expected a non-empty name)",
                "connectString: \"\" (expected host:port[,host:port...])",
                "sessionTimeout: PT0S (expected > 0)",
                "connectionTimeout: PT-1S (expected > 0)",
                "namespace: \"/abs\" (expected a relative path such as tandem/prod)",
                "digestAuth: \"***\" (expected user:password)",
                "basePath: \"services/\" (expected an absolute znode path such as /services)",
                "removalDebounce: PT-0.001S (expected >= 0)",
                "useSslPort: true (expected false with layout PLAIN)",
                "services: \"a/b\" (expected a service name without '/')");
        assertThatThrownBy(() -> new ZooKeeperSource(s)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("invalid ZooKeeper settings: sourceName");
    }

    @Test
    void connectStringAcceptsEnsemblesIpv6AndChrootSuffix() {
        for (String cs : new String[] {"zk1:2181,zk2:2181,zk3", "[::1]:2181", "10.0.0.1:2181/chroot"}) {
            assertThat(ZooKeeperSettings.of(cs, "/").validate()).as(cs).isEmpty();
        }
        assertThat(ZooKeeperSettings.of("zk1:2181, bad host", "/").validate()).hasSize(1);
    }

    @Test
    void toStringNeverShowsPasswords() {
        ZooKeeperSettings s = ZooKeeperSettings.of("zk:2181", "/services").withDigestAuth("lb:s3cret")
                .withTls(new ZooKeeperSettings.Tls(Path.of("/t.p12"), "trustpw", java.util.Optional.of(Path.of("/k.p12")),
                        java.util.Optional.of("keypw"), true));
        assertThat(s.toString()).contains("lb:***").doesNotContain("s3cret", "trustpw", "keypw");
    }

    @Test
    void tlsSettingsBecomeZooKeeperClientTlsProperties() {
        ZKClientConfig c = ZooKeeperSource.tlsClientConfig(new ZooKeeperSettings.Tls(Path.of("/t.p12"), "trustpw",
                java.util.Optional.of(Path.of("/k.p12")), java.util.Optional.of("keypw"), false));
        assertThat(c.getProperty("zookeeper.client.secure")).isEqualTo("true");
        assertThat(c.getProperty("zookeeper.clientCnxnSocket")).isEqualTo("org.apache.zookeeper.ClientCnxnSocketNetty");
        assertThat(c.getProperty("zookeeper.ssl.trustStore.location")).isEqualTo("/t.p12");
        assertThat(c.getProperty("zookeeper.ssl.trustStore.password")).isEqualTo("trustpw");
        assertThat(c.getProperty("zookeeper.ssl.keyStore.location")).isEqualTo("/k.p12");
        assertThat(c.getProperty("zookeeper.ssl.keyStore.password")).isEqualTo("keypw");
        assertThat(c.getProperty("zookeeper.ssl.hostnameVerification")).isEqualTo("false");
    }
}
