package io.tandem.config;

import static io.tandem.config.ConfigLoaderValidTest.valid;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code logging.format}: logfmt (default) or json; held by the runtime settings. */
class LoggingConfigTest {

    private static List<String> errors(String yaml) {
        ConfigResult r = ConfigLoader.parse(yaml, "t.yaml");
        assertThat(r).isInstanceOf(ConfigResult.Invalid.class);
        return ((ConfigResult.Invalid) r).errors().stream().map(Object::toString).toList();
    }

    @Test
    void jsonIsReadIntoTheRuntimeSettings() {
        assertThat(valid("logging: {format: json}\nvips: []\n").runtime().logging().format()).isEqualTo(LogFormat.JSON);
        assertThat(valid("logging: {format: LOGFMT}\nruntime: {event_loops: 2}\nvips: []\n").runtime())
                .isEqualTo(new RuntimeSettings(2, TransportKind.AUTO, RuntimeSettings.DEFAULTS.drainTimeout(),
                        RuntimeSettings.Dns.DEFAULTS, new LoggingSettings(LogFormat.LOGFMT)));
    }

    @Test
    void withoutALoggingSectionTheFormatIsLogfmt() {
        assertThat(valid("vips: []\n").runtime().logging()).isEqualTo(LoggingSettings.DEFAULTS);
        assertThat(LoggingSettings.DEFAULTS.format()).isEqualTo(LogFormat.LOGFMT);
    }

    @Test
    void anUnknownFormatOrKeyIsAnErrorWithItsPath() {
        List<String> e = errors("logging: {format: xml, level: debug}\nvips: []\n");
        assertThat(e).anySatisfy(l -> assertThat(l).contains("logging.format").contains("\"xml\"")
                .contains("logfmt").contains("json"));
        assertThat(e).anySatisfy(l -> assertThat(l).contains("logging.level"));
    }
}
