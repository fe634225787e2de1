package io.tandem.core.pool;

import static io.tandem.core.pool.LocalityRouting.SCALE;
import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.config.HostPort;
import io.tandem.config.Locality;
import io.tandem.config.VipLocality;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The split by priority level, region and zone, as pure functions (no sockets, no clock). */
class LocalityRoutingTest {
    private static final Locality NODE_A = Locality.of("eu", "eu-a");
    private static final VipLocality ZONE_AWARE = new VipLocality(true, 1, 1.4);
    private static final VipLocality PLAIN = VipLocality.DEFAULTS;
    private static int next = 1;

    private static Backend backend(String region, String zone, int priority) {
        String ip = "127.0." + (next / 250) + "." + (next++ % 250 + 1);
        return Backend.of(HostPort.of(ip, 80), new InetSocketAddress(InetAddress.ofLiteral(ip), 80), 1,
                Locality.of(region, zone), priority);
    }

    private static List<Backend> backends(int n, String region, String zone, int priority) {
        List<Backend> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(backend(region, zone, priority));
        }
        return out;
    }

    private static Map<String, Integer> map(Object... kv) {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], (Integer) kv[i + 1]);
        }
        return m;
    }

    // ------------------------------------------------------------------ priority load (Envoy's table)

    @Test
    void aLevelKeepsAllItsTrafficUntilItsHealthTimesTheFactorDropsBelowOne() {
        double f = 1.4;
        assertThat(LocalityRouting.priorityLoad(new int[] {100, 100}, new int[] {100, 100}, f)).containsExactly(SCALE, 0);
        assertThat(LocalityRouting.priorityLoad(new int[] {72, 100}, new int[] {100, 100}, f)).containsExactly(SCALE, 0);
        assertThat(LocalityRouting.priorityLoad(new int[] {71, 100}, new int[] {100, 100}, f)).containsExactly(9940, 60);
        assertThat(LocalityRouting.priorityLoad(new int[] {50, 100}, new int[] {100, 100}, f)).containsExactly(7000, 3000);
        assertThat(LocalityRouting.priorityLoad(new int[] {25, 100}, new int[] {100, 100}, f)).containsExactly(3500, 6500);
    }

    @Test
    void whenAllLevelsTogetherLackCapacityTheirLoadsAreScaledUp() {
        // 25 % + 25 % healthy: 35 % + 35 % health, normalised to 50/50 (Envoy's example).
        assertThat(LocalityRouting.priorityLoad(new int[] {25, 25}, new int[] {100, 100}, 1.4))
                .containsExactly(5000, 5000);
        assertThat(LocalityRouting.priorityLoad(new int[] {0, 10}, new int[] {100, 100}, 1.4))
                .containsExactly(0, SCALE);
        assertThat(LocalityRouting.priorityLoad(new int[] {0, 0}, new int[] {3, 3}, 1.4)).containsExactly(0, 0);
    }

    @Test
    void haproxyBackupIsLevelOneUsedWhenThePrimariesAreGone() {
        assertThat(LocalityRouting.priorityLoad(new int[] {0, 1}, new int[] {2, 1}, 1.4)).containsExactly(0, SCALE);
        assertThat(LocalityRouting.priorityLoad(new int[] {2, 1}, new int[] {2, 1}, 1.4)).containsExactly(SCALE, 0);
    }

    // ------------------------------------------------------------------ zone split (Envoy's algorithm)

    @Test
    void withAsManyHealthyBackendsPerZoneAsNodesEverythingStaysLocal() {
        assertThat(LocalityRouting.zoneSplit("a", map("a", 2, "b", 2), map("a", 1, "b", 1)))
                .isEqualTo(map("a", SCALE, "b", 0));
    }

    @Test
    void aZoneShortOfItsShareRoutesTheLocalShareLocallyAndSpillsTheResidual() {
        // upstream a = 1/3, local a = 1/2: 2/3 stays local, the rest goes to b.
        assertThat(LocalityRouting.zoneSplit("a", map("a", 1, "b", 2), map("a", 1, "b", 1)))
                .isEqualTo(map("a", 6666, "b", 3334));
        // Three zones, a lost one of two: a keeps 0.2 / (1/3) = 60 %, b and c share the spill equally.
        assertThat(LocalityRouting.zoneSplit("a", map("a", 1, "b", 2, "c", 2), map("a", 1, "b", 1, "c", 1)))
                .isEqualTo(map("a", 6000, "b", 2000, "c", 2000));
    }

    @Test
    void theSpillGoesToZonesInProportionToTheirSpareShare() {
        // upstream: a 1/8, b 4/8, c 3/8; nodes 1/3 each: residual b = 0.5-0.333, c = 0.375-0.333.
        Map<String, Integer> split = LocalityRouting.zoneSplit("a", map("a", 1, "b", 4, "c", 3),
                map("a", 1, "b", 1, "c", 1));
        assertThat(split.get("a")).isEqualTo(3750);
        assertThat(split.get("b") + split.get("c")).isEqualTo(SCALE - 3750);
        assertThat(split.get("b")).isBetween(5000, 5010);   // 6250 × 0.1667 / 0.2083 = 5000
    }

    @Test
    void aZoneWithNothingHealthySpillsEverything() {
        assertThat(LocalityRouting.zoneSplit("a", map("b", 2), map("a", 1, "b", 1))).isEqualTo(map("b", SCALE));
    }

    @Test
    void moreNodesInTheLocalZoneThanItsBackendsCarrySpillsEvenWithEveryBackendHealthy() {
        // node_zones {a: 3, b: 1}: a's nodes are 75 % of the traffic but a has 50 % of the backends.
        assertThat(LocalityRouting.zoneSplit("a", map("a", 2, "b", 2), map("a", 3, "b", 1)))
                .isEqualTo(map("a", 6666, "b", 3334));
    }

    // ------------------------------------------------------------------ plans

    @Test
    void zoneAwarePlanSendsEverythingToTheNodesZoneWhileItHasCapacity() {
        List<Backend> a = backends(2, "eu", "eu-a", 0);
        List<Backend> b = backends(2, "eu", "eu-b", 0);
        List<Backend> all = concat(a, b);
        LocalityRouting.Plan plan = LocalityRouting.plan(all, all, NODE_A, ZONE_AWARE, Map.of());
        assertThat(plan.localShare()).isEqualTo(SCALE);
        assertThat(plan.groups()).extracting(LocalityRouting.Group::share).containsExactly(SCALE, 0);
        assertThat(plan.groups().getFirst().backends()).containsExactlyElementsOf(a);
        assertThat(plan.groups().getFirst().local()).isTrue();
        assertThat(plan.groups().get(1).backends()).as("zone b stays as the retry fallback").containsExactlyElementsOf(b);
    }

    @Test
    void zoneAwarePlanSpillsWhenTheLocalZoneLosesBackendsAndLeavesItWhenItHasNone() {
        List<Backend> a = backends(2, "eu", "eu-a", 0);
        List<Backend> b = backends(2, "eu", "eu-b", 0);
        List<Backend> all = concat(a, b);
        LocalityRouting.Plan half = LocalityRouting.plan(concat(a.subList(0, 1), b), all, NODE_A, ZONE_AWARE, Map.of());
        assertThat(half.localShare()).isEqualTo(6666);
        assertThat(half.groups()).extracting(LocalityRouting.Group::share).containsExactly(6666, 3334);
        LocalityRouting.Plan none = LocalityRouting.plan(b, all, NODE_A, ZONE_AWARE, Map.of());
        assertThat(none.localShare()).isZero();
        assertThat(none.groups()).extracting(LocalityRouting.Group::share).containsExactly(SCALE);
    }

    @Test
    void belowMinClusterSizeOrWithoutANodeZoneTheLevelIsOneGroup() {
        List<Backend> all = concat(backends(2, "eu", "eu-a", 0), backends(2, "eu", "eu-b", 0));
        LocalityRouting.Plan small = LocalityRouting.plan(all, all, NODE_A, new VipLocality(true, 6, 1.4), Map.of());
        assertThat(small.split()).isFalse();
        assertThat(small.localShare()).as("half the backends are local").isEqualTo(5000);
        LocalityRouting.Plan noZone = LocalityRouting.plan(all, all, Locality.of("eu", null), ZONE_AWARE, Map.of());
        assertThat(noZone.split()).isFalse();
        assertThat(noZone.localShare()).isEqualTo(-1);
        LocalityRouting.Plan off = LocalityRouting.plan(all, all, NODE_A, PLAIN, Map.of());
        assertThat(off.split()).isFalse();
    }

    @Test
    void otherRegionsServeOnlyWhenTheNodesRegionHasNoHealthyBackend() {
        List<Backend> eu = backends(2, "eu", "eu-b", 0);
        List<Backend> us = backends(3, "us", "us-a", 0);
        List<Backend> all = concat(eu, us);
        LocalityRouting.Plan plan = LocalityRouting.plan(all, all, NODE_A, PLAIN, Map.of());
        assertThat(plan.groups()).extracting(LocalityRouting.Group::share).containsExactly(SCALE, 0);
        assertThat(plan.groups().getFirst().backends()).containsExactlyElementsOf(eu);
        assertThat(plan.groups().get(1).backends()).containsExactlyElementsOf(us);
        LocalityRouting.Plan euDown = LocalityRouting.plan(us, all, NODE_A, ZONE_AWARE, Map.of());
        assertThat(euDown.groups()).extracting(LocalityRouting.Group::share).containsExactly(SCALE);
        assertThat(euDown.groups().getFirst().backends()).containsExactlyElementsOf(us);
    }

    @Test
    void backupsTakeTrafficOnlyAsThePrimariesLoseHealthyCapacity() {
        List<Backend> primaries = backends(3, null, null, 0);
        List<Backend> backups = backends(2, null, null, 1);
        List<Backend> all = concat(primaries, backups);
        LocalityRouting.Plan healthy = LocalityRouting.plan(all, all, Locality.UNKNOWN, PLAIN, Map.of());
        assertThat(healthy.groups()).extracting(LocalityRouting.Group::priority, LocalityRouting.Group::share)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0, SCALE), org.assertj.core.groups.Tuple.tuple(1, 0));
        LocalityRouting.Plan oneDown = LocalityRouting.plan(concat(primaries.subList(0, 2), backups), all,
                Locality.UNKNOWN, PLAIN, Map.of());
        // 2/3 × 1.4 = 93.33 %: primaries keep 9333 basis points, backups get the rest.
        assertThat(oneDown.groups()).extracting(LocalityRouting.Group::share).containsExactly(9333, 667);
        LocalityRouting.Plan allDown = LocalityRouting.plan(backups, all, Locality.UNKNOWN, PLAIN, Map.of());
        assertThat(allDown.groups()).extracting(LocalityRouting.Group::priority).containsExactly(1);
        assertThat(allDown.groups()).extracting(LocalityRouting.Group::share).containsExactly(SCALE);
    }

    @Test
    void everyHealthyBackendIsInExactlyOneGroupAndTheSharesSumToOneHundredPercent() {
        List<Backend> healthy = concat(concat(backends(3, "eu", "eu-a", 0), backends(5, "eu", "eu-b", 0)),
                concat(backends(1, "eu", "eu-c", 0), concat(backends(2, "us", "us-a", 0), backends(2, "eu", "eu-a", 1))));
        LocalityRouting.Plan plan = LocalityRouting.plan(healthy, healthy, NODE_A, ZONE_AWARE,
                map("eu-a", 2, "eu-b", 1, "eu-c", 1));
        assertThat(plan.groups().stream().mapToInt(LocalityRouting.Group::share).sum()).isEqualTo(SCALE);
        assertThat(plan.groups().stream().flatMap(g -> g.backends().stream()).toList())
                .containsExactlyInAnyOrderElementsOf(healthy);
    }

    private static List<Backend> concat(List<Backend> a, List<Backend> b) {
        List<Backend> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
