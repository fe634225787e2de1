package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The admin section: tokens a client can send and that are never printed, allowed host names. */
class AdminConfigTest {
    private static final String GOOD = "0123456789abcdef-XYZ";

    private static List<String> errors(String adminYaml) {
        ConfigResult r = ConfigLoader.parse("admin:\n" + adminYaml + "vips: []\n", "test.yaml");
        return r instanceof ConfigResult.Invalid inv ? inv.errors().stream().map(ConfigError::toString).toList()
                : List.of();
    }

    private static AdminSettings valid(String adminYaml) {
        ConfigResult r = ConfigLoader.parse("admin:\n" + adminYaml + "vips: []\n", "test.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Valid.class);
        return ((ConfigResult.Valid) r).config().admin();
    }

    @Test
    void aVisibleAsciiTokenOfSixteenOrMoreCharactersIsAccepted() {
        assertThat(valid("  listen: 10.0.0.1:9090\n  token: \"" + GOOD + "\"\n").token()).contains(GOOD);
        assertThat(valid("  token: '!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'\n").token()).isPresent();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "\"short-secret\"",                  // 12 characters
        "\"abcdefghijklmnopq \"",            // trailing space
        "\" abcdefghijklmnopq\"",            // leading space
        "\"                    \"",          // all spaces
        "\"abcdefgh\\r\\nijklmnopq\"",       // CR LF
        "\"abcdefgh\\tijklmnopq\"",          // tab
        "\"sécrèt-sécrèt-sécrèt\"",          // non-ASCII
        "\"abcdefgh ijklmnopq\"",            // inner space
    })
    void aTokenNoClientCanSendOrTooShortIsRejectedWithoutPrintingIt(String token) {
        List<String> errs = errors("  listen: 10.0.0.1:9090\n  token: " + token + "\n");
        assertThat(errs).hasSize(1);
        assertThat(errs.getFirst()).startsWith("admin.token: \"***\" (expected a bearer token of 16..1024 visible"
                + " ASCII characters: ");
        String secretPart = token.replace("\"", "").replace("\\r\\n", "").replace("\\t", "").strip();
        if (!secretPart.isEmpty()) {
            assertThat(errs.getFirst()).doesNotContain(secretPart.substring(0, 5));
        }
    }

    @Test
    void whatIsWrongIsNamedWithoutTheValue() {
        assertThat(errors("  token: \"abcdefghijklmnopq \"\n")).singleElement().asString()
                .endsWith("found surrounding whitespace at index 17)");
        assertThat(errors("  token: \"abcdefgh\\nijklmnopq\"\n")).singleElement().asString()
                .endsWith("found a line break at index 8)");
        assertThat(errors("  token: \"sécrèt-sécrèt-sécrèt\"\n")).singleElement().asString()
                .endsWith("found a non-ASCII character at index 1)");
        assertThat(errors("  token: \"0123\"\n")).singleElement().asString()
                .endsWith("16..1024 characters, got 4)");
    }

    @Test
    void aTokenThatYamlReadsAsANumberOrBooleanIsExpectedAsAStringAndMasked() {
        assertThat(errors("  listen: 10.0.0.1:9090\n  token: 0123\n")).containsExactly(
                "admin.token: \"***\" (expected a bearer token of 16..1024 visible ASCII characters as a string;"
                        + " put it in quotes)");
        assertThat(errors("  token: 12345678901234567890\n")).singleElement().asString()
                .doesNotContain("1234").contains("\"***\"");
        assertThat(errors("  token: true\n")).singleElement().asString().doesNotContain("true");
        assertThat(errors("  token: [a, b]\n")).singleElement().asString().contains("\"***\"");
    }

    @Test
    void anEmptyTokenIsReportedAsEmpty() {
        assertThat(errors("  token: \"\"\n")).singleElement().asString()
                .startsWith("admin.token: \"\" (expected a bearer token");
    }

    @Test
    void toStringNeverPrintsTheToken() {
        AdminSettings a = valid("  token: \"" + GOOD + "\"\n");
        assertThat(a.toString()).doesNotContain(GOOD).contains("token=***");
        assertThat(AdminSettings.DEFAULTS.toString()).contains("token=none");
    }

    @Test
    void allowedHostsAreReadLowerCasedAndDefaultToNone() {
        assertThat(valid("  allowed_hosts: [LB1.example.com, tandem-admin]\n").allowedHosts())
                .containsExactly("lb1.example.com", "tandem-admin");
        assertThat(valid("  listen: 127.0.0.1:9090\n").allowedHosts()).isEmpty();
    }

    @Test
    void allowedHostsThatAreNotHostNamesAreRejected() {
        assertThat(errors("  allowed_hosts: [\"lb1.example.com:9090\", \"*.example.com\", 42, \"a b\"]\n"))
                .containsExactly(
                        "admin.allowed_hosts[0]: \"lb1.example.com:9090\" (expected a host name without port"
                                + " (letters, digits, '-', '.'))",
                        "admin.allowed_hosts[1]: \"*.example.com\" (expected a host name without port"
                                + " (letters, digits, '-', '.'))",
                        "admin.allowed_hosts[2]: 42 (expected a host name without port (letters, digits, '-', '.'))",
                        "admin.allowed_hosts[3]: \"a b\" (expected a host name without port"
                                + " (letters, digits, '-', '.'))");
        assertThat(errors("  allowed_hosts: lb1.example.com\n")).singleElement().asString()
                .startsWith("admin.allowed_hosts: \"lb1.example.com\" (expected a list of host names");
    }

    @Test
    void onlyEnabledAndListenNeedARestart() {
        AdminSettings a = new AdminSettings(true, HostPort.of("127.0.0.1", 9090), Optional.of(GOOD), List.of());
        assertThat(a.sameListener(new AdminSettings(true, HostPort.of("127.0.0.1", 9090), Optional.empty(),
                List.of("x")))).isTrue();
        assertThat(a.sameListener(new AdminSettings(true, HostPort.of("127.0.0.1", 9091), Optional.of(GOOD)))).isFalse();
        assertThat(a.sameListener(new AdminSettings(false, HostPort.of("127.0.0.1", 9090), Optional.of(GOOD)))).isFalse();
    }

    @Test
    void portsWithLeadingZerosOrNonAsciiDigitsAreRejectedByConfigAndByHostPortAlike() {
        assertThat(errors("  listen: 127.0.0.1:09090\n")).singleElement().asString()
                .isEqualTo("admin.listen: \"127.0.0.1:09090\" (expected a port 1..65535)");
        assertThat(errors("  listen: \"127.0.0.1:\u0669\u0660\u0669\u0660\"\n")).singleElement().asString()
                .contains("expected a port 1..65535");
        for (String bad : List.of("127.0.0.1:08080", "127.0.0.1:\u0668\u0660\u0668\u0660", "127.0.0.1:+8080",
                "127.0.0.1:-1", "127.0.0.1:000080", "127.0.0.1:0")) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> HostPort.parse(bad))
                    .as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(HostPort.parse("127.0.0.1:8080")).isEqualTo(HostPort.of("127.0.0.1", 8080));
        assertThat(HostPort.parsePort("65535")).isEqualTo(65535);
        assertThat(HostPort.parsePort("0")).isZero();
    }
}
