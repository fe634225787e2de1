package io.tandem.config;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * How the HA group makes its VIP addresses reachable ({@code ha.announce}, docs/ha.md "Routed VIPs
 * (BGP)"). {@link Mode#ARP}, the default: the owner adds the address to {@code ha.interface} and
 * sends gratuitous ARP, which reaches one layer-2 segment. {@link Mode#BGP}: the owner adds the
 * /32 (/128) to {@code ha.interface} (a loopback, typically) and a BIRD 2 process that this node
 * supervises announces it to {@link #neighbors} over BGP, with BFD; with {@link #anycast} every
 * healthy node announces every address at once and the router spreads flows by ECMP.
 *
 * @param routerId the BGP router id; empty = this node's peer-link address ({@code ha.listen}) when it is IPv4
 * @param bfd BFD timing towards every neighbor, empty = no BFD
 * @param runDir where the generated {@code bird.conf}, the control socket and BIRD's log live;
 *               empty = {@code /run/tandem/bird-<cluster>-<node_id>}
 * @param withdrawWithoutBackends withdraw an address's route while no VIP on it has an eligible
 *               backend ({@code withdraw_without_backends}; default: the value of {@link #anycast})
 * @param backendHoldDown after such a withdrawal, how long a backend must stay eligible before the
 *               address is announced again ({@code backend_hold_down})
 */
public record AnnounceSettings(Mode mode, boolean anycast, long localAs, Optional<String> routerId,
                               List<Neighbor> neighbors, Optional<Bfd> bfd, Duration holdTime, Path bird,
                               Path birdc, Optional<Path> runDir, boolean withdrawWithoutBackends,
                               Duration backendHoldDown) {
    /** The default {@link #backendHoldDown}. */
    public static final Duration BACKEND_HOLD_DOWN = Duration.ofSeconds(2);
    /** ARP, the behaviour of every config without {@code ha.announce}. */
    public static final AnnounceSettings ARP = new AnnounceSettings(Mode.ARP, false, 0, Optional.empty(), List.of(),
            Optional.empty(), Duration.ofSeconds(3), Path.of("/usr/sbin/bird"), Path.of("/usr/sbin/birdc"),
            Optional.empty());

    public AnnounceSettings {
        requireNonNull(mode, "mode");
        requireNonNull(routerId, "routerId");
        neighbors = List.copyOf(requireNonNull(neighbors, "neighbors"));
        requireNonNull(bfd, "bfd");
        requireNonNull(holdTime, "holdTime");
        requireNonNull(bird, "bird");
        requireNonNull(birdc, "birdc");
        requireNonNull(runDir, "runDir");
        requireNonNull(backendHoldDown, "backendHoldDown");
    }

    /** The settings before {@code withdraw_without_backends}: its default (on with anycast) and the default hold-down. */
    public AnnounceSettings(Mode mode, boolean anycast, long localAs, Optional<String> routerId, List<Neighbor> neighbors,
                            Optional<Bfd> bfd, Duration holdTime, Path bird, Path birdc, Optional<Path> runDir) {
        this(mode, anycast, localAs, routerId, neighbors, bfd, holdTime, bird, birdc, runDir, anycast,
                BACKEND_HOLD_DOWN);
    }

    /** How addresses are made reachable. */
    public enum Mode {
        ARP, BGP
    }

    /** A BGP neighbor (the router, or a route reflector): its address and AS number. */
    public record Neighbor(String address, long as) {
        public Neighbor {
            requireNonNull(address, "address");
        }
    }

    /** BFD timing asked of the neighbor: {@code interval} (tx and rx) × {@code multiplier} = detection time. */
    public record Bfd(Duration interval, int multiplier) {
        public Bfd {
            requireNonNull(interval, "interval");
        }
    }

    public boolean bgp() {
        return mode == Mode.BGP;
    }
}
