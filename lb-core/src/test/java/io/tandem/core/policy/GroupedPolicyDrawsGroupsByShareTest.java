package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
import static io.tandem.core.policy.TestBackends.client;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** A grouped policy sends each group its share of new connections, and nothing to a group of share 0. */
class GroupedPolicyDrawsGroupsByShareTest {
    private static final int PICKS = 100_000;

    @Test
    void seventyThirtySharesGiveAboutSeventyThirtyPicks() {
        List<Backend> a = List.of(backend(1, 1), backend(2, 1));
        List<Backend> b = List.of(backend(3, 1), backend(4, 1));
        Policy p = Policies.grouped(PolicyKind.ROUND_ROBIN, List.of(a, b), new int[] {7000, 3000}, 10_000);
        int inA = 0;
        for (int i = 0; i < PICKS; i++) {
            if (a.contains(p.pick(null, Set.of()))) {
                inA++;
            }
        }
        assertThat(inA / (double) PICKS).isBetween(0.68, 0.72);
    }

    @Test
    void aGroupOfShareZeroGetsNoFirstPick() {
        List<Backend> a = List.of(backend(1, 1));
        List<Backend> b = List.of(backend(2, 1), backend(3, 1));
        for (PolicyKind kind : PolicyKind.values()) {
            Policy p = Policies.grouped(kind, List.of(a, b), new int[] {10_000, 0}, 10_000);
            for (int i = 0; i < 10_000; i++) {
                assertThat(p.pick(client(i), Set.of())).as(kind.configName()).isEqualTo(a.getFirst());
            }
        }
    }

    @Test
    void hashingPoliciesDrawTheGroupFromTheClientSoAClientStaysInItsGroup() {
        List<Backend> a = List.of(backend(1, 1), backend(2, 1));
        List<Backend> b = List.of(backend(3, 1), backend(4, 1));
        Policy p = Policies.grouped(PolicyKind.MAGLEV, List.of(a, b), new int[] {5000, 5000}, 10_000);
        assertThat(p.usesClientAddress()).isTrue();
        int inA = 0;
        for (int i = 0; i < 20_000; i++) {
            Backend first = p.pick(client(i), Set.of());
            assertThat(p.pick(client(i), Set.of())).isSameAs(first);
            if (a.contains(first)) {
                inA++;
            }
        }
        assertThat(inA / 20_000.0).isBetween(0.47, 0.53);
    }

    @Test
    void oneGroupWithTheWholeShareIsJustThatGroupsPolicy() {
        Policy p = Policies.grouped(PolicyKind.MAGLEV, List.of(List.of(backend(1, 1))), new int[] {10_000}, 10_000);
        assertThat(p).isInstanceOf(MaglevPolicy.class);
        assertThat(Policies.grouped(PolicyKind.ROUND_ROBIN, List.of(), new int[0], 10_000).pick(null, Set.of()))
                .isNull();
    }
}
