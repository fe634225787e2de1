package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
import static io.tandem.core.policy.TestBackends.client;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Maglev over zones keeps one table per zone: a change in another zone (a spill share, a backend
 * lost there) never moves a client that stays in its zone. One table over every backend would
 * move some of them (minimal disruption is not zero disruption).
 */
class MaglevPerZoneTablesKeepAffinityAcrossASpillTest {
    private static final int CLIENTS = 50_000;

    private static final List<Backend> A = List.of(backend(1, 1), backend(2, 1), backend(3, 1));
    private static final List<Backend> B = List.of(backend(11, 1), backend(12, 1), backend(13, 1));

    @Test
    void aSpillToZoneBMovesOnlyTheClientsDrawnToB() {
        Policy local = Policies.grouped(PolicyKind.MAGLEV, List.of(A, B), new int[] {10_000, 0}, 10_000);
        Policy spill = Policies.grouped(PolicyKind.MAGLEV, List.of(A, B), new int[] {6_000, 4_000}, 10_000);
        int stayed = 0;
        for (int i = 0; i < CLIENTS; i++) {
            Backend before = local.pick(client(i), Set.of());
            Backend after = spill.pick(client(i), Set.of());
            assertThat(A).contains(before);
            if (A.contains(after)) {
                assertThat(after).as("client %d stays in zone A and keeps its backend", i).isSameAs(before);
                stayed++;
            }
        }
        assertThat(stayed / (double) CLIENTS).isBetween(0.57, 0.63);
    }

    @Test
    void losingABackendInZoneBMovesNoClientOfZoneA() {
        List<Backend> bLess = B.subList(0, 2);
        Policy before = Policies.grouped(PolicyKind.MAGLEV, List.of(A, B), new int[] {5_000, 5_000}, 10_000);
        Policy after = Policies.grouped(PolicyKind.MAGLEV, List.of(A, bLess), new int[] {5_000, 5_000}, 10_000);
        int movedInA = 0;
        int movedInB = 0;
        for (int i = 0; i < CLIENTS; i++) {
            Backend was = before.pick(client(i), Set.of());
            Backend now = after.pick(client(i), Set.of());
            if (A.contains(was) && was != now) {
                movedInA++;
            }
            if (B.contains(was) && was != now) {
                movedInB++;
            }
        }
        assertThat(movedInA).isZero();
        assertThat(movedInB).as("only zone B's clients of the lost backend move").isPositive();
        // For contrast: one table over both zones moves some clients of zone A too.
        List<Backend> all = new ArrayList<>(A);
        all.addAll(B);
        List<Backend> allLess = new ArrayList<>(A);
        allLess.addAll(bLess);
        Policy oneBefore = Policies.create(PolicyKind.MAGLEV, all);
        Policy oneAfter = Policies.create(PolicyKind.MAGLEV, allLess);
        int oneMovedInA = 0;
        for (int i = 0; i < CLIENTS; i++) {
            Backend was = oneBefore.pick(client(i), Set.of());
            if (A.contains(was) && was != oneAfter.pick(client(i), Set.of())) {
                oneMovedInA++;
            }
        }
        assertThat(oneMovedInA).isPositive();
    }
}
