package io.tandem.core.tcp;

import java.util.Locale;

/**
 * How the raw engine's event loops share a TCP VIP's incoming connections.
 *
 * <p>{@link #SHARED} (the default): one listening socket, one accept queue, added to every loop's
 * epoll with {@code EPOLLEXCLUSIVE}, so a new connection wakes one loop that is waiting, and a
 * connection lands on whichever loop is free. With one {@code SO_REUSEPORT} socket per loop
 * ({@link #PER_LOOP}) the kernel hashes each connection to a loop whatever that loop is doing, so
 * a connection can wait behind a busy loop while another idles: with a new connection per
 * request that was a p99 ~25 % above the other proxies' at a lower median (perf/PROFILE.md).
 * Because the kernel wakes the first waiting loop every time, a shared queue alone would pile
 * long-lived connections onto one loop when traffic is light; {@link AcceptGroup} hands an
 * accepted connection to the least loaded loop when the accepting one holds clearly more.
 *
 * <p>Set with {@code -Dtandem.tcp.acceptQueue=shared|per-loop}; per-loop is what DESIGN §4
 * first described and stays as an escape hatch.
 */
public enum AcceptQueue {
    SHARED, PER_LOOP;

    public static final String PROPERTY = "tandem.tcp.acceptQueue";

    /** The mode the system property asks for (default {@link #SHARED}). */
    public static AcceptQueue configured() {
        return parse(System.getProperty(PROPERTY, "shared"));
    }

    static AcceptQueue parse(String value) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "shared" -> SHARED;
            case "per-loop", "per_loop", "reuseport" -> PER_LOOP;
            default -> throw new IllegalArgumentException(
                    "-D" + PROPERTY + "=" + value + ": expected shared or per-loop");
        };
    }
}
