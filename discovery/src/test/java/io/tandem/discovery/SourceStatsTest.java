package io.tandem.discovery;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A source's counters: samples kept until the node attaches, drop reasons announced once, JSON round trip. */
class SourceStatsTest {

    @Test
    void propagationSamplesTakenBeforeTheSinkAttachesAreHandedOver() {
        SourceStats s = new SourceStats();
        s.propagated(1_000_000);
        s.propagated(2_000_000);
        List<Long> seen = new ArrayList<>();
        s.onPropagation(seen::add);
        s.propagated(3_000_000);
        assertThat(seen).containsExactly(1_000_000L, 2_000_000L, 3_000_000L);
        assertThat(s.snapshot().propagationCount()).isEqualTo(3);
        assertThat(s.snapshot().propagationSecondsSum()).isEqualTo(0.006);
    }

    @Test
    void pendingSamplesAreBounded() {
        SourceStats s = new SourceStats();
        for (int i = 0; i < SourceStats.PENDING_MAX + 10; i++) {
            s.propagated(i);
        }
        List<Long> seen = new ArrayList<>();
        s.onPropagation(seen::add);
        assertThat(seen).hasSize(SourceStats.PENDING_MAX).startsWith(10L);
    }

    @Test
    void eachDropReasonIsAnnouncedOnceAndCountedEveryTime() {
        SourceStats s = new SourceStats();
        s.dropped("task");
        List<String> reasons = new ArrayList<>();
        s.onNewDropReason(reasons::add);
        s.dropped("task");
        s.dropped("label");
        s.dropped("label");
        assertThat(reasons).containsExactly("task", "label");
        assertThat(s.droppedCount("task")).isEqualTo(2);
        assertThat(s.droppedTotal()).isEqualTo(4);
    }

    @Test
    void jsonIsTheSnapshotAndReadsBackAsADetachedCopy() throws Exception {
        SourceStats s = new SourceStats();
        s.resynced();
        s.reconnected();
        s.dropped("app");
        s.updated(Instant.parse("2026-01-02T03:04:05Z"));
        s.propagated(5_000_000);
        ObjectMapper m = new ObjectMapper().registerModule(new Jdk8Module())
                .registerModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule());
        String json = m.writeValueAsString(s);
        assertThat(json).contains("\"resyncs\":1", "\"reconnects\":1", "\"dropped\":{\"app\":1}",
                "\"propagationCount\":1");
        SourceStats back = m.readValue(json, SourceStats.class);
        assertThat(back.snapshot()).isEqualTo(s.snapshot());
        assertThat(back).as("views holding stats compare by value").isEqualTo(s).hasSameHashCodeAs(s);
        s.resynced();
        assertThat(back).isNotEqualTo(s);
    }
}
