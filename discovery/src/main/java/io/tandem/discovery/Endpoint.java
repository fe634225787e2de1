package io.tandem.discovery;

import static java.util.Objects.requireNonNull;

import io.tandem.config.HostPort;

/**
 * One backend as a discovery source reports it. {@code origin} names the source
 * ({@code static}, {@code zookeeper:/services/orders/id}, {@code marathon:/app/task}) so the
 * admin API can say where a backend came from.
 */
public record Endpoint(HostPort address, int weight, String origin) {
    public Endpoint {
        requireNonNull(address, "address");
        requireNonNull(origin, "origin");
        if (weight < 0) {
            throw new IllegalArgumentException("weight: " + weight + " (expected >= 0)");
        }
    }
}
