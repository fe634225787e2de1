package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code GET /api/config}'s tree: defaults filled in, config spellings, every secret masked. */
class ConfigDumpTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode dump(String yaml) {
        return JSON.valueToTree(ConfigDump.of(valid(yaml)));
    }

    @Test
    void defaultsAreFilledInAndWrittenAsTheConfigSpellsThem() {
        JsonNode d = dump("""
                vips:
                  - name: web
                    listen: 127.0.0.1:8080
                    backends: [127.0.0.1:9001]
                    health_check: {type: http, path: /health}
                """);
        assertThat(d.fieldNames()).toIterable().containsExactly("runtime", "admin", "logging", "discovery", "vips", "ha",
                "node", "locality");
        assertThat(d.at("/runtime/transport").asText()).isEqualTo("auto");
        assertThat(d.at("/runtime/drain_timeout").asText()).isEqualTo("30s");
        assertThat(d.at("/runtime/logging").isMissingNode()).as("logging is shown where it is written").isTrue();
        assertThat(d.at("/logging/format").asText()).isEqualTo("logfmt");
        assertThat(d.at("/admin/listen").asText()).isEqualTo("127.0.0.1:9090");
        assertThat(d.at("/admin/token").isNull()).isTrue();
        JsonNode vip = d.at("/vips/0");
        assertThat(vip.at("/policy").asText()).isEqualTo("round-robin");
        assertThat(vip.at("/protocol").asText()).isEqualTo("tcp");
        assertThat(vip.at("/health_check/type").asText()).isEqualTo("http");
        assertThat(vip.at("/health_check/timing/interval").asText()).isEqualTo("100ms");
        assertThat(vip.at("/backends/0/address").asText()).isEqualTo("127.0.0.1:9001");
        assertThat(vip.at("/timeouts").size()).isPositive();
    }

    @Test
    void everySecretIsMasked() {
        // Marathon takes basic_auth or a token, not both: two files cover every secret path.
        String zk = """
                admin: {listen: 10.0.0.1:9090, token: "admin-s3cr3t-token-value"}
                discovery:
                  zookeeper:
                    connect: "zk1:2181"
                    auth: "user:zk-s3cr3t"
                    tls: {trust_store: /t.p12, trust_store_password: "trust-s3cr3t", key_store: /k.p12,
                          key_store_password: "key-s3cr3t"}
                  marathon: {urls: ["http://m1:8080"], %s}
                vips: []
                """;
        JsonNode basic = dump(zk.formatted("basic_auth: \"u:marathon-s3cr3t\""));
        JsonNode token = dump(zk.formatted("token: \"marathon-tok-s3cr3t\""));
        assertThat(basic.toString()).doesNotContain("s3cr3t");
        assertThat(token.toString()).doesNotContain("s3cr3t");
        for (String path : Render.SECRET_PATHS) {
            JsonNode d = path.equals("discovery.marathon.token") ? token : basic;
            assertThat(d.at("/" + path.replace('.', '/')).asText()).as(path).isEqualTo(ConfigDump.MASK);
        }
        assertThat(basic.at("/discovery/zookeeper/connect").asText()).isEqualTo("zk1:2181");
        assertThat(basic.at("/discovery/marathon/urls/0").asText()).isEqualTo("http://m1:8080");
    }

    @Test
    void theLogFormatIsShown() {
        assertThat(dump("logging: {format: json}\nvips: []\n").at("/logging/format").asText()).isEqualTo("json");
    }

    @Test
    void snakeCaseOfRecordFields() {
        assertThat(ConfigDump.snake("trustStorePassword")).isEqualTo("trust_store_password");
        assertThat(Map.of("a", 1)).isNotEmpty();
    }
}
