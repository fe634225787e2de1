package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.tandem.config.ConfigLoader;
import io.tandem.config.ConfigResult;
import io.tandem.core.control.ControlLoopIT.Echo;
import io.tandem.core.node.Node;
import io.tandem.health.HealthFlag;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Passive-detection settings through a real node: a base ejection longer than the default cap is
 * a valid config that starts (it failed the start before), and a reload that changes the settings
 * ends the ejections the old detector made (they stayed for good before: the new detector never
 * expired them).
 */
class OutlierSettingsThroughNodeIT {
    /** A port that refuses connections while {@code reserved} is open: bound, never listening. */
    private static int dead(Socket reserved) throws Exception {
        reserved.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return reserved.getLocalPort();
    }

    @Test
    void aBaseEjectionLongerThanTheDefaultCapStartsTheNode() throws Exception {
        String yaml = """
                admin: {enabled: false}
                vips:
                  - {name: a, listen: 127.0.0.1:%d, backends: [127.0.0.1:9], outlier_detection: {base_ejection_time: 5m}}
                """.formatted(ReloadOffLoopIT.freePort());
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Valid.class);
        try (Node n = Node.start(Node.Options.fixed("t", ((ConfigResult.Valid) r).config()))) {
            assertThat(n.listenAddress("a")).isPresent();
        }
    }

    @Test
    void aReloadThatChangesTheSettingsEndsTheEjectionsOfTheOldOnes() throws Exception {
        try (Echo a = new Echo(); Socket reserved = new Socket()) {
            int d = dead(reserved);
            int vip = ReloadOffLoopIT.freePort();
            String yaml = """
                    admin: {enabled: false}
                    vips:
                      - {name: a, listen: 127.0.0.1:%d, backends: [127.0.0.1:%d, 127.0.0.1:%d], outlier_detection: {base_ejection_time: %s}}
                    """;
            AtomicReference<String> text = new AtomicReference<>(yaml.formatted(vip, a.port(), d, "60s"));
            ConfigResult r = ConfigLoader.parse(text.get(), "t.yaml");
            try (Node n = Node.start(new Node.Options("t", ((ConfigResult.Valid) r).config(),
                    () -> ConfigLoader.parse(text.get(), "t.yaml"), "t", Optional.empty()))) {
                for (int i = 0; i < 4; i++) {
                    ReloadOffLoopIT.echoOnce(vip, "x");
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> flags(n, d).contains(HealthFlag.EJECTED_PASSIVE));
                text.set(yaml.formatted(vip, a.port(), d, "200ms"));
                assertThat(n.control().reload().get(10, TimeUnit.SECONDS).applied()).isTrue();
                // Not the 60 s of the first ejection: it ended with the settings that made it.
                await().atMost(Duration.ofSeconds(5)).until(() -> flags(n, d).isEmpty());
                assertThat(n.control().view().vip("a").orElseThrow().backends().stream()
                        .filter(b -> b.address().endsWith(":" + d)).findFirst().orElseThrow().recentTransitions()
                        .getLast().reason()).isEqualTo("passive detection settings changed");
            }
        }
    }

    private static java.util.Set<HealthFlag> flags(Node n, int port) {
        return n.control().view().vip("a").orElseThrow().backends().stream()
                .filter(b -> b.address().endsWith(":" + port)).findFirst().orElseThrow().flags();
    }
}
