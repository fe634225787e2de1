package io.tandem.tests.ha;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.tests.ha.OwnershipTimeline.Analysis;
import io.tandem.tests.ha.OwnershipTimeline.Fault;
import io.tandem.tests.ha.OwnershipTimeline.Interval;
import io.tandem.tests.ha.OwnershipTimeline.Kind;
import io.tandem.tests.ha.OwnershipTimeline.Notion;
import io.tandem.tests.ha.OwnershipTimeline.Sample;
import io.tandem.tests.ha.OwnershipTimeline.Segment;
import io.tandem.tests.ha.OwnershipTimeline.State;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OwnershipTimelineTest {
    private static final String VIP = "198.18.1.10";
    private static final long MS = 1_000_000L;
    private static final long MAX_GAP = 40 * MS;
    private static final List<String> NODES = List.of("lb1", "lb2");

    /** Samples of {@code node} every 10 ms over {@code [fromMs, toMs)}, owner (accepting and listed) as given. */
    private static List<Sample> every10(String node, long fromMs, long toMs, boolean owner) {
        List<Sample> out = new ArrayList<>();
        for (long t = fromMs; t < toMs; t += 10) {
            out.add(new Sample(node, t * MS, VIP, owner, owner));
        }
        return out;
    }

    private static Analysis analyse(List<Sample> s, long fromMs, long toMs, Notion n, List<Fault> faults) {
        return OwnershipTimeline.analyse(s, NODES, VIP, n, MAX_GAP, fromMs * MS, toMs * MS, faults, 100 * MS);
    }

    @Test
    void aCleanHandoverHasNeitherTwoOwnersNorNone() {
        List<Sample> s = new ArrayList<>(every10("lb1", 0, 500, true));
        s.addAll(every10("lb1", 500, 1000, false));
        s.addAll(every10("lb2", 0, 500, false));
        s.addAll(every10("lb2", 500, 1000, true));
        Analysis a = analyse(s, 0, 990, Notion.ACCEPTING, List.of());
        assertThat(a.intervals()).isEmpty();
    }

    @Test
    void anOverlapIsOneDualIntervalWithItsLengthAndTheActiveFault() {
        List<Sample> s = new ArrayList<>(every10("lb1", 0, 800, true));
        s.addAll(every10("lb1", 800, 1000, false));
        s.addAll(every10("lb2", 0, 300, false));
        s.addAll(every10("lb2", 300, 1000, true));
        Fault freeze = new Fault(100 * MS, 700 * MS, "freeze lb1 600ms");
        Fault old = new Fault(0, 10 * MS, "long healed");
        Analysis a = analyse(s, 0, 990, Notion.ACCEPTING, List.of(freeze, old));
        assertThat(a.of(Kind.DUAL)).singleElement().satisfies(i -> {
            assertThat(i.start()).isEqualTo(300 * MS);
            assertThat(i.end()).isEqualTo(800 * MS);
            assertThat(i.nodes()).containsExactly("lb1", "lb2");
            assertThat(i.faults()).containsExactly("freeze lb1 600ms");
        });
        assertThat(a.longer(Kind.DUAL, 50)).hasSize(1);
        assertThat(a.longer(Kind.DUAL, 500)).isEmpty();
        assertThat(a.longestMillis(Kind.DUAL)).isEqualTo(500);
    }

    @Test
    void theTwoNotionsAreReadSeparately() {
        List<Sample> s = new ArrayList<>();
        for (long t = 0; t < 300; t += 10) {
            // lb1: fenced (listed, not accepting) from 100 ms on; lb2 took it at 100 ms
            s.add(new Sample("lb1", t * MS, VIP, true, t < 100));
            s.add(new Sample("lb2", t * MS, VIP, t >= 100, t >= 100));
        }
        assertThat(analyse(s, 0, 290, Notion.ACCEPTING, List.of()).intervals()).isEmpty();
        assertThat(analyse(s, 0, 290, Notion.LISTED, List.of()).of(Kind.DUAL)).singleElement()
                .satisfies(i -> assertThat(i.millis()).isEqualTo(190));
    }

    @Test
    void nobodyServingIsOwnerless() {
        List<Sample> s = new ArrayList<>(every10("lb1", 0, 200, true));
        s.addAll(every10("lb1", 200, 1000, false));
        s.addAll(every10("lb2", 0, 700, false));
        s.addAll(every10("lb2", 700, 1000, true));
        Analysis a = analyse(s, 0, 990, Notion.ACCEPTING, List.of());
        assertThat(a.of(Kind.OWNERLESS)).singleElement()
                .satisfies(i -> assertThat(i.millis()).isEqualTo(500));
        assertThat(a.longer(Kind.OWNERLESS, 2_000)).isEmpty();
        assertThat(a.of(Kind.DUAL)).isEmpty();
    }

    @Test
    void aGapWhoseEndsAgreeIsAssumedToHoldThatState() {
        // lb1's sampler stalls 300 ms, owner on both sides; lb2 owns from 100 to 200 ms
        List<Sample> s = new ArrayList<>(every10("lb1", 0, 100, true));
        s.addAll(every10("lb1", 400, 600, true));
        s.addAll(every10("lb2", 0, 100, false));
        s.addAll(every10("lb2", 100, 200, true));
        s.addAll(every10("lb2", 200, 600, false));
        Analysis a = analyse(s, 0, 590, Notion.ACCEPTING, List.of());
        assertThat(a.of(Kind.DUAL)).singleElement().satisfies(i -> assertThat(i.millis()).isEqualTo(100));
        assertThat(a.of(Kind.BLIND)).isEmpty();
        assertThat(a.of(Kind.AMBIGUOUS_DUAL)).isEmpty();
    }

    @Test
    void aGapWhoseEndsDifferIsUnknownNeverSilentlyNotOwner() {
        // lb1 owner until 100, then its sampler is silent for 300 ms, then not owner; lb2 owns from 150 on
        List<Sample> s = new ArrayList<>(every10("lb1", 0, 100, true));
        s.addAll(every10("lb1", 400, 600, false));
        s.addAll(every10("lb2", 0, 150, false));
        s.addAll(every10("lb2", 150, 600, true));
        List<Segment> lb1 = OwnershipTimeline.segments(s, "lb1", VIP, Notion.ACCEPTING, MAX_GAP, 0, 590 * MS);
        assertThat(lb1).containsExactly(new Segment(0, 90 * MS, State.OWNER),
                new Segment(90 * MS, 400 * MS, State.UNKNOWN), new Segment(400 * MS, 590 * MS, State.NOT));
        Analysis a = analyse(s, 0, 590, Notion.ACCEPTING, List.of());
        assertThat(a.of(Kind.DUAL)).isEmpty();
        // the unknown stretch beside lb2's ownership is reported as a possible overlap, with its length
        assertThat(a.of(Kind.AMBIGUOUS_DUAL)).singleElement().satisfies(i -> {
            assertThat(i.start()).isEqualTo(150 * MS);
            assertThat(i.end()).isEqualTo(400 * MS);
            assertThat(i.nodes()).contains("lb1");
        });
        // and the stretch before lb2 took it is not "ownerless": lb1 may still have served
        assertThat(a.of(Kind.OWNERLESS)).isEmpty();
        assertThat(a.of(Kind.BLIND)).singleElement().satisfies(i -> {
            assertThat(i.nodes()).containsExactly("lb1");
            assertThat(i.millis()).isEqualTo(310);
        });
    }

    @Test
    void gapsUpToTheBoundAreSampleAndHold() {
        // 30 ms between samples (under the 40 ms bound): the change is taken at the later sample
        List<Sample> s = new ArrayList<>();
        for (long t = 0; t < 300; t += 30) {
            s.add(new Sample("lb1", t * MS, VIP, t < 150, t < 150));
            s.add(new Sample("lb2", (t + 5) * MS, VIP, t >= 150, t >= 150));
        }
        Analysis a = analyse(s, 10, 270, Notion.ACCEPTING, List.of());
        assertThat(a.of(Kind.BLIND)).isEmpty();
        // lb1 not owner from 150 (its sample), lb2 owner from 155: 5 ms without an owner, no overlap
        assertThat(a.of(Kind.DUAL)).isEmpty();
        assertThat(a.of(Kind.OWNERLESS)).singleElement().satisfies(i -> assertThat(i.millis()).isEqualTo(5));
    }

    @Test
    void beforeTheFirstAndAfterTheLastSampleIsUnknown() {
        List<Sample> s = new ArrayList<>(every10("lb1", 100, 200, true));
        s.addAll(every10("lb2", 0, 300, false));
        Analysis a = analyse(s, 0, 290, Notion.ACCEPTING, List.of());
        assertThat(a.of(Kind.BLIND)).extracting(Interval::start, Interval::end)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0L, 100 * MS),
                        org.assertj.core.groups.Tuple.tuple(190 * MS, 290 * MS));
        assertThat(a.of(Kind.OWNERLESS)).isEmpty();
        assertThat(a.of(Kind.DUAL)).isEmpty();
    }

    @Test
    void samplesOutsideTheWindowOnlyBoundTheStateAtItsEdges() {
        // lb1's sampler started late (blind 0..200 ms), lb2 owns throughout; the window starts at 500 ms
        List<Sample> s = new ArrayList<>(every10("lb1", 200, 1000, false));
        s.addAll(every10("lb2", 0, 1000, true));
        Analysis a = analyse(s, 500, 800, Notion.ACCEPTING, List.of());
        assertThat(a.intervals()).isEmpty();
        assertThat(OwnershipTimeline.segments(s, "lb2", VIP, Notion.ACCEPTING, MAX_GAP, 500 * MS, 800 * MS))
                .containsExactly(new Segment(500 * MS, 800 * MS, State.OWNER));
    }

    @Test
    void anIntervalIsNamedAfterTheFaultActiveWhenItBeganElseTheOneHealedLastBeforeIt() {
        List<Sample> s = new ArrayList<>(every10("lb1", 0, 1000, true));
        s.addAll(every10("lb2", 0, 600, false));
        s.addAll(every10("lb2", 600, 700, true));
        s.addAll(every10("lb2", 700, 1000, false));
        Fault early = new Fault(100 * MS, 200 * MS, "early");
        Fault last = new Fault(450 * MS, 550 * MS, "last");
        Analysis healed = analyse(s, 0, 990, Notion.ACCEPTING, List.of(early, last));
        assertThat(healed.of(Kind.DUAL)).singleElement().satisfies(i -> assertThat(i.faults()).containsExactly("last"));
        Fault active = new Fault(580 * MS, 900 * MS, "active");
        Analysis on = analyse(s, 0, 990, Notion.ACCEPTING, List.of(early, last, active));
        assertThat(on.of(Kind.DUAL)).singleElement().satisfies(i -> assertThat(i.faults()).containsExactly("active"));
    }

    @Test
    void aNodeWithNoSamplesAtAllIsBlindThroughout() {
        Analysis a = analyse(every10("lb2", 0, 300, true), 0, 290, Notion.ACCEPTING, List.of());
        assertThat(a.of(Kind.BLIND)).singleElement().satisfies(i -> assertThat(i.millis()).isEqualTo(290));
        assertThat(a.of(Kind.AMBIGUOUS_DUAL)).singleElement().satisfies(i -> assertThat(i.millis()).isEqualTo(290));
    }

    @Test
    void theLongestSamplingGapIsTheSamplersWorstStall() {
        List<Sample> s = new ArrayList<>(every10("lb1", 0, 100, true));
        s.addAll(every10("lb1", 350, 400, true));
        s.addAll(every10("lb2", 0, 400, false));
        assertThat(OwnershipTimeline.longestSamplingGap(s, "lb1")).isEqualTo(260 * MS);
        assertThat(OwnershipTimeline.longestSamplingGap(s, "lb2")).isEqualTo(10 * MS);
    }
}
