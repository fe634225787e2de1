package io.tandem.core.policy;

import static io.tandem.core.policy.TestBackends.backend;
import static io.tandem.core.policy.TestBackends.client;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.PolicyKind;
import io.tandem.core.pool.Backend;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A retry stays in the drawn group while it has an untried backend, then walks the other groups
 * in order — also those of share 0, so a blackholed zone or a dead primary level costs a retry,
 * never a failed client connection.
 */
class GroupedPolicyRetriesInOtherGroupsTest {

    @Test
    void retriesExhaustTheDrawnGroupThenFallBackInGroupOrder() {
        List<Backend> a = List.of(backend(1, 1), backend(2, 1));
        List<Backend> b = List.of(backend(3, 1));
        List<Backend> backups = List.of(backend(4, 1));
        for (PolicyKind kind : PolicyKind.values()) {
            Policy p = Policies.grouped(kind, List.of(a, b, backups), new int[] {10_000, 0, 0}, 10_000);
            Set<Backend> tried = new HashSet<>();
            Backend first = p.pick(client(7), tried);
            assertThat(a).as(kind.configName()).contains(first);
            tried.add(first);
            Backend second = p.pick(client(7), tried);
            assertThat(a).as(kind.configName()).contains(second);
            tried.add(second);
            assertThat(p.pick(client(7), tried)).as(kind.configName()).isEqualTo(b.getFirst());
            tried.add(b.getFirst());
            assertThat(p.pick(client(7), tried)).as(kind.configName()).isEqualTo(backups.getFirst());
            tried.add(backups.getFirst());
            assertThat(p.pick(client(7), tried)).as(kind.configName()).isNull();
        }
    }
}
