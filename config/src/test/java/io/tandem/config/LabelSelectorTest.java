package io.tandem.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Marathon's label selector grammar ({@code LabelSelectorParsers}), parsed and matched as Marathon does. */
class LabelSelectorTest {

    @Test
    void marathonsDocumentedExampleParsesIntoSixSelectors() {
        // apps.raml: "my_label, environment==production, tier!=frontend\ tier, deployed in (us, eu), deployed notin (aa, bb)"
        LabelSelector s = LabelSelector.parse(
                "my_label, environment==production, tier!=frontend\\ tier, deployed in (us, eu), deployed notin (aa, bb)");
        assertThat(s.selectors()).extracting(LabelSelector.Selector::op).containsExactly(LabelSelector.Op.EXISTS,
                LabelSelector.Op.EQUALS, LabelSelector.Op.NOT_EQUALS, LabelSelector.Op.IN, LabelSelector.Op.NOT_IN);
        assertThat(s.selectors().get(2).values()).containsExactly("frontend tier"); // escaped space
        assertThat(s.selectors().get(3).values()).containsExactlyInAnyOrder("us", "eu");
    }

    @Test
    void everySelectorMustHoldAndEveryKindNeedsTheLabelToExist() {
        LabelSelector s = LabelSelector.parse("HAPROXY_GROUP==external,tier notin (frontend)");
        assertThat(s.matches(Map.of("HAPROXY_GROUP", "external", "tier", "backend"))).isTrue();
        assertThat(s.matches(Map.of("HAPROXY_GROUP", "external", "tier", "frontend"))).isFalse();
        assertThat(s.matches(Map.of("HAPROXY_GROUP", "external"))).as("notin needs the label, as in Marathon").isFalse();
        assertThat(s.matches(Map.of("HAPROXY_GROUP", "internal", "tier", "backend"))).isFalse();
        assertThat(LabelSelector.parse("tier!=frontend").matches(Map.of())).isFalse();
        assertThat(LabelSelector.parse("HAPROXY_GROUP").matches(Map.of("HAPROXY_GROUP", ""))).isTrue();
        assertThat(LabelSelector.parse("a in ()").matches(Map.of("a", "x"))).isFalse();
    }

    @Test
    void escapedCharactersBelongToTheTerm() {
        // LabelSelectorParsers: "\!\!\! in (\-\-\-, \&\&\&, \+\+\+)"
        LabelSelector s = LabelSelector.parse("\\!\\!\\! in (\\-\\-\\-, \\&\\&\\&, \\+\\+\\+)");
        assertThat(s.matches(Map.of("!!!", "&&&"))).isTrue();
        assertThat(s.matches(Map.of("!!!", "***"))).isFalse();
    }

    @Test
    void malformedQueriesSayWhereAndWhat() {
        assertThatThrownBy(() -> LabelSelector.parse("tier !=")).hasMessageContaining("position 7")
                .hasMessageContaining("a label name or value");
        assertThatThrownBy(() -> LabelSelector.parse("a in (x")).hasMessageContaining("')'")
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LabelSelector.parse("")).hasMessageContaining("at least one selector");
        assertThatThrownBy(() -> LabelSelector.parse("a b")).hasMessageContaining("','");
        assertThatThrownBy(() -> LabelSelector.parse("a=b")).isInstanceOf(IllegalArgumentException.class);
    }
}
