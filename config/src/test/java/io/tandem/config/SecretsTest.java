package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A value at a secret path is never printed, whatever is wrong with it: {@code validate}, the
 * reload WARN and the admin API's 422 body all print these errors. {@code token: 0123} used to
 * print {@code admin.token: 83}.
 */
class SecretsTest {
    /** Each secret written in ways that are errors; the value must not appear in any message. */
    private static final Map<String, String> SECRET_FILES = Map.of(
            "admin.token", """
                    admin:
                      listen: 10.0.0.1:9090
                      token: %s
                    vips: []
                    """,
            "discovery.marathon.token", """
                    discovery:
                      marathon: {urls: ["http://m1:8080"], token: %s}
                    vips: []
                    """,
            "discovery.marathon.basic_auth", """
                    discovery:
                      marathon: {urls: ["http://m1:8080"], basic_auth: %s}
                    vips: []
                    """,
            "discovery.zookeeper.auth", """
                    discovery:
                      zookeeper: {connect: "zk1:2181", auth: %s}
                    vips: []
                    """,
            "discovery.zookeeper.tls.trust_store_password", """
                    discovery:
                      zookeeper: {connect: "zk1:2181", tls: {trust_store: /t.p12, trust_store_password: %s}}
                    vips: []
                    """,
            "discovery.zookeeper.tls.key_store_password", """
                    discovery:
                      zookeeper: {connect: "zk1:2181", tls: {trust_store: /t.p12, key_store_password: %s}}
                    vips: []
                    """);

    @ParameterizedTest
    @ValueSource(strings = {"0123", "98765432109876543210987", "3.14159", "true", "[s3cr3t, x]",
            "{s3cr3t: 1}", "\"s3cr3t-without-colon\"", "s3cr3t-without-colon"})
    void aBadSecretIsReportedButNeverShown(String written) {
        SECRET_FILES.forEach((path, file) -> {
            ConfigResult r = ConfigLoader.parse(file.formatted(written), "t.yaml");
            // The errors, or the records this class owns (AdminSettings is checked with the admin section).
            String shown = r instanceof ConfigResult.Invalid invalid ? invalid.errors().toString()
                    : ((ConfigResult.Valid) r).config().discovery().toString();
            // Jackson reads 0123 as 83: neither spelling may show.
            for (String leak : List.of("0123", "83", "98765432109876543210987", "3.14159", "s3cr3t")) {
                assertThat(shown).as("%s written as %s", path, written).doesNotContain(leak);
            }
            if (r instanceof ConfigResult.Invalid invalid) {
                invalid.errors().stream().filter(e -> e.path().equals(path)).forEach(e ->
                        assertThat(e.value()).isIn("\"***\"", "a mapping", "a list"));
            }
        });
    }

    @Test
    void aNumericTokenNamesItsPathAndTheFixWithoutTheValue() {
        ConfigResult r = ConfigLoader.parse(SECRET_FILES.get("admin.token").formatted("0123"), "t.yaml");

        assertThat(((ConfigResult.Invalid) r).errors()).extracting(ConfigError::toString)
                .containsExactly("admin.token: \"***\" (expected a bearer token of 16..1024 visible ASCII characters as a string; put it in quotes)");
    }

    @Test
    void aMarathonTokenWithAControlCharacterIsRefusedWithoutShowingIt() {
        ConfigResult r = ConfigLoader.parse(SECRET_FILES.get("discovery.marathon.token").formatted("\"s3cr3t\\n\""),
                "t.yaml");

        assertThat(((ConfigResult.Invalid) r).errors()).extracting(ConfigError::toString).containsExactly(
                "discovery.marathon.token: \"***\" (expected a bearer token of visible ASCII characters"
                        + " (an HTTP header value))");
    }

    @Test
    void shapesOfASecretMayBeShownSinceTheyRevealNothing() {
        assertThat(Render.shown("admin.token", "missing")).isEqualTo("missing");
        assertThat(Render.shown("admin.token", "\"\"")).isEqualTo("\"\"");
        assertThat(Render.shown("admin.token", "83")).isEqualTo("\"***\"");
        assertThat(Render.shown("admin.listen", "83")).isEqualTo("83");
    }

    private static final Pattern SECRET_LIKE = Pattern.compile(".*(token|password|auth|secret|credential|key$).*");

    /**
     * Guards the list of secret paths: every key that looks like a secret in a section the reader
     * knows is either in {@link Render#SECRET_PATHS} or named here as not secret.
     */
    @Test
    void everyKeyThatLooksLikeASecretIsMasked() throws IllegalAccessException {
        Map<String, String> sections = Map.of(
                "ADMIN_KEYS", "admin", "ZOOKEEPER_KEYS", "discovery.zookeeper", "ZK_TLS_KEYS",
                "discovery.zookeeper.tls", "MARATHON_KEYS", "discovery.marathon", "HA_KEYS", "ha",
                "HA_ZK_KEYS", "ha.zookeeper", "RUNTIME_KEYS", "runtime", "VIP_KEYS", "vips[0]");
        List<String> looksSecret = new ArrayList<>();
        for (Field f : ConfigReader.class.getDeclaredFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getName().endsWith("_KEYS") && sections.containsKey(f.getName())) {
                @SuppressWarnings("unchecked")
                List<String> keys = (List<String>) f.get(null);
                keys.stream().filter(k -> SECRET_LIKE.matcher(k).matches())
                        .forEach(k -> looksSecret.add(sections.get(f.getName()) + "." + k));
            }
        }
        assertThat(looksSecret).isNotEmpty();
        assertThat(Render.SECRET_PATHS).containsAll(looksSecret);
    }

    @Test
    void configRecordsNeverPrintTheirSecrets() {
        var zk = new DiscoverySettings.ZooKeeper("zk1:2181", Duration.ofSeconds(30), Duration.ofSeconds(10),
                Optional.empty(), Optional.of("user:zk-s3cr3t"), "/services", DiscoverySettings.Layout.CURATOR,
                Duration.ZERO, Optional.of(new DiscoverySettings.Tls(Path.of("/t.p12"), "trust-s3cr3t",
                Optional.of(Path.of("/k.p12")), Optional.of("key-s3cr3t"))));
        var basic = new DiscoverySettings.Marathon(List.of("http://m1:8080"), Optional.of("user:basic-s3cr3t"),
                Optional.empty(), Duration.ofSeconds(30), Duration.ofMinutes(5), "198.18.128.0/17", true);
        var bearer = new DiscoverySettings.Marathon(List.of("http://m1:8080"), Optional.empty(),
                Optional.of("bearer-s3cr3t"), Duration.ofSeconds(30), Duration.ofMinutes(5), "198.18.128.0/17", true);

        String printed = new DiscoverySettings(Optional.of(zk), Optional.of(basic)) + " "
                + new DiscoverySettings(Optional.empty(), Optional.of(bearer)) + " " + zk.tls().orElseThrow();

        assertThat(printed).doesNotContain("s3cr3t").contains("zk1:2181", "http://m1:8080");
    }
}
