package io.tandem.core.pool;

import static java.util.Objects.requireNonNull;

import io.tandem.config.Locality;
import io.tandem.config.VipLocality;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Which backends of a VIP take which share of its new connections, by priority level and fault
 * domain. Pure functions of the backends' placement and health (no clock, no I/O), run by the
 * control loop when it builds a pool snapshot; the data path only draws a number against the
 * prebuilt shares ({@link io.tandem.core.policy.Policies#grouped}).
 *
 * <p><b>Priority levels</b> (Envoy priority load). Level {@code p} is healthy to
 * {@code h_p = min(1, overprovisioning × healthy_p / total_p)}; level 0 takes {@code h_0} of the
 * traffic, level 1 {@code min(h_1, 1 - load_0)}, and so on; when the levels' health sums to less
 * than 1 the loads are scaled up to 1. With the factor 1.4, level 0 keeps all of its traffic
 * until fewer than 1/1.4 ≈ 71.4 % of its backends are healthy. HAProxy's {@code backup} servers
 * are level 1 with their primaries at level 0 (HAProxy waits for every primary to be down; the
 * overprovisioning factor starts the spill earlier, gradually).
 *
 * <p><b>Regions.</b> Within a level, backends in the node's region take the level's traffic as
 * long as one of them is healthy; backends in other regions are used only when none is (and
 * remain a retry fallback otherwise).
 *
 * <p><b>Zones</b> (Envoy zone-aware routing, opt-in per VIP). Let {@code local[z]} be the share of
 * load-balancer nodes in zone {@code z} ({@code locality.node_zones}, else an even spread over the
 * zones where the level has backends) and {@code upstream[z]} the share of the level's healthy
 * backends in {@code z}. If {@code upstream[mine] >= local[mine]}, everything stays in the node's
 * zone. Otherwise the node's zone takes {@code upstream[mine] / local[mine]} of the level's
 * traffic, and the residual goes to the other zones in proportion to their spare share
 * {@code max(0, upstream[z] - local[z])}. Needs a known node zone and at least
 * {@code min_cluster_size} backends in the level; otherwise the level is one group.
 *
 * <p>Shares are in basis points ({@link #SCALE} = 100 %). Every healthy backend lands in exactly
 * one group; groups with share 0 are kept as the fallback a retry walks to (a connect that
 * failed in zone A is retried in zone B, a failed primary on a backup).
 */
public final class LocalityRouting {
    /** 100 % in basis points. */
    public static final int SCALE = 10_000;

    private LocalityRouting() {
    }

    /**
     * One group of backends picked from together.
     *
     * @param priority the priority level
     * @param locality the group's region and zone (rack ignored); {@link Locality#UNKNOWN} when the
     *                 level is not split by zone
     * @param local    whether the group is in the node's zone
     * @param backends the healthy backends of the group, input order kept
     * @param share    basis points of new connections drawn to this group (0 = retry fallback only)
     */
    public record Group(int priority, Locality locality, boolean local, List<Backend> backends, int share) {
        public Group {
            requireNonNull(locality, "locality");
            backends = List.copyOf(requireNonNull(backends, "backends"));
        }
    }

    /**
     * The split of one snapshot.
     *
     * @param groups     in retry order: level, then the node's zone, then by share, then other regions
     * @param localShare basis points of new connections planned for the node's zone; -1 when the
     *                   node's zone is unknown
     * @param node       the node's locality the plan was made for (metrics tell local traffic by it)
     */
    public record Plan(List<Group> groups, int localShare, Locality node) {
        /** No split: one group of everything (or nothing). */
        public static final Plan NONE = new Plan(List.of(), -1, Locality.UNKNOWN);

        public Plan {
            groups = List.copyOf(requireNonNull(groups, "groups"));
            requireNonNull(node, "node");
        }

        /** Whether the split is needed at all: more than one group (one group is a plain policy). */
        public boolean split() {
            return groups.size() > 1;
        }
    }

    /**
     * Plans a snapshot.
     *
     * @param healthy   the backends the pool routes to (eligible ones, or those awaiting their first
     *                  check while warming), with their snapshot weights
     * @param known     every backend that counts in a level's total (not drained, disabled or
     *                  unresolved), healthy ones included
     * @param node      this node's locality
     * @param settings  the VIP's zone-aware switch, minimum size and overprovisioning factor
     * @param nodeZones load-balancer nodes per zone; empty = an even spread
     */
    public static Plan plan(List<Backend> healthy, List<Backend> known, Locality node, VipLocality settings,
                            Map<String, Integer> nodeZones) {
        requireNonNull(healthy, "healthy");
        requireNonNull(known, "known");
        requireNonNull(node, "node");
        requireNonNull(settings, "settings");
        requireNonNull(nodeZones, "nodeZones");
        TreeSet<Integer> levels = new TreeSet<>();
        known.forEach(b -> levels.add(b.priority()));
        healthy.forEach(b -> levels.add(b.priority()));
        int[] healthyCount = new int[levels.isEmpty() ? 0 : levels.last() + 1];
        int[] totalCount = new int[healthyCount.length];
        healthy.forEach(b -> healthyCount[b.priority()]++);
        known.forEach(b -> totalCount[b.priority()]++);
        for (int p = 0; p < totalCount.length; p++) {
            totalCount[p] = Math.max(totalCount[p], healthyCount[p]);
        }
        int[] load = priorityLoad(healthyCount, totalCount, settings.overprovisioningFactor());
        List<Group> groups = new ArrayList<>();
        for (int p : levels) {
            if (healthyCount[p] == 0) {
                continue;
            }
            List<Backend> inLevel = healthy.stream().filter(b -> b.priority() == p).toList();
            List<Backend> knownInLevel = known.stream().filter(b -> b.priority() == p).toList();
            List<Backend> inRegion = inLevel.stream().filter(b -> b.locality().sameRegion(node)).toList();
            List<Backend> away = inRegion.isEmpty() ? List.of()
                    : inLevel.stream().filter(b -> !b.locality().sameRegion(node)).toList();
            List<Backend> serving = inRegion.isEmpty() ? inLevel : inRegion;
            boolean zoned = settings.zoneAware() && node.zone().isPresent()
                    && knownInLevel.size() >= settings.minClusterSize();
            if (zoned) {
                List<Backend> knownServing = knownInLevel.stream()
                        .filter(b -> inRegion.isEmpty() || b.locality().sameRegion(node)).toList();
                groups.addAll(zoneGroups(p, serving, knownServing, node, nodeZones, load[p]));
            } else {
                groups.add(new Group(p, Locality.UNKNOWN, false, serving, load[p]));
            }
            if (!away.isEmpty()) {
                groups.add(new Group(p, Locality.UNKNOWN, false, away, 0));
            }
        }
        fixRounding(groups);
        int local = -1;
        if (node.zone().isPresent()) {
            local = 0;
            for (Group g : groups) {
                if (g.local()) {
                    local += g.share();
                } else if (g.locality().equals(Locality.UNKNOWN)) {
                    // an unsplit level: its local backends' count share of it, for the gauge
                    long mine = g.backends().stream().filter(b -> b.locality().sameZone(node)).count();
                    local += (int) (g.share() * mine / Math.max(1, g.backends().size()));
                }
            }
        }
        return new Plan(groups, local, node);
    }

    /**
     * Envoy's priority load in basis points: {@code healthy[p]} of {@code total[p]} backends healthy
     * at level {@code p}. All zero when nothing is healthy.
     */
    static int[] priorityLoad(int[] healthy, int[] total, double overprovisioning) {
        int n = healthy.length;
        int[] health = new int[n];
        long sum = 0;
        // In integers (the factor in percent, as Envoy configures it): 1.4 × 71 % in doubles is
        // 99.39999..., which would floor to one basis point less than Envoy's 99.4 %.
        long factorPercent = Math.round(overprovisioning * 100);
        for (int p = 0; p < n; p++) {
            health[p] = total[p] == 0 ? 0
                    : (int) Math.min(SCALE, factorPercent * healthy[p] * SCALE / (100L * total[p]));
            sum += health[p];
        }
        int[] load = new int[n];
        if (sum == 0) {
            return load;
        }
        if (sum < SCALE) {
            // Not enough healthy capacity anywhere: every level takes load in proportion to its health.
            int given = 0;
            for (int p = 0; p < n; p++) {
                load[p] = (int) (health[p] * (long) SCALE / sum);
                given += load[p];
            }
            for (int p = 0; p < n && given < SCALE; p++) {
                if (health[p] > 0) {
                    load[p] += SCALE - given;
                    given = SCALE;
                }
            }
            return load;
        }
        int remaining = SCALE;
        for (int p = 0; p < n; p++) {
            load[p] = Math.min(remaining, health[p]);
            remaining -= load[p];
        }
        return load;
    }

    /**
     * Envoy's zone split in basis points of a level's traffic, keyed by zone ({@code ""} for
     * backends of unknown zone).
     *
     * @param localZone      the node's zone
     * @param healthyPerZone healthy backends per zone
     * @param nodesPerZone   load-balancer nodes per zone
     */
    static Map<String, Integer> zoneSplit(String localZone, Map<String, Integer> healthyPerZone,
                                          Map<String, Integer> nodesPerZone) {
        Map<String, Integer> out = new LinkedHashMap<>();
        healthyPerZone.keySet().forEach(z -> out.put(z, 0));
        double healthyTotal = healthyPerZone.values().stream().mapToInt(Integer::intValue).sum();
        double nodeTotal = nodesPerZone.values().stream().mapToInt(Integer::intValue).sum();
        if (healthyTotal == 0) {
            return out;
        }
        double upstreamLocal = healthyPerZone.getOrDefault(localZone, 0) / healthyTotal;
        double nodeLocal = nodeTotal == 0 ? 0 : nodesPerZone.getOrDefault(localZone, 0) / nodeTotal;
        if (upstreamLocal > 0 && upstreamLocal >= nodeLocal) {
            out.put(localZone, SCALE);
            return out;
        }
        int localShare = nodeLocal == 0 ? 0 : (int) Math.floor(SCALE * upstreamLocal / nodeLocal);
        Map<String, Double> residual = new LinkedHashMap<>();
        double residualTotal = 0;
        for (var e : healthyPerZone.entrySet()) {
            if (e.getKey().equals(localZone) || e.getValue() == 0) {
                continue;
            }
            double r = Math.max(0, e.getValue() / healthyTotal
                    - (nodeTotal == 0 ? 0 : nodesPerZone.getOrDefault(e.getKey(), 0) / nodeTotal));
            residual.put(e.getKey(), r);
            residualTotal += r;
        }
        if (residualTotal == 0) {
            // No zone has spare share by the node spread (an odd node_zones): spill by healthy count.
            for (var e : healthyPerZone.entrySet()) {
                if (!e.getKey().equals(localZone) && e.getValue() > 0) {
                    residual.put(e.getKey(), (double) e.getValue());
                    residualTotal += e.getValue();
                }
            }
        }
        if (residualTotal == 0) {
            out.put(localZone, SCALE);   // only the local zone has healthy backends
            return out;
        }
        if (healthyPerZone.getOrDefault(localZone, 0) > 0) {
            out.put(localZone, localShare);
        }
        int spill = SCALE - (healthyPerZone.getOrDefault(localZone, 0) > 0 ? localShare : 0);
        int given = 0;
        String largest = null;
        for (var e : residual.entrySet()) {
            int s = (int) Math.floor(spill * e.getValue() / residualTotal);
            out.put(e.getKey(), s);
            given += s;
            if (largest == null || e.getValue() > residual.get(largest)) {
                largest = e.getKey();
            }
        }
        if (largest != null) {
            out.merge(largest, spill - given, Integer::sum);
        }
        return out;
    }

    private static List<Group> zoneGroups(int priority, List<Backend> serving, List<Backend> knownServing,
                                          Locality node, Map<String, Integer> nodeZones, int levelLoad) {
        Map<String, List<Backend>> byZone = new LinkedHashMap<>();
        Map<String, Locality> zoneLocality = new LinkedHashMap<>();
        for (Backend b : serving) {
            String z = b.locality().zone().orElse("");
            byZone.computeIfAbsent(z, k -> new ArrayList<>()).add(b);
            zoneLocality.putIfAbsent(z, new Locality(b.locality().region().or(node::region), b.locality().zone(),
                    Optional.empty()));
        }
        Map<String, Integer> healthyPerZone = new LinkedHashMap<>();
        byZone.forEach((z, list) -> healthyPerZone.put(z, list.size()));
        Map<String, Integer> nodes = new LinkedHashMap<>();
        if (nodeZones.isEmpty()) {
            // An even spread over the zones the level spans (unhealthy backends' zones too: nodes
            // do not leave a zone because its backends fail), the node's own included.
            knownServing.forEach(b -> nodes.put(b.locality().zone().orElse(""), 1));
            nodes.put(node.zone().orElseThrow(), 1);
        } else {
            nodes.putAll(nodeZones);
            nodes.putIfAbsent(node.zone().orElseThrow(), 1);
        }
        String mine = node.zone().orElseThrow();
        Map<String, Integer> split = zoneSplit(mine, healthyPerZone, nodes);
        List<Group> groups = new ArrayList<>();
        for (var e : byZone.entrySet()) {
            int share = (int) ((long) split.getOrDefault(e.getKey(), 0) * levelLoad / SCALE);
            boolean local = e.getKey().equals(mine);
            groups.add(new Group(priority, zoneLocality.get(e.getKey()), local, e.getValue(), share));
        }
        groups.sort(Comparator.comparing((Group g) -> !g.local()).thenComparing(Comparator.comparingInt(Group::share)
                .reversed()));
        return groups;
    }

    /** Makes the shares add up to exactly {@link #SCALE} (integer division loses a few points). */
    private static void fixRounding(List<Group> groups) {
        int sum = groups.stream().mapToInt(Group::share).sum();
        if (groups.isEmpty() || sum == SCALE) {
            return;
        }
        int best = 0;
        for (int i = 1; i < groups.size(); i++) {
            if (groups.get(i).share() > groups.get(best).share()) {
                best = i;
            }
        }
        Group g = groups.get(best);
        groups.set(best, new Group(g.priority(), g.locality(), g.local(), g.backends(), g.share() + SCALE - sum));
    }
}
