package io.tandem.core.vip;

import static java.util.Objects.requireNonNull;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * Connections a VIP's {@code sni} routing sent to each route ({@code default}: the VIP's own
 * backends), by route name. Routes come and go with reloads, so a route's series is registered
 * the first time a connection takes it (the way {@link LocalErrors} registers its kinds), and
 * a renamed route starts a new series.
 */
public final class SniRouteCounts {
    private final ConcurrentHashMap<String, LongAdder> counts = new ConcurrentHashMap<>();
    private volatile Consumer<String> onNewRoute = r -> { };

    /** One connection routed to {@code route}. */
    public void routed(String route) {
        LongAdder a = counts.get(route);
        if (a == null) {
            LongAdder fresh = new LongAdder();
            a = counts.putIfAbsent(route, fresh);
            if (a == null) {
                a = fresh;
                try {
                    onNewRoute.accept(route);
                } catch (RuntimeException e) {
                    // a metrics registry failure must not fail the connection
                }
            }
        }
        a.increment();
    }

    public long count(String route) {
        LongAdder a = counts.get(route);
        return a == null ? 0 : a.sum();
    }

    /** The routes taken so far. */
    public Set<String> routes() {
        return Set.copyOf(counts.keySet());
    }

    /** Called with each route the first time a connection takes it; routes seen before: {@link #routes}. */
    public void onNewRoute(Consumer<String> listener) {
        this.onNewRoute = requireNonNull(listener, "listener");
    }
}
