package io.tandem.core.control;

import static java.util.Objects.requireNonNull;

import io.tandem.core.udp.UdpStats;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A VIP's bound listener of either protocol, as the {@link Reconciler} holds it: where it
 * listens, how to stop it (the control loop does, off its thread), and a UDP listener's counters
 * (registered when the VIP is adopted, not when it is bound: a rejected reload's listener must
 * not take over a running VIP's meters).
 */
record BoundListener(InetSocketAddress localAddress, Supplier<CompletableFuture<Void>> closer,
                     Optional<UdpStats> udpStats, Supplier<CompletableFuture<Integer>> sessionsEnder) {
    BoundListener {
        requireNonNull(localAddress, "localAddress");
        requireNonNull(closer, "closer");
        requireNonNull(udpStats, "udpStats");
        requireNonNull(sessionsEnder, "sessionsEnder");
    }

    /** A listener without sessions to end (TCP: its connections are the VIP's, cut one by one). */
    BoundListener(InetSocketAddress localAddress, Supplier<CompletableFuture<Void>> closer,
                  Optional<UdpStats> udpStats) {
        this(localAddress, closer, udpStats, () -> CompletableFuture.completedFuture(0));
    }

    /** Ends a UDP listener's open sessions (its address was released); 0 for TCP. */
    CompletableFuture<Integer> endSessions() {
        return sessionsEnder.get();
    }

    CompletableFuture<Void> close() {
        return closer.get();
    }
}
