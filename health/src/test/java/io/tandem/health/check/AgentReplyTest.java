package io.tandem.health.check;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.health.check.AgentReply.Admin;
import io.tandem.health.check.AgentReply.Health;
import io.tandem.health.check.AgentReply.Weight;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Agent replies parsed as HAProxy's tcpcheck_agent_expect_reply and server_parse_weight_change_request do. */
class AgentReplyTest {

    @Test
    void everyHealthWordIsRecognisedIgnoringCase() {
        assertThat(AgentReply.parse("up").health()).contains(Health.UP);
        assertThat(AgentReply.parse("DOWN").health()).contains(Health.DOWN);
        assertThat(AgentReply.parse("Fail").health()).contains(Health.FAIL);
        assertThat(AgentReply.parse("stopped").health()).contains(Health.STOPPED);
        assertThat(Health.DOWN.down()).isTrue();
        assertThat(Health.FAIL.down()).isTrue();
        assertThat(Health.STOPPED.down()).isTrue();
        assertThat(Health.UP.down()).isFalse();
    }

    @Test
    void everyAdminWordIsRecognised() {
        assertThat(AgentReply.parse("ready").admin()).contains(Admin.READY);
        assertThat(AgentReply.parse("Drain").admin()).contains(Admin.DRAIN);
        assertThat(AgentReply.parse("MAINT").admin()).contains(Admin.MAINT);
        assertThat(AgentReply.parse("maint").problems()).isEmpty();
    }

    @Test
    void wordsAreSeparatedBySpacesTabsOrCommasInAnyOrderAndTheLastOfACategoryWins() {
        AgentReply r = AgentReply.parse(" 75%,drain\tup ,, ready 50% ");
        assertThat(r.health()).contains(Health.UP);
        assertThat(r.admin()).contains(Admin.READY);
        assertThat(r.weight()).contains(new Weight(50, true));
        assertThat(r.problems()).isEmpty();
        assertThat(AgentReply.parse("").empty()).isTrue();
        assertThat(AgentReply.parse(" , \t").empty()).isTrue();
    }

    @Test
    void aDescriptionAfterASharpIsKeptOnlyWithAHealthWord() {
        AgentReply down = AgentReply.parse("down # disk full, 2 of 3 replicas");
        assertThat(down.health()).contains(Health.DOWN);
        assertThat(down.description()).isEqualTo("disk full, 2 of 3 replicas");
        assertThat(down.problems()).as("words after # are not parsed").isEmpty();
        assertThat(AgentReply.parse("drain #going away").description()).isEmpty();
        assertThat(AgentReply.parse("stopped,#").description()).isEmpty();
        // '#' starts a description only at the start of a word, as in HAProxy.
        AgentReply glued = AgentReply.parse("fail#x");
        assertThat(glued.health()).isEmpty();
        assertThat(glued.problems()).singleElement().asString().contains("\"fail#x\"");
    }

    @Test
    void percentagesAndWeightPrefixesFollowHaproxyBounds() {
        assertThat(AgentReply.parse("0%").weight()).contains(new Weight(0, true));
        assertThat(AgentReply.parse("100%").weight()).contains(new Weight(100, true));
        assertThat(AgentReply.parse("250%").weight()).contains(new Weight(250, true));
        assertThat(AgentReply.parse("25600%").weight()).contains(new Weight(25600, true));
        assertThat(AgentReply.parse("99999999999999999999%").weight()).as("clamped, no overflow")
                .contains(new Weight(AgentReply.MAX_PERCENT, true));
        assertThat(AgentReply.parse("weight:40%").weight()).contains(new Weight(40, true));
        assertThat(AgentReply.parse("WEIGHT:12").weight()).contains(new Weight(12, false));
        assertThat(AgentReply.parse("weight:256").weight()).contains(new Weight(256, false));
        for (String bad : new String[] {"weight:257", "weight:", "weight:-5", "75%x", "7x%", "weight:abc", "1%%"}) {
            AgentReply r = AgentReply.parse(bad);
            assertThat(r.weight()).as(bad).isEmpty();
            assertThat(r.problems()).as(bad).singleElement().asString().contains("expected");
        }
        // A bad weight does not undo an earlier good one in the same line (HAProxy keeps the last
        // word of the category and fails on it; Tandem keeps what it could use and reports the rest).
        assertThat(AgentReply.parse("50% 7x%").weight()).contains(new Weight(50, true));
    }

