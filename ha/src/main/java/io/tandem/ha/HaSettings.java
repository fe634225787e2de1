package io.tandem.ha;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Everything one HA node needs: who it is, who its peers are, where ZooKeeper is, which VIP
 * addresses the group arbitrates, and the timings of detection and takeover. All nodes of a
 * group share the same VIP list and timings; only {@code nodeId} and {@code listen} differ.
 *
 * <p>Defaults aim at a takeover under 200 ms: heartbeats every 20 ms, a peer silent for 60 ms is
 * suspected, a probe through ZooKeeper unanswered for 60 ms (and no sooner than isolation grace
 * + 2 heartbeat intervals = 100 ms after the link loss) proves it gone. Raise the heartbeat
 * timeout on hosts with long GC or scheduling pauses: a false suspicion costs a probe, and only
 * when ZooKeeper is down too does it cost the VIPs (see docs/ha.md).
 *
 * @param nodeId this node's id, unique in the group
 * @param cluster ZooKeeper namespace of the group ({@code /tandem/<cluster>})
 * @param listen where this node's peer-link listener binds (port 0: any, tests only)
 * @param peers every other node of the group
 * @param vips the VIP addresses arbitrated by the group
 * @param zkConnect ZooKeeper connect string
 * @param zkSessionTimeout requested session timeout (the server may clamp it)
 * @param zkConnectionTimeout Curator connection timeout
 * @param heartbeatInterval how often a node sends a heartbeat to each peer
 * @param heartbeatTimeout silence after which a peer link is considered lost
 * @param probeTimeout how long a suspected peer has to answer a probe through ZooKeeper
 * @param isolationGrace how long a node cut off from ZooKeeper and every peer keeps its VIPs
 * @param claimDelay how long a free address waits for its preferred owner before others claim it
 * @param preempt whether a returning preferred owner gets its addresses back
 * @param preemptDelay how long the preferred owner must be back and healthy before the hand-back
 * @param interfaceName the interface VIP addresses are added to (used by {@link IpAddressManager})
 * @param garpCount gratuitous ARPs per burst
 * @param garpSpacing time between the ARPs of one burst
 * @param garpRepeatAfter a second burst this long after takeover (zero: none)
 * @param addressLifetime zero: addresses stay until removed; otherwise they are added with this
 *        kernel valid lifetime (whole seconds) and renewed every third of it, so the kernel itself
 *        removes the addresses of a process that died or froze (see docs/ha.md)
 */
