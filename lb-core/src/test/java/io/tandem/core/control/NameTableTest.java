package io.tandem.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.core.control.NameTable.Decision;
import io.tandem.core.control.NameTable.Failed;
import io.tandem.core.control.NameTable.Found;
import io.tandem.core.control.NameTable.NotFound;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rules for backend host names: TTL bounds, what empties a name and what does not, back-off. */
class NameTableTest {
    private static final Duration MIN = Duration.ofSeconds(1);
    private static final Duration MAX = Duration.ofSeconds(30);
    private final NameTable table = new NameTable(MIN, MAX);

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    private static Found found(int ttlSeconds, String... ips) {
        return new Found(java.util.Arrays.stream(ips).map(NameTableTest::ip).toList(), Duration.ofSeconds(ttlSeconds));
    }

    @Test
    void aFirstAnswerIsAChangeAndTheNameIsAskedAgainWhenItsTtlRunsOut() {
        Decision d = table.onAnswer("web", found(5, "10.0.0.2"));
        assertThat(d).isEqualTo(new Decision(true, false, Duration.ofSeconds(5)));
        assertThat(table.addresses("web")).containsExactly(ip("10.0.0.2"));
        assertThat(table.unresolvedReason("web")).isEmpty();
    }

    @Test
    void theTtlIsHeldWithinTheFloorAndTheCeiling() {
        assertThat(table.onAnswer("a", found(0, "10.0.0.2")).askAgainIn()).isEqualTo(MIN);
        assertThat(table.onAnswer("b", found(86_400, "10.0.0.2")).askAgainIn()).isEqualTo(MAX);
    }

    @Test
    void theSameAddressesInAnotherOrderAreNoChange() {
        table.onAnswer("web", found(5, "10.0.0.3", "10.0.0.2"));
        Decision d = table.onAnswer("web", found(5, "10.0.0.2", "10.0.0.3", "10.0.0.2"));
        assertThat(d.changed()).isFalse();
        assertThat(table.addresses("web")).containsExactly(ip("10.0.0.2"), ip("10.0.0.3"));
    }

    @Test
    void aNewAddressSetIsAChange() {
        table.onAnswer("web", found(5, "10.0.0.2"));
        assertThat(table.onAnswer("web", found(5, "10.0.0.9")).changed()).isTrue();
        assertThat(table.addresses("web")).containsExactly(ip("10.0.0.9"));
    }

    @Test
    void nxdomainEmptiesTheNameWithItsReason() {
        table.onAnswer("web", found(5, "10.0.0.2"));
        Decision d = table.onAnswer("web", new NotFound("NXDOMAIN"));
        assertThat(d.changed()).isTrue();
        assertThat(d.held()).isFalse();
        assertThat(table.addresses("web")).isEmpty();
        assertThat(table.unresolvedReason("web")).contains("NXDOMAIN");
    }

    @Test
    void aTransientFailureKeepsTheLastGoodAddresses() {
        table.onAnswer("web", found(5, "10.0.0.2"));
        Decision d = table.onAnswer("web", new Failed("SERVFAIL from [127.0.0.1:53]"));
        assertThat(d).isEqualTo(new Decision(false, true, MIN));
        assertThat(table.addresses("web")).containsExactly(ip("10.0.0.2"));
        assertThat(table.unresolvedReason("web")).isEmpty();
    }

    @Test
    void aFailureBeforeAnyGoodAnswerLeavesTheNameUnresolvedWithTheFailureAsItsReason() {
        Decision d = table.onAnswer("web", new Failed("no answer within 2000 ms"));
        assertThat(d.changed()).isTrue();
        assertThat(d.held()).isFalse();
        assertThat(table.addresses("web")).isEmpty();
        assertThat(table.unresolvedReason("web")).contains("lookup failed: no answer within 2000 ms");
    }

    @Test
    void failuresAreRetriedFromTheFloorDoublingUpToTheCeiling() {
        List<Duration> waits = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            waits.add(table.onAnswer("web", new NotFound("NXDOMAIN")).askAgainIn());
        }
        assertThat(waits).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4),
                Duration.ofSeconds(8), Duration.ofSeconds(16), MAX, MAX, MAX);
        // A good answer resets the back-off.
        table.onAnswer("web", found(5, "10.0.0.2"));
        assertThat(table.onAnswer("web", new Failed("timeout")).askAgainIn()).isEqualTo(MIN);
    }

    @Test
    void theSameUnresolvedReasonAgainIsNoChangeButANewOneIs() {
        table.onAnswer("web", new NotFound("NXDOMAIN"));
        assertThat(table.onAnswer("web", new NotFound("NXDOMAIN")).changed()).isFalse();
        assertThat(table.onAnswer("web", new Failed("timeout")).changed()).isTrue();
        assertThat(table.unresolvedReason("web")).contains("lookup failed: timeout");
    }

    @Test
    void aNameThatAppearsIsAChangeFromUnresolved() {
        table.onAnswer("web", new NotFound("NXDOMAIN"));
        assertThat(table.onAnswer("web", found(5, "10.0.0.2")).changed()).isTrue();
        assertThat(table.unresolvedReason("web")).isEmpty();
    }

    @Test
    void retainForgetsNamesNoLongerConfigured() {
        table.onAnswer("a", found(5, "10.0.0.2"));
        table.onAnswer("b", found(5, "10.0.0.3"));
        table.retain(List.of("b"));
        assertThat(table.knows("a")).isFalse();
        assertThat(table.addresses("a")).isEmpty();
        assertThat(table.addresses("b")).containsExactly(ip("10.0.0.3"));
    }

    @Test
    void newBoundsApplyFromTheNextAnswer() {
        table.bounds(Duration.ofSeconds(10), Duration.ofSeconds(20));
        assertThat(table.onAnswer("web", found(1, "10.0.0.2")).askAgainIn()).isEqualTo(Duration.ofSeconds(10));
        assertThatThrownBy(() -> table.bounds(Duration.ofSeconds(5), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void anEmptyFoundIsRefused() {
        assertThatThrownBy(() -> new Found(List.of(), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NotFound");
    }
}
