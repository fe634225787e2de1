package io.tandem.core.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The pair demo's pure parts: what it says it needs, the survivor's takeover time, the client's view. */
class DemoPairTest {

    @Test
    void saysWhatIsMissingAndHowToRunIt() {
        assertThat(DemoPair.missing(true, true, true)).isEmpty();
        assertThat(DemoPair.missing(true, false, false)).hasValueSatisfying(m -> assertThat(m)
                .startsWith("demo --pair needs root:").contains("sudo ./tandem demo --pair").contains("./tandem demo"));
        assertThat(DemoPair.missing(true, true, false)).hasValueSatisfying(m -> assertThat(m)
                .startsWith("demo --pair needs iproute2's `ip netns`"));
        assertThat(DemoPair.missing(false, false, false)).hasValueSatisfying(m -> assertThat(m)
                .startsWith("demo --pair needs Linux"));
    }

    @Test
    void takeoverTimeIsTheMeanOfTheAddressSeries() {
        String metrics = """
                # HELP tandem_ha_takeover_duration_seconds ...
                tandem_ha_takeover_duration_seconds_count{address="198.18.1.11",} 0
                tandem_ha_takeover_duration_seconds_sum{address="198.18.1.11",} 0.0
                tandem_ha_takeover_duration_seconds_count{address="198.18.1.10",} 1
                tandem_ha_takeover_duration_seconds_sum{address="198.18.1.10",} 0.4237
                """;
        assertThat(DemoPair.takeoverMillis(metrics, "198.18.1.10")).contains(424L);
        assertThat(DemoPair.takeoverMillis(metrics, "198.18.1.11")).isEmpty();
        assertThat(DemoPair.takeoverMillis("", "198.18.1.10")).isEmpty();
    }

    @Test
    void clientViewCountsFailuresAfterTheKillAndTheTimeToTheFirstNewSuccess() {
        List<String> lines = List.of(
                "R 900 910 ok",
                "R 1000 1010 ok",
                "R 1100 1600 fail SocketTimeoutException:Connect_timed_out",
                "R 1200 1300 fail ConnectException:refused",
                "R 1300 1350 ok",
                "not an attempt line");
        DemoPair.ClientView v = DemoPair.ClientView.of(lines, 1050);
        assertThat(v.failed()).isEqualTo(2);
        assertThat(v.unservedMs()).isEqualTo(300);
        assertThat(DemoPair.ClientView.of(lines.subList(0, 4), 1050).unservedMs()).isEqualTo(-1);
    }
}
