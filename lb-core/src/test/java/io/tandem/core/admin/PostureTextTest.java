package io.tandem.core.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.core.control.PostureReport;
import io.tandem.core.control.PostureReport.Finding;
import io.tandem.core.control.PostureReport.Severity;
import io.tandem.core.control.PostureReport.VipSpread;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What {@code tandem doctor} and the end of {@code tandem status} print for a posture report. */
class PostureTextTest {
    private static final Instant T = Instant.parse("2026-12-07T14:00:00Z");

    private static final PostureReport REPORT = new PostureReport(T, List.of(
            new Finding("one-zone", Severity.WARN, "vip orders", "orders", "all 2 eligible backends are in zone a",
                    "run instances in a second zone"),
            new Finding("zones-unknown", Severity.INFO, "vip dns", "dns", "1 of 2 eligible backends have no known zone",
                    "give backends a zone")),
            List.of(new VipSpread("dns", 2, 1, 2, 1, List.of("b"), true),
                    new VipSpread("orders", 2, 1, 2, 0, List.of("a"), false)));

    @Test
    void doctorPrintsEachFindingWithWhatToDoThenEveryVipsSpread() {
        assertThat(PostureText.render(REPORT)).isEqualTo("""
                1 WARN, 1 INFO

                WARN one-zone  vip orders
                     all 2 eligible backends are in zone a
                     what to do: run instances in a second zone

                INFO zones-unknown  vip dns
                     1 of 2 eligible backends have no known zone
                     what to do: give backends a zone

                VIP     ELIGIBLE  ZONES  HOSTS  ZONE-UNKNOWN  CHECK
                dns     2         1 (b)  2      1             yes
                orders  2         1 (a)  2      0             no
                """);
    }

    @Test
    void statusEndsWithAHeadlineAndOneLinePerFinding() {
        assertThat(PostureText.summary(REPORT)).isEqualTo("""
                posture: 1 WARN, 1 INFO (tandem doctor says what to do)
                  WARN one-zone  vip orders: all 2 eligible backends are in zone a
                  INFO zones-unknown  vip dns: 1 of 2 eligible backends have no known zone
                """);
        assertThat(PostureText.summary(new PostureReport(T, List.of(), List.of())))
                .isEqualTo("posture: no single point of failure found\n");
    }
}
