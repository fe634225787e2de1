package io.tandem.core.logging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Fields are read from the message pattern, so any argument stays one value in either format. */
class LogLineTest {
    private static final Instant AT = Instant.parse("2026-03-01T10:05:30.250Z");
    private static final ObjectMapper JSON = new ObjectMapper();

    private static LogLine line(String pattern, Object... args) {
        return LogLine.of(AT, "INFO", "ControlLoop", pattern, args, true, null, null);
    }

    @Test
    void theWordsBeforeTheFirstKeyAreTheMessage() {
        LogLine l = line("config applied why={} generation={} changes={}", "reload", 8L, 2);
        assertThat(l.msg()).isEqualTo("config applied");
        assertThat(l.fields()).extracting(LogLine.Field::key).containsExactly("why", "generation", "changes");
        assertThat(l.logfmt()).isEqualTo("ts=2026-03-01T10:05:30.250Z level=INFO logger=ControlLoop "
                + "msg=\"config applied\" why=reload generation=8 changes=2\n");
    }

    @Test
    void jsonHasTheSameFieldsWithNumbersAndBooleansUnquoted() throws Exception {
        JsonNode j = JSON.readTree(line("backend {} vip={} reason=\"{}\" after_ms={} eligible={}", "down", "web",
                "HTTP 503 \"x\"\n", 12L, false).json());
        assertThat(j.get("msg").asText()).isEqualTo("backend down");
        assertThat(j.get("reason").asText()).isEqualTo("HTTP 503 \"x\"\n");
        assertThat(j.get("after_ms").isNumber()).isTrue();
        assertThat(j.get("after_ms").asLong()).isEqualTo(12);
        assertThat(j.get("eligible").isBoolean()).isTrue();
        assertThat(j.get("ts").asText()).isEqualTo("2026-03-01T10:05:30.250Z");
        assertThat(j.get("level").asText()).isEqualTo("INFO");
    }

    @Test
    void aQuotedValueMayMixWordsAndArguments() {
        Map<String, String> f = Logfmt.parse(line("admin connection refused remote={} reason=\"{} connections open (max)\"",
                "10.0.0.9:4000", 256).logfmt());
        assertThat(f).containsEntry("reason", "256 connections open (max)").containsEntry("remote", "10.0.0.9:4000");
    }

    @Test
    void wordsAfterTheFieldsJoinTheMessage() {
        LogLine l = line("config watch unavailable file={} error=\"{}\" (reload with SIGHUP or POST /api/reload)",
                "/etc/t.yaml", "no inotify");
        assertThat(l.msg()).isEqualTo("config watch unavailable (reload with SIGHUP or POST /api/reload)");
        assertThat(Logfmt.parse(l.logfmt())).containsEntry("error", "no inotify");
    }

    @Test
    void aTrailingArgumentOfKeyValuePairsBecomesFields() {
        LogLine l = line("udp listener closed vip={} address={} {}", "dns", "127.0.0.1:53",
                "sessions_active=0 created=12 in=3/120B");
        assertThat(l.msg()).isEqualTo("udp listener closed");
        assertThat(Logfmt.parse(l.logfmt())).containsEntry("vip", "dns").containsEntry("created", "12")
                .containsEntry("in", "3/120B");
    }

    @Test
    void anArgumentHoldingKeyValueTextStaysOneValue() {
        LogLine l = line("reload rejected first={}", "vips[0].listen: x=1 y=\"2\"");
        assertThat(l.fields()).hasSize(1);
        assertThat(Logfmt.parse(l.logfmt())).containsEntry("first", "vips[0].listen: x=1 y=\"2\"");
    }

    @Test
    void addressesAreWrittenWithoutJavasSlash() {
        assertThat(LogLine.render(new InetSocketAddress("127.0.0.1", 80))).isEqualTo("127.0.0.1:80");
        assertThat(LogLine.render(new InetSocketAddress("::1", 80))).isEqualTo("[::1]:80");
        assertThat(LogLine.render(InetSocketAddress.createUnresolved("db.example", 5432))).isEqualTo("db.example:5432");
    }

    @Test
    void anotherLibrarysMessageIsKeptWhole() {
        LogLine l = LogLine.of(AT, "WARN", "ClientCnxn", "Session {} for server {}, x=y", new Object[] {"0x1", "zk"},
                false, null, null);
        assertThat(l.msg()).isEqualTo("Session 0x1 for server zk, x=y");
        assertThat(l.fields()).isEmpty();
        assertThat(Logfmt.parse(l.logfmt())).containsEntry("msg", "Session 0x1 for server zk, x=y");
    }

    @Test
    void aThrowableStaysOnTheSameLine() {
        LogLine l = LogLine.of(AT, "ERROR", "ControlLoop", "reload rejected source={}", new Object[] {"f"}, true,
                "java.io.IOException: gone", "java.io.IOException: gone\n\tat a.b(C.java:1)");
        String text = l.logfmt();
        assertThat(text.strip()).doesNotContain("\n");
        assertThat(Logfmt.parse(text)).containsEntry("exception", "java.io.IOException: gone")
                .containsEntry("stack", "java.io.IOException: gone\n\tat a.b(C.java:1)");
    }

    @Test
    void slf4jEscapesAndMissingArgumentsAreHonoured() {
        assertThat(line("a \\{} b={}", "x").msg()).isEqualTo("a {}");
        assertThat(line("a b={} c={}", "x").fields().get(1).value()).isEqualTo("{}");
    }

    @Test
    void aKeyNamedLikeAReservedFieldIsRenamed() {
        assertThat(Logfmt.parse(line("x msg={}", "hello").logfmt())).containsEntry("msg", "x").containsEntry("_msg",
                "hello");
    }
}