public record HaSettings(
        String nodeId,
        String cluster,
        HostPort listen,
        List<HaPeer> peers,
        List<HaVip> vips,
        String zkConnect,
        Duration zkSessionTimeout,
        Duration zkConnectionTimeout,
        Duration heartbeatInterval,
        Duration heartbeatTimeout,
        Duration probeTimeout,
        Duration isolationGrace,
        Duration claimDelay,
        boolean preempt,
        Duration preemptDelay,
        String interfaceName,
        int garpCount,
        Duration garpSpacing,
        Duration garpRepeatAfter,
        Duration addressLifetime) {

    public HaSettings {
        requireNonNull(nodeId, "nodeId");
        requireNonNull(cluster, "cluster");
        requireNonNull(listen, "listen");
        peers = List.copyOf(requireNonNull(peers, "peers"));
        vips = List.copyOf(requireNonNull(vips, "vips"));
        requireNonNull(zkConnect, "zkConnect");
        requireNonNull(interfaceName, "interfaceName");
        List<String> errors = new ArrayList<>();
        if (nodeId.isBlank() || nodeId.contains("/")) {
            errors.add("nodeId: \"" + nodeId + "\" (expected a non-blank id without '/')");
        }
        if (cluster.isBlank() || cluster.contains("/")) {
            errors.add("cluster: \"" + cluster + "\" (expected a non-blank name without '/')");
        }
        if (peers.isEmpty()) {
            errors.add("peers: [] (expected at least one peer: HA needs two nodes)");
        }
        Set<String> ids = new HashSet<>();
        ids.add(nodeId);
        for (int i = 0; i < peers.size(); i++) {
            if (!ids.add(peers.get(i).nodeId())) {
                errors.add("peers[" + i + "].nodeId: \"" + peers.get(i).nodeId() + "\" (expected unique node ids)");
            }
        }
        Set<String> addresses = new HashSet<>();
        for (int i = 0; i < vips.size(); i++) {
            HaVip v = vips.get(i);
            if (!addresses.add(v.address())) {
                errors.add("vips[" + i + "].address: \"" + v.address() + "\" (expected each address once)");
            }
            if (!isIpLiteral(v.address())) {
                errors.add("vips[" + i + "].address: \"" + v.address() + "\" (expected an IPv4 or IPv6 literal)");
            }
            if (v.preferredOwner().isPresent() && !ids.contains(v.preferredOwner().get())) {
                errors.add("vips[" + i + "].preferredOwner: \"" + v.preferredOwner().get()
                        + "\" (expected one of " + new TreeSet<>(ids) + ")");
            }
        }
        positive(errors, "zkSessionTimeout", zkSessionTimeout);
        positive(errors, "zkConnectionTimeout", zkConnectionTimeout);
        positive(errors, "heartbeatInterval", heartbeatInterval);
        positive(errors, "heartbeatTimeout", heartbeatTimeout);
        positive(errors, "probeTimeout", probeTimeout);
        positive(errors, "isolationGrace", isolationGrace);
        positive(errors, "claimDelay", claimDelay);
        positive(errors, "preemptDelay", preemptDelay);
        positive(errors, "garpSpacing", garpSpacing);
        requireNonNull(garpRepeatAfter, "garpRepeatAfter");
        if (heartbeatInterval != null && heartbeatTimeout != null
                && heartbeatTimeout.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
            errors.add("heartbeatTimeout: " + heartbeatTimeout.toMillis() + "ms (expected >= 2 x heartbeatInterval = "
                    + heartbeatInterval.multipliedBy(2).toMillis() + "ms)");
        }
        if (!isInterfaceName(interfaceName)) {
            errors.add("interfaceName: \"" + interfaceName + "\" (expected a Linux interface name: 1..15 bytes, not . or"
                    + " .., without '/', ':', whitespace or control characters)");
        }
        if (garpCount < 0 || garpCount > 50) {
            errors.add("garpCount: " + garpCount + " (expected 0..50)");
        }
        if (garpRepeatAfter.isNegative()) {
            errors.add("garpRepeatAfter: " + garpRepeatAfter + " (expected >= 0)");
        }
        requireNonNull(addressLifetime, "addressLifetime");
        if (!addressLifetime.isZero() && (addressLifetime.toMillis() % 1000 != 0
                || addressLifetime.compareTo(Duration.ofSeconds(2)) < 0
                || addressLifetime.compareTo(Duration.ofHours(1)) > 0)) {
            errors.add("addressLifetime: " + addressLifetime.toMillis() + "ms (expected 0, or whole seconds from 2s to 1h:"
                    + " the kernel counts address lifetimes in seconds)");
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("; ", errors));
        }
    }

    /** A builder with the defaults above; {@code listen} port 0 binds any free port. */
    public static Builder builder(String nodeId, String cluster, HostPort listen, String zkConnect) {
        return new Builder(nodeId, cluster, listen, zkConnect);
    }

    /** All node ids of the group, sorted. */
    public List<String> nodeIds() {
        TreeSet<String> ids = new TreeSet<>();
        ids.add(nodeId);
        peers.forEach(p -> ids.add(p.nodeId()));
        return List.copyOf(ids);
    }

    /**
     * The preferred owner of every address: the configured one, otherwise round-robin over the
     * sorted node ids in address order, so every node computes the same spread from the same
     * config.
     */
    public Map<String, String> preferredOwners() {
        List<String> ids = nodeIds();
        List<HaVip> sorted = new ArrayList<>(vips);
        sorted.sort(Comparator.comparing(v -> sortKey(v.address())));
        Map<String, String> out = new LinkedHashMap<>();
        int next = 0;
        for (HaVip v : sorted) {
            if (v.preferredOwner().isPresent()) {
                out.put(v.address(), v.preferredOwner().get());
            } else {
                out.put(v.address(), ids.get(next++ % ids.size()));
            }
        }
        return out;
    }

    private static String sortKey(String address) {
        try {
            byte[] b = InetAddress.ofLiteral(address).getAddress();
            StringBuilder sb = new StringBuilder(b.length == 4 ? "4" : "6");
            for (byte x : b) {
                sb.append(String.format("%02x", x & 0xff));
            }
            return sb.toString();
        } catch (IllegalArgumentException e) {
            return "z" + address;
        }
    }

    private static boolean isIpLiteral(String address) {
        try {
            InetAddress.ofLiteral(address);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The kernel's {@code dev_valid_name}, plus no control characters. The name also becomes a path
     * under {@code /sys/class/net} ({@link GratuitousArp}), so '/' and ".." must never get through.
     * The config loader checks the same (and says so in the user's terms).
     */
    private static boolean isInterfaceName(String name) {
        int bytes = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        return bytes >= 1 && bytes <= 15 && !name.equals(".") && !name.equals("..")
                && name.chars().noneMatch(c -> c == '/' || c == ':' || Character.isWhitespace(c)
                        || Character.isISOControl(c) || Character.isSpaceChar(c));
    }

    private static void positive(List<String> errors, String name, Duration d) {
        requireNonNull(d, name);
        if (d.isZero() || d.isNegative()) {
            errors.add(name + ": " + d + " (expected > 0)");
        }
    }

    /** Fills in defaults; every setter returns {@code this}. */
    public static final class Builder {
        private final String nodeId;
        private final String cluster;
        private final HostPort listen;
        private final String zkConnect;
        private final List<HaPeer> peers = new ArrayList<>();
        private final List<HaVip> vips = new ArrayList<>();
        private Duration zkSessionTimeout = Duration.ofSeconds(10);
        private Duration zkConnectionTimeout = Duration.ofSeconds(3);
        private Duration heartbeatInterval = Duration.ofMillis(20);
        private Duration heartbeatTimeout = Duration.ofMillis(60);
        private Duration probeTimeout = Duration.ofMillis(60);
        private Duration isolationGrace = Duration.ofMillis(60);
        private Duration claimDelay = Duration.ofSeconds(3);
        private boolean preempt;
        private Duration preemptDelay = Duration.ofSeconds(10);
        private String interfaceName = "lo";
        private int garpCount = 5;
        private Duration garpSpacing = Duration.ofMillis(100);
        private Duration garpRepeatAfter = Duration.ofSeconds(5);
        private Duration addressLifetime = Duration.ZERO;

        private Builder(String nodeId, String cluster, HostPort listen, String zkConnect) {
            this.nodeId = nodeId;
            this.cluster = cluster;
            this.listen = listen;
            this.zkConnect = zkConnect;
        }

        public Builder peer(String nodeId, HostPort address) {
            peers.add(HaPeer.of(nodeId, address));
            return this;
        }

        public Builder vip(String address) {
            vips.add(HaVip.of(address));
            return this;
        }

        public Builder vip(String address, String preferredOwner) {
            vips.add(HaVip.of(address, preferredOwner));
            return this;
        }

        public Builder vips(String... addresses) {
            Arrays.stream(addresses).forEach(this::vip);
            return this;
        }

        public Builder zkSession(Duration sessionTimeout, Duration connectionTimeout) {
            this.zkSessionTimeout = sessionTimeout;
            this.zkConnectionTimeout = connectionTimeout;
            return this;
        }

        public Builder heartbeat(Duration interval, Duration timeout) {
            this.heartbeatInterval = interval;
            this.heartbeatTimeout = timeout;
            return this;
        }

        public Builder probeTimeout(Duration probeTimeout) {
            this.probeTimeout = probeTimeout;
            return this;
        }

        public Builder isolationGrace(Duration isolationGrace) {
            this.isolationGrace = isolationGrace;
            return this;
        }

        public Builder claimDelay(Duration claimDelay) {
            this.claimDelay = claimDelay;
            return this;
        }

        public Builder preempt(boolean preempt, Duration preemptDelay) {
            this.preempt = preempt;
            this.preemptDelay = preemptDelay;
            return this;
        }

        public Builder interfaceName(String interfaceName) {
            this.interfaceName = interfaceName;
            return this;
        }

        public Builder garp(int count, Duration spacing, Duration repeatAfter) {
            this.garpCount = count;
            this.garpSpacing = spacing;
            this.garpRepeatAfter = repeatAfter;
            return this;
        }

        public Builder addressLifetime(Duration lifetime) {
            this.addressLifetime = lifetime;
            return this;
        }

        public HaSettings build() {
            return new HaSettings(nodeId, cluster, listen, peers, vips, zkConnect, zkSessionTimeout,
                    zkConnectionTimeout, heartbeatInterval, heartbeatTimeout, probeTimeout, isolationGrace,
                    claimDelay, preempt, preemptDelay, interfaceName, garpCount, garpSpacing, garpRepeatAfter,
                    addressLifetime);
        }
    }
}