    @Test
    void weightsApplyToTheConfiguredWeightAndAreCapped() {
        assertThat(new Weight(50, true).apply(10, 1000)).isEqualTo(5);
        assertThat(new Weight(75, true).apply(4, 1000)).isEqualTo(3);
        assertThat(new Weight(0, true).apply(10, 1000)).isZero();
        assertThat(new Weight(25600, true).apply(100, 1000)).isEqualTo(1000);
        assertThat(new Weight(7, false).apply(100, 1000)).isEqualTo(7);
        assertThat(new Weight(50, true)).hasToString("50%");
    }

    @Test
    void garbageAndUnsupportedWordsAreReportedWhileTheRestStillApplies() {
        AgentReply r = AgentReply.parse("drain hello maxconn:30 \u00e9t\u00e9 up");
        assertThat(r.admin()).contains(Admin.DRAIN);
        assertThat(r.health()).contains(Health.UP);
        assertThat(r.problems()).hasSize(3);
        assertThat(r.problems().get(0)).contains("\"hello\"", "expected up, down");
        assertThat(r.problems().get(1)).contains("maxconn:30", "ignored");
        AgentReply binary = AgentReply.parse("\u0000\u0001\u00ff");
        assertThat(binary.empty()).isTrue();
        assertThat(binary.problems()).singleElement().asString().contains("\\x00");
    }

    @Test
    void anOverLongWordIsQuotedShortInTheProblem() {
        String word = "x".repeat(5000);
        AgentReply r = AgentReply.parse(word);
        assertThat(r.problems()).singleElement().satisfies(p -> assertThat(p.length()).isLessThan(200));
    }

    @Test
    void stateFoldsRepliesAndOnlyWhatTheAgentSaysChanges() {
        AgentState s = AgentState.INITIAL.answered("drain");
        assertThat(s.admin()).isEqualTo(Admin.DRAIN);
        s = s.answered("50%");
        assertThat(s.admin()).as("not advertised: not changed").isEqualTo(Admin.DRAIN);
        assertThat(s.weight()).contains(new Weight(50, true));
        s = s.answered("down # maintenance window");
        assertThat(s.health()).isEqualTo(Health.DOWN);
        assertThat(s.reason()).isEqualTo("maintenance window");
        AgentState unreachable = s.failed("connection refused");
        assertThat(unreachable.sameEffect(s)).as("an unreachable agent changes nothing").isTrue();
        assertThat(unreachable.reachable()).isFalse();
        assertThat(unreachable.problem()).contains("connection refused");
        assertThat(unreachable.lastAnswer()).isEqualTo(s.lastAnswer());
        s = unreachable.answered("up ready");
        assertThat(s.health()).isEqualTo(Health.UP);
        assertThat(s.reason()).isEmpty();
        assertThat(s.admin()).isEqualTo(Admin.READY);
        assertThat(s.weight()).as("up/ready leave the weight").contains(new Weight(50, true));
        assertThat(s.reachable()).isTrue();
        assertThat(s.problem()).isEmpty();
        assertThat(s.effect()).isEqualTo("health=up admin=ready weight=50%");
        assertThat(AgentState.INITIAL.answered("100%").sameEffect(AgentState.INITIAL)).isFalse();
        assertThat(AgentState.INITIAL.answered("garbage").problem()).isPresent();
        assertThat(AgentState.INITIAL.answered("garbage").sameEffect(AgentState.INITIAL)).isTrue();
        assertThat(AgentState.INITIAL.weight()).isEqualTo(Optional.empty());
    }
}
